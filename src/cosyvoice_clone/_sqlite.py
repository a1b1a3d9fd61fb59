"""The package's SQLite files (the voice registry, the emulator's state), opened one way.

:func:`open_database` looks at the file before anything changes it. A folder, something that is
not a regular file, a file that is not an SQLite database, a database SQLite cannot read, and one
whose schema a newer version wrote are refused with one :class:`DatabaseFileError`: the file keeps
every byte and its mode. Only then is it opened for writing: WAL journal, a busy timeout, and the
migrations it has not seen yet.

A new file is created with mode 0600 (exclusively: an existing file is never re-created, and its
mode is never changed); SQLite gives its ``-wal`` and ``-shm`` files the same mode.

Migrations are named, ordered and append-only, in the style of llm's ``migrations.py``::

    MIGRATIONS = Migrations()

    @MIGRATIONS.register
    def m001_voices(db: Executor) -> None:
        db.execute("CREATE TABLE voices (...)")

Each applied one is a row ``(version, name, applied_at)`` of the tracking table
(``schema_migrations``), and ``PRAGMA user_version`` mirrors the count. A database made before the
table existed, which kept its count only in ``user_version``, has its first ``user_version``
migrations counted as applied. Never rename, reorder or remove a registered migration: a recorded
name that differs from this code's, or a version this code does not know, means another version
wrote the file, which is then refused.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""
BUSY_ATTEMPTS = 3
"""Attempts of each opening step while another process holds the write lock."""

FileProblem = Literal[
    "folder",
    "not_regular",
    "not_database",
    "foreign",
    "damaged",
    "newer",
    "cannot_open",
    "unwritable",
]


class Executor(Protocol):
    """What a migration needs of a connection (``sqlite3.Connection`` or a wrapper of one)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> sqlite3.Cursor: ...


Migration = Callable[[Executor], None]
_F = TypeVar("_F", bound=Migration)


class DatabaseFileError(Exception):
    """A database file refused before anything changed it.

    ``kind`` says why (``folder``, ``not_regular``, ``not_database``, ``foreign``: another
    program's SQLite database, ``damaged``, ``newer``,
    ``cannot_open``, ``unwritable``: a read-only file or a full disk); ``detail`` is the short
    cause; ``str()`` is one sentence without the path, e.g. "it is a folder, not a database
    file; it was left untouched". For ``newer``, ``found`` is the schema version in the file and
    ``known`` the newest this code has.
    """

    def __init__(
        self, path: Path, kind: FileProblem, detail: str, *, found: int = 0, known: int = 0
    ) -> None:
        self.path = path
        self.kind = kind
        self.detail = detail
        self.found = found
        self.known = known
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """One sentence: what is wrong and that the file was not changed."""
        what = {
            "folder": "it is a folder, not a database file",
            "not_regular": "it is not a regular file",
            "not_database": "it is not an SQLite database",
            "foreign": "it is an SQLite database of something else",
            "damaged": f"SQLite cannot read it ({self.detail})",
            "newer": f"it was written by a newer version ({self.detail})",
            "cannot_open": f"it cannot be opened ({self.detail})",
            "unwritable": self._unwritable(),
        }[self.kind]
        return f"{what}; it was left untouched"

    def _unwritable(self) -> str:
        text = self.detail.lower()
        if "full" in text:
            return f"the disk is full ({self.detail}), the file itself is fine"
        if "readonly" in text or "read-only" in text:
            return f"it is read-only here ({self.detail}), the file itself is fine"
        return f"it cannot be written ({self.detail}: the disk may be full or failing)"

    @property
    def hint(self) -> str | None:
        """What to do, when it is not the caller's own advice for a bad file (``None``): a
        file that only cannot be written must not be moved away (its data is fine)."""
        if self.kind == "unwritable":
            return (
                f"free some disk space (or make {self.path.parent} writable) and run again; "
                "keep the file: nothing in it is lost"
            )
        return None


class Migrations:
    """The named, append-only schema history of one kind of database file."""

    def __init__(self, table: str = "schema_migrations") -> None:
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        self.table = table
        self._steps: list[tuple[str, Migration]] = []

    def register(self, migration: _F) -> _F:
        """Decorator: append ``migration`` under its function name (never rename it)."""
        name = migration.__name__
        if name in self.names:
            raise ValueError(f"migration {name!r} is registered twice")
        self._steps.append((name, migration))
        return migration

    @property
    def names(self) -> tuple[str, ...]:
        """Names in order; migration N (1-based) is ``names[N - 1]``."""
        return tuple(name for name, _ in self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    # -- state of a file ----------------------------------------------------------------------

    def _recorded(self, db: Executor) -> tuple[dict[int, str | None], bool, int]:
        """``({version: name}, has a name column, user_version)``, read without writing."""
        user_version = int(db.execute("PRAGMA user_version").fetchone()[0])
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
        ).fetchone()
        if not exists:
            return {}, True, user_version
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({self.table})")}
        named = "name" in columns
        query = f"SELECT version, {'name' if named else 'NULL'} FROM {self.table}"
        return {int(v): n for v, n in db.execute(query)}, named, user_version

    def _check(self, path: Path, recorded: dict[int, str | None], user_version: int) -> None:
        """Refuse a file whose history this code does not share."""
        known = len(self._steps)
        newest = max([*recorded, user_version if not recorded else 0], default=0)
        if newest > known:
            raise DatabaseFileError(
                path,
                "newer",
                f"schema {newest}; this version knows up to {known}",
                found=newest,
                known=known,
            )
        for version, name in recorded.items():
            if name is not None and 1 <= version <= known and name != self._steps[version - 1][0]:
                raise DatabaseFileError(
                    path,
                    "newer",
                    f"migration {version} is {name!r} there, {self._steps[version - 1][0]!r} here",
                    found=version,
                    known=known,
                )

    def pending(self, path: Path, db: Executor) -> bool:
        """Whether opening must write (migrations or bookkeeping); refuses a foreign history."""
        recorded, named, user_version = self._recorded(db)
        self._check(path, recorded, user_version)
        if not recorded and user_version:  # counted in user_version only: adopt it
            return True
        if not recorded:  # a new file: nothing but (perhaps) an empty history table
            others = "SELECT COUNT(*) FROM sqlite_master WHERE name != ?"
            if db.execute(others, (self.table,)).fetchone()[0]:
                raise DatabaseFileError(path, "foreign", "tables but no migration history")
        return (
            not named
            or len(recorded) < len(self._steps)
            or any(name is None for name in recorded.values())
            or user_version != len(recorded)
        )

    def apply(self, path: Path, db: Executor) -> list[str]:
        """Run the migrations ``db`` has not seen, in one transaction; return their names."""
        db.execute("BEGIN IMMEDIATE")  # waits for another writer (the busy timeout)
        try:
            recorded, named, user_version = self._recorded(db)
            self._check(path, recorded, user_version)
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL, name TEXT)"
            )
            if not named:
                db.execute(f"ALTER TABLE {self.table} ADD COLUMN name TEXT")
            if not recorded and user_version:
                recorded = dict.fromkeys(range(1, user_version + 1))
                for version in recorded:
                    db.execute(
                        f"INSERT INTO {self.table} (version, applied_at) VALUES (?, ?)",
                        (version, now),
                    )
            applied: list[str] = []
            for version, (name, migration) in enumerate(self._steps, start=1):
                if version not in recorded:
                    migration(db)
                    db.execute(
                        f"INSERT INTO {self.table} (version, applied_at, name) VALUES (?, ?, ?)",
                        (version, now, name),
                    )
                    applied.append(name)
                elif recorded[version] is None:
                    db.execute(
                        f"UPDATE {self.table} SET name = ? WHERE version = ?", (name, version)
                    )
            db.execute(f"PRAGMA user_version = {len(self._steps)}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return applied


# -- opening ----------------------------------------------------------------------------------


def inspect(path: Path) -> bool:
    """Refuse ``path`` unless it is absent, empty, or an SQLite file; True if it exists.

    Reads at most 16 bytes; changes nothing.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DatabaseFileError(path, "cannot_open", exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise DatabaseFileError(path, "folder", "a folder")
    if not stat.S_ISREG(info.st_mode):
        raise DatabaseFileError(path, "not_regular", "not a regular file")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(HEADER))
    except OSError as exc:
        raise DatabaseFileError(path, "cannot_open", exc.strerror or str(exc)) from None
    if header and header != HEADER:
        raise DatabaseFileError(path, "not_database", "not an SQLite database")
    return True


def _create(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (and its missing folders with 0700)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # another process made it first: it is inspected like any file
        inspect(path)
    except OSError as exc:
        raise DatabaseFileError(path, "cannot_open", exc.strerror or str(exc)) from None


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


_UNWRITABLE = ("readonly", "read-only", "disk is full", "disk i/o", "unable to open")
"""Words of SQLite's messages for a file it cannot write (not a damaged one)."""


def classify(exc: sqlite3.Error) -> FileProblem:
    """What an SQLite error says about the file: ``cannot_open`` (locked), ``unwritable``
    (read-only, full disk, I/O) or ``damaged``."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "cannot_open"
    if any(word in text for word in _UNWRITABLE):
        return "unwritable"
    return "damaged"


def _step(path: Path, run: Callable[[], Any]) -> Any:
    """Run one opening step; wait out another writer; a damaged file is a DatabaseFileError."""
    for attempt in range(1, BUSY_ATTEMPTS + 1):
        try:
            return run()
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or attempt == BUSY_ATTEMPTS:
                raise DatabaseFileError(path, classify(exc), str(exc)) from None
            time.sleep(0.05 * attempt)
        except sqlite3.DatabaseError as exc:
            raise DatabaseFileError(path, classify(exc), str(exc)) from None
    raise AssertionError("unreachable")  # pragma: no cover


def open_database(
    path: Path | None,
    migrations: Migrations,
    *,
    busy_timeout: float = 10.0,
    wal: bool = True,
) -> sqlite3.Connection:
    """An autocommit connection to ``path`` (``None``: in memory), checked and migrated.

    Raises :class:`DatabaseFileError` before anything is changed when the file is refused (see
    the module docstring). The connection may be used from several threads (guard it with a
    lock); SQLite waits ``busy_timeout`` seconds for another process's write lock.
    """
    if path is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        migrations.apply(Path(":memory:"), conn)
        return conn
    path = Path(path).expanduser()
    created = not inspect(path)
    if created:
        _create(path)
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        if created:
            _remove_new(path)
        raise DatabaseFileError(path, "cannot_open", str(exc)) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        _step(path, lambda: conn.execute("SELECT name, sql FROM sqlite_master").fetchall())
        pending = _step(path, lambda: migrations.pending(path, conn))
        if wal:
            _step(path, lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode
        if pending:
            _step(path, lambda: migrations.apply(path, conn))
    except BaseException:
        conn.close()
        if created:  # a full disk must not leave a 0-byte database (and its -wal/-shm) behind
            _remove_new(path)
        raise
    return conn


def _remove_new(path: Path) -> None:
    """Remove a database file this opening created (and SQLite's side files) after it failed;
    never one with data in it."""
    try:
        if path.stat().st_size > 0 and path.read_bytes()[: len(HEADER)] == HEADER:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                if db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                    return  # another process filled it meanwhile: theirs
    except (OSError, sqlite3.Error):
        pass
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


__all__ = [
    "HEADER",
    "DatabaseFileError",
    "Executor",
    "Migrations",
    "classify",
    "inspect",
    "open_database",
]
