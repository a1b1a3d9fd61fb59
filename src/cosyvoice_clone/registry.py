"""The local voice registry: every voice we created or saw, in SQLite under the home dir.

``registry.sqlite3`` (WAL, file mode 0600) keeps, per voice: region, endpoint, target model,
prefix, sample URL and the sha256 of the sample bytes when known, the clone options, request id,
status and timestamps. It answers three questions:

- *dedupe*: did we already clone this exact sample with these options here? (:meth:`find_reusable`)
- *binding*: which target model does a voice (or a prefix) speak with? (read by
  :func:`cosyvoice_clone.voices.resolve`, the one resolver)
- *sync*: what changed on the service? (:meth:`sync`)

The file is opened by :mod:`cosyvoice_clone._sqlite`: refused with one error (and left
untouched) when it is a folder, not a database, damaged or from a newer version; its schema
evolves through named, ordered, append-only migrations (:data:`MIGRATIONS`) that run whenever
the file opens; ``schema_migrations`` records each one's number and name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import catalog
from ._sqlite import DatabaseFileError, Migrations, classify, open_database
from .catalog import VoiceStatus
from .claims import ClaimBoard, Database, create_claims_table
from .errors import ConfigError, RegistryError
from .extras import upgrade_hint
from .models import SyncReport, VoiceRecord
from .state.cache import SharedCache

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from .state import StateBackend


REGISTRY_FILE = "registry.sqlite3"
EMULATOR_ENDPOINT = "emulator"
"""The endpoint recorded for voices of the embedded emulator (its port changes every run)."""

DELETED_MARK = "DELETED"
"""What the ``status`` column holds for a voice known to be deleted (``deleted_at`` is set too);
not a service status."""


MIGRATIONS = Migrations("schema_migrations")
"""The schema's history, oldest first (named, append only; see :mod:`cosyvoice_clone._sqlite`)."""


@MIGRATIONS.register
def m001_create_voices(db: Database) -> None:
    """1: the voices table and its lookup indexes."""
    db.execute(
        """
        CREATE TABLE voices (
            voice_id TEXT PRIMARY KEY,
            region TEXT,
            endpoint TEXT,
            target_model TEXT,
            prefix TEXT,
            sample_url TEXT,
            sample_sha256 TEXT,
            sample_source TEXT,
            options TEXT,
            dedupe_key TEXT,
            request_id TEXT,
            usage_count INTEGER,
            status TEXT,
            origin TEXT NOT NULL,
            gmt_create TEXT,
            gmt_modified TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            seen_at TEXT,
            deleted_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX voices_dedupe ON voices (dedupe_key)")
    db.execute("CREATE INDEX voices_prefix ON voices (prefix)")


@MIGRATIONS.register
def m002_create_clone_claims(db: Database) -> None:
    """2: clones in progress, one row per dedupe key (see :mod:`cosyvoice_clone.claims`)."""
    create_claims_table(db)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def endpoint_id(http_base: str, source: str | None = None) -> str:
    """The endpoint identity stored with a voice (``emulator`` for the embedded emulator)."""
    if source == "emulator":
        return EMULATOR_ENDPOINT
    return http_base.rstrip("/")


def dedupe_key(
    fingerprint: dict[str, Any],
    *,
    endpoint: str,
    sample_sha256: str | None = None,
    sample_url: str | None = None,
) -> str:
    """The identity of a clone request: region, endpoint, options, sample (content or URL)."""
    sample = f"sha256:{sample_sha256}" if sample_sha256 else f"url:{sample_url}"
    document = json.dumps(
        {**fingerprint, "endpoint": endpoint, "sample": sample}, sort_keys=True, default=str
    )
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


_HEX_TAIL = re.compile(r"-([0-9a-f]{32})$")


def split_voice_id(voice_id: str) -> tuple[str | None, str | None]:
    """``(target_model, prefix)`` read from ``{model}-{prefix}-{32 hex}`` (or a designed voice's
    ``{model}-vd-{prefix}-{32 hex}``), as far as known."""
    model = catalog.model_from_voice_id(voice_id)
    if model is None:
        return None, None
    rest = voice_id[len(model) + 1 :]
    match = _HEX_TAIL.search(rest)
    prefix = rest[: match.start()] if match else None
    mark = f"{catalog.DESIGNED_VOICE_MARK}-"
    if prefix and prefix.startswith(mark) and len(prefix) > len(mark):  # {model}-vd-{prefix}-hex
        prefix = prefix[len(mark) :]
    return model, prefix or None


_COLUMNS = tuple(f.name for f in fields(VoiceRecord))


def _row(row: sqlite3.Row) -> VoiceRecord:
    data = dict(row)
    options = data.get("options")
    data["options"] = json.loads(options) if options else None
    values: dict[str, Any] = {k: data.get(k) for k in _COLUMNS}
    return VoiceRecord(**values)


BUSY_TIMEOUT = 10.0
"""Seconds SQLite waits for another process's write lock, per attempt."""
BUSY_ATTEMPTS = 3


class _Db:
    """The registry's connection: waits out other writers (a busy timeout, then retries) and
    turns a damaged (or unwritable) file into one :class:`RegistryError`; nothing is ever
    rewritten."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def execute(self, sql: str, params: Iterable[Any] = (), /) -> sqlite3.Cursor:
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            try:
                return self.conn.execute(sql, tuple(params))
            except sqlite3.OperationalError as exc:
                problem = classify(exc)
                if problem != "cannot_open":  # cannot_open: locked by another process
                    raise self._failed(exc) from None
                if attempt == BUSY_ATTEMPTS:
                    raise RegistryError(
                        f"the voice registry {self.path} stayed locked by another process for "
                        f"{BUSY_TIMEOUT * BUSY_ATTEMPTS:g} s",
                        hint="another cosyvoice-clone is writing to it; try again when it is done",
                    ) from None
                time.sleep(0.05 * attempt)
            except sqlite3.DatabaseError as exc:
                raise self._failed(exc) from None
        raise AssertionError("unreachable")

    def _failed(self, exc: sqlite3.Error) -> RegistryError:
        if classify(exc) == "unwritable":  # a full disk is not a damaged file
            return RegistryError(
                f"cannot write to the voice registry {self.path}: {exc}",
                hint="free some disk space (or make the file writable) and try again",
            )
        return damaged(self.path, exc)

    def close(self) -> None:
        self.conn.close()


def _unopenable(path: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"cannot open the voice registry {path}: {exc}",
        hint="check --home / COSYVOICE_CLONE_HOME points at a writable directory",
    )


def _refused(exc: DatabaseFileError) -> ConfigError:
    """The registry's words for a file :func:`~cosyvoice_clone._sqlite.open_database` refused."""
    if exc.kind in ("not_database", "foreign", "damaged"):
        return damaged(exc.path, exc.detail)
    if exc.kind == "newer":
        return RegistryError(
            f"the voice registry {exc.path} was written by a newer cosyvoice-clone "
            f"({exc.detail}); it was left untouched",
            hint=f"upgrade cosyvoice-clone ({upgrade_hint()}), or use another --home",
        )
    return _unopenable(exc.path, exc)


def damaged(path: Path, exc: Exception | str) -> RegistryError:
    """The one error for a registry file SQLite can't read."""
    return RegistryError(
        f"the voice registry {path} is unreadable ({exc}); it was left untouched",
        hint=f"move it away (`mv {path} {path}.bad`); `cosyvoice-clone voices sync` "
        "rebuilds what the service knows",
    )


@contextmanager
def _opening(home: Path) -> Iterator[None]:
    """One process at a time creates, inspects and migrates the registry file.

    The opening checks are several reads, each its own transaction: without this lock a process
    could read "no migration history" just before another committed the first migrations, then
    see their tables and refuse a brand-new file as foreign (seen with 8 processes at once).
    The lock is an ``flock`` on the home folder itself, so nothing is written for it.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(home, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # the opening itself reports an unusable home
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class Registry(SharedCache):
    """The SQLite voice registry in ``home`` (created on first use, mode 0600).

    With a shared ``state`` (:mod:`cosyvoice_clone.state`), claims live there, what this home
    creates is published to its voice index, and a lookup that misses here pulls the shared
    record into this file (the registry is then a cache of what all replicas know).
    """

    def __init__(self, home: Path | str, *, state: StateBackend | None = None) -> None:
        home_path = Path(home).expanduser()
        self.path = home_path / REGISTRY_FILE
        try:
            home_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise _unopenable(self.path, exc) from None
        try:
            with _opening(home_path):
                conn = open_database(self.path, MIGRATIONS, busy_timeout=BUSY_TIMEOUT)
        except DatabaseFileError as exc:
            raise _refused(exc) from None
        conn.row_factory = sqlite3.Row
        self._db: _Db = _Db(conn, self.path)
        self._lock = threading.RLock()
        self.claims = (
            state.claims(self._db, self._lock) if state else ClaimBoard(self._db, self._lock)
        )
        """Clones in progress, shared by every process using this home (or the state)."""
        self.shared = state.voices if state else None

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        """The number of migrations applied."""
        with self._lock:
            row = self._db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group many writes in one transaction (one commit instead of one per voice)."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _select(self, where: str = "", params: Iterable[Any] = ()) -> list[VoiceRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM voices {where}", tuple(params)).fetchall()
        return [_row(r) for r in rows]

    # -- reading --------------------------------------------------------------------------------

    def _local(self, voice_id: str) -> VoiceRecord | None:
        found = self._select("WHERE voice_id = ?", (voice_id,))
        return found[0] if found else None

    def get(self, voice_id: str) -> VoiceRecord | None:
        """The record of ``voice_id``, if registered (here, or by another replica)."""
        found = self._local(voice_id)
        if found is None and self.shared is not None:
            self._soft_pull(lambda: self._pull(voice_id))  # an outage: what this home knows
            found = self._local(voice_id)
        return found

    def list(
        self,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        prefix: str | None = None,
        include_deleted: bool = False,
    ) -> list[VoiceRecord]:
        """Registered voices, newest first (with a prefix and an endpoint: also those another
        replica registered)."""
        self._pull_prefix(prefix, endpoint, strict=False)
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("region", region), ("endpoint", endpoint), ("prefix", prefix)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if not include_deleted:
            clauses.append("deleted_at IS NULL")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select(where + " ORDER BY created_at DESC, voice_id", params)

    def find_reusable(self, key: str) -> VoiceRecord | None:
        """A live voice made from the same request (same dedupe key), newest first.

        With a shared state this asks it on a miss, and an outage raises
        ``StateUnavailableError``: a clone must not create what another replica may have made.
        """
        if self.shared is not None:
            voice_id = self.shared.for_key(key)
            if voice_id is not None and self._local(voice_id) is None:
                self._pull(voice_id)
        found = self._select(
            "WHERE dedupe_key = ? AND deleted_at IS NULL AND "
            "COALESCE(status, '') != ? ORDER BY created_at DESC",
            (key, VoiceStatus.UNDEPLOYED.value),
        )
        return found[0] if found else None

    def sample_owner(self, path: Path) -> VoiceRecord | None:
        """The voice whose reference sample is the file ``path`` (by path or content hash).

        Files larger than the service's sample limit cannot be a registered upload and are
        not hashed.
        """
        real = str(Path(path).resolve())
        found = self._select("WHERE sample_source = ? ORDER BY created_at DESC", (real,))
        if not found:
            try:
                small = path.stat().st_size <= catalog.SAMPLE_MAX_BYTES
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if small else None
            except OSError:
                digest = None
            if digest is not None:
                found = self._select("WHERE sample_sha256 = ? ORDER BY created_at DESC", (digest,))
        return found[0] if found else None

    def known_ids(self, *, prefix: str | None = None, endpoint: str | None = None) -> set[str]:
        """Voice ids registered (deleted ones included) for a prefix and endpoint, by any
        replica (strict: asked right before a create)."""
        self._pull_prefix(prefix, endpoint, strict=True)
        records = self.list(prefix=prefix, endpoint=endpoint, include_deleted=True)
        return {r.voice_id for r in records}

    # -- writing --------------------------------------------------------------------------------

    def record_clone(
        self,
        voice_id: str,
        *,
        region: str,
        endpoint: str,
        target_model: str,
        prefix: str,
        options: dict[str, Any],
        key: str,
        sample_url: str | None,
        sample_sha256: str | None,
        sample_source: str | None,
        request_id: str | None,
        usage_count: int | None,
        status: str | None,
        origin: str = "created",
    ) -> VoiceRecord:
        """Register a voice that a clone just made (or adopted)."""
        now = _now()
        values = {
            "voice_id": voice_id,
            "region": region,
            "endpoint": endpoint,
            "target_model": target_model,
            "prefix": prefix,
            "sample_url": sample_url,
            "sample_sha256": sample_sha256,
            "sample_source": sample_source,
            "options": json.dumps(options, sort_keys=True),
            "dedupe_key": key,
            "request_id": request_id,
            "usage_count": usage_count,
            "status": status,
            "origin": origin,
            "created_at": now,
            "updated_at": now,
            "seen_at": now,
            "deleted_at": None,
        }
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "created_at")
        with self._lock:
            self._db.execute(
                f"INSERT INTO voices ({columns}) VALUES ({marks}) "
                f"ON CONFLICT (voice_id) DO UPDATE SET {updates}",
                tuple(values.values()),
            )
        self._share(voice_id)
        record = self._local(voice_id)
        assert record is not None
        return record

    def observe(
        self,
        voice_id: str,
        *,
        region: str,
        endpoint: str,
        status: str | None = None,
        gmt_create: str | None = None,
        gmt_modified: str | None = None,
        target_model: str | None = None,
        resource_link: str | None = None,
    ) -> bool:
        """Record what the service says about a voice; True if it was not registered before."""
        now = _now()
        model, prefix = split_voice_id(voice_id)
        with self._lock:
            existing = self._local(voice_id)
            if existing is None:
                self._db.execute(
                    "INSERT INTO voices (voice_id, region, endpoint, target_model, prefix, "
                    "sample_url, status, origin, gmt_create, gmt_modified, created_at, "
                    "updated_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'seen', ?, ?, ?, ?, ?)",
                    (
                        voice_id,
                        region,
                        endpoint,
                        target_model or model,
                        prefix,
                        resource_link,
                        status,
                        gmt_create,
                        gmt_modified,
                        now,
                        now,
                        now,
                    ),
                )
                return True
            self._db.execute(
                "UPDATE voices SET status = COALESCE(?, status), "
                "gmt_create = COALESCE(?, gmt_create), gmt_modified = COALESCE(?, gmt_modified), "
                "target_model = COALESCE(target_model, ?), "
                "sample_url = COALESCE(sample_url, ?), "
                "updated_at = ?, seen_at = ?, deleted_at = NULL WHERE voice_id = ?",
                (
                    status,
                    gmt_create,
                    gmt_modified,
                    target_model or model,
                    resource_link,
                    now,
                    now,
                    voice_id,
                ),
            )
            return False

    def set_status(self, voice_id: str, status: str) -> None:
        """Update a voice's status."""
        with self._lock:
            self._db.execute(
                "UPDATE voices SET status = ?, updated_at = ? WHERE voice_id = ?",
                (status, _now(), voice_id),
            )
        self._share(voice_id, {"status": status})

    def update_sample(
        self,
        voice_id: str,
        *,
        sample_url: str,
        sample_sha256: str | None,
        sample_source: str | None,
        key: str | None,
        status: str | None,
    ) -> None:
        """A voice got a new sample (``voices update``)."""
        with self._lock:
            self._db.execute(
                "UPDATE voices SET sample_url = ?, sample_sha256 = ?, sample_source = ?, "
                "dedupe_key = ?, status = COALESCE(?, status), updated_at = ? WHERE voice_id = ?",
                (sample_url, sample_sha256, sample_source, key, status, _now(), voice_id),
            )
        changed = {"sample_url": sample_url, "sample_sha256": sample_sha256, "dedupe_key": key}
        # sample_source is a path on this host: never shared
        self._share(voice_id, {**changed, **({"status": status} if status else {})})

    def mark_deleted(self, voice_id: str) -> None:
        """The voice is gone from the service (kept in the registry as history)."""
        now = _now()
        with self._lock:
            self._db.execute(
                "UPDATE voices SET deleted_at = COALESCE(deleted_at, ?), status = ?, "
                "updated_at = ? WHERE voice_id = ?",
                (now, DELETED_MARK, now, voice_id),
            )
        self._share(voice_id, {"deleted_at": now, "status": DELETED_MARK})

    def sync(
        self,
        service_voices: Iterable[tuple[str, dict[str, Any]]],
        *,
        region: str,
        endpoint: str,
    ) -> SyncReport:
        """Reconcile with the complete list from the service: add, update, mark deleted.

        ``service_voices`` yields ``(voice_id, fields)`` with ``status``, ``gmt_create``,
        ``gmt_modified`` and optionally ``target_model``.
        """
        with self.batch():
            return self._sync(service_voices, region=region, endpoint=endpoint)

    def _sync(
        self,
        service_voices: Iterable[tuple[str, dict[str, Any]]],
        *,
        region: str,
        endpoint: str,
    ) -> SyncReport:
        added: list[str] = []
        updated: list[str] = []
        present: set[str] = set()
        for voice_id, info in service_voices:
            present.add(voice_id)
            before = self._local(voice_id)
            is_new = self.observe(
                voice_id,
                region=region,
                endpoint=endpoint,
                status=info.get("status"),
                gmt_create=info.get("gmt_create"),
                gmt_modified=info.get("gmt_modified"),
                target_model=info.get("target_model"),
            )
            if is_new:
                added.append(voice_id)
            elif before is not None and (before.status != info.get("status") or before.deleted):
                updated.append(voice_id)
        gone = [
            r.voice_id
            for r in self.list(region=region, endpoint=endpoint)
            if r.voice_id not in present
        ]
        for voice_id in gone:
            self.mark_deleted(voice_id)
        return SyncReport(tuple(added), tuple(updated), tuple(gone), len(present))


__all__ = [
    "DELETED_MARK",
    "EMULATOR_ENDPOINT",
    "MIGRATIONS",
    "REGISTRY_FILE",
    "Registry",
    "SyncReport",
    "VoiceRecord",
    "dedupe_key",
    "endpoint_id",
    "split_voice_id",
]
