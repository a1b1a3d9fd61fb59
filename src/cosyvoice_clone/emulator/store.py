"""The emulator's state in SQLite: voices, uploads and a key/value ``meta`` table.

In memory by default, or in a file (``--state``, the embedded emulator's ``emulator.sqlite3``)
opened by :mod:`cosyvoice_clone._sqlite`: mode 0600, WAL, the named migrations below; a folder,
a file that is not a database, a damaged one or one from a newer version is refused with
:class:`~cosyvoice_clone._sqlite.DatabaseFileError` before anything changes it.

Storage only: the rules (quota refusals, validation, faults) are the backend's. A voice's status
is computed from stored timestamps (``ready_at``), so it advances with time in every process that
opens the file.
"""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .. import catalog
from .._sqlite import DatabaseFileError, Executor, Migrations, classify, open_database

DEPLOYING = catalog.VoiceStatus.DEPLOYING
OK = catalog.VoiceStatus.OK
UNDEPLOYED = catalog.VoiceStatus.UNDEPLOYED

SERVICE_TIMEZONE = timezone(timedelta(hours=8))
"""The service stamps times in Beijing time (UTC+8), without a zone in the text."""
BUSY_TIMEOUT = 30.0
"""Seconds to wait for another process's write lock (emulators may share one state file)."""


def beijing_time(epoch: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the service's time zone (Beijing), its timestamp format."""
    return datetime.fromtimestamp(epoch, SERVICE_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Voice:
    """A cloned voice as stored; ``status`` is computed from the clock on every access."""

    voice_id: str
    target_model: str
    prefix: str
    resource_link: str
    language_hint: str | None
    pitch_hz: float | None
    """Fundamental frequency measured from the enrollment sample (Hz), if measurable."""
    created_at: float
    modified_at: float
    ready_at: float
    final_status: catalog.VoiceStatus
    sample_sha256: str
    voice_prompt: str | None = None
    """The description a designed voice was made from (``None`` for a cloned voice)."""
    rate: float = 1.0
    """Speaking-rate factor of the voice (a designed voice's follows its description)."""

    @property
    def designed(self) -> bool:
        """Whether the voice was designed from a description rather than cloned."""
        return self.voice_prompt is not None

    @property
    def status(self) -> catalog.VoiceStatus:
        """DEPLOYING until ``ready_at``, then OK (or UNDEPLOYED if review rejected it)."""
        if time.time() < self.ready_at:
            return DEPLOYING
        return self.final_status

    @property
    def gmt_create(self) -> str:
        return beijing_time(self.created_at)

    @property
    def gmt_modified(self) -> str:
        return beijing_time(self.modified_at)

    def list_item(self) -> dict[str, str]:
        """The ``list_voice`` item shape."""
        return {
            "voice_id": self.voice_id,
            "gmt_create": self.gmt_create,
            "gmt_modified": self.gmt_modified,
            "status": self.status.value,
        }

    def query_output(self) -> dict[str, str]:
        """The ``query_voice`` output shape (the voice id is not echoed)."""
        return {
            "gmt_create": self.gmt_create,
            "gmt_modified": self.gmt_modified,
            "status": self.status.value,
            "target_model": self.target_model,
            "resource_link": self.resource_link,
        }


@dataclass(frozen=True)
class Upload:
    """A file stored by the stand-in OSS host."""

    key: str
    content_type: str
    data: bytes
    created_at: float

    @property
    def url(self) -> str:
        return f"oss://{self.key}"


MIGRATIONS = Migrations("schema_migrations")
"""The state file's schema history (named, append only)."""


@MIGRATIONS.register
def m001_voices_uploads_meta(db: Executor) -> None:
    """1: voices, uploads and a key/value ``meta`` table."""
    db.execute(
        """CREATE TABLE voices (
            voice_id TEXT PRIMARY KEY,
            target_model TEXT NOT NULL,
            prefix TEXT NOT NULL,
            resource_link TEXT NOT NULL,
            language_hint TEXT,
            pitch_hz REAL,
            created_at REAL NOT NULL,
            modified_at REAL NOT NULL,
            ready_at REAL NOT NULL,
            final_status TEXT NOT NULL,
            sample_sha256 TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX voices_prefix ON voices (prefix)")
    db.execute(
        """CREATE TABLE uploads (
            key TEXT PRIMARY KEY,
            content_type TEXT NOT NULL,
            data BLOB NOT NULL,
            created_at REAL NOT NULL
        )"""
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


@MIGRATIONS.register
def m002_designed_voices(db: Executor) -> None:
    """2: designed voices keep their description and speaking-rate factor."""
    db.execute("ALTER TABLE voices ADD COLUMN voice_prompt TEXT")
    db.execute("ALTER TABLE voices ADD COLUMN rate REAL NOT NULL DEFAULT 1.0")


_VOICE_COLUMNS = ", ".join(f.name for f in dataclasses.fields(Voice))


def _voice(row: Iterable[Any]) -> Voice:
    voice = Voice(*row)
    return dataclasses.replace(voice, final_status=catalog.VoiceStatus(voice.final_status))


class Store:
    """Voices, uploads and the signing secret of one emulated account. Thread-safe."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        self._lock = threading.RLock()
        self._db = open_database(self.path, MIGRATIONS, busy_timeout=BUSY_TIMEOUT)
        try:
            self.secret = self._secret()
            """The account's signing secret (made once, kept in the file)."""
        except sqlite3.DatabaseError as exc:  # damaged pages the opening checks did not read
            self._db.close()
            raise DatabaseFileError(
                self.path or Path(":memory:"), classify(exc), str(exc)
            ) from None

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        with self._lock:
            return int(self._db.execute(sql, tuple(params)).rowcount)

    # -- meta ---------------------------------------------------------------------------------

    def _secret(self) -> bytes:
        query = "SELECT value FROM meta WHERE key = 'secret'"
        with self._lock:
            row = self._db.execute(query).fetchone()
            if row is None:  # another process may make it at the same moment: theirs wins
                self._db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)",
                    (secrets.token_bytes(32).hex(),),
                )
                row = self._db.execute(query).fetchone()
        return bytes.fromhex(row[0])

    # -- voices -------------------------------------------------------------------------------

    def add_voice(self, voice: Voice, *, quota: int) -> bool:
        """Store ``voice`` unless ``quota`` voices exist already (then False), atomically."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                used = int(self._db.execute("SELECT COUNT(*) FROM voices").fetchone()[0])
                if used >= quota:
                    self._db.execute("ROLLBACK")
                    return False
                marks = ",".join("?" * len(dataclasses.fields(Voice)))
                self._db.execute(
                    f"INSERT INTO voices ({_VOICE_COLUMNS}) VALUES ({marks})",
                    dataclasses.astuple(voice),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return True

    def voice(self, voice_id: str) -> Voice | None:
        """The voice with this id, or ``None``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_VOICE_COLUMNS} FROM voices WHERE voice_id = ?", (voice_id,)
            ).fetchone()
        return _voice(row) if row is not None else None

    def voices(self, prefix: str | None = None, *, limit: int = -1, offset: int = 0) -> list[Voice]:
        """Voices newest first, optionally only those with ``prefix`` (``limit`` -1: all)."""
        query = f"SELECT {_VOICE_COLUMNS} FROM voices"
        params: list[Any] = []
        if prefix:
            query += " WHERE prefix = ?"
            params.append(prefix)
        query += " ORDER BY created_at DESC, voice_id LIMIT ? OFFSET ?"
        params += [limit, offset]
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [_voice(r) for r in rows]

    def voice_count(self) -> int:
        """How many voices exist."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM voices").fetchone()[0])

    def replace_sample(
        self,
        voice_id: str,
        *,
        url: str,
        pitch_hz: float | None,
        sample_sha256: str,
        now: float,
        ready_at: float,
        final_status: catalog.VoiceStatus,
    ) -> bool:
        """A voice's new sample (it deploys again); False if there is no such voice."""
        changed = self._write(
            "UPDATE voices SET resource_link = ?, pitch_hz = ?, modified_at = ?, "
            "ready_at = ?, final_status = ?, sample_sha256 = ? WHERE voice_id = ?",
            (url, pitch_hz, now, ready_at, final_status.value, sample_sha256, voice_id),
        )
        return changed > 0

    def delete_voice(self, voice_id: str) -> bool:
        """Delete a voice; False if there is no such voice."""
        return self._write("DELETE FROM voices WHERE voice_id = ?", (voice_id,)) > 0

    def settle(self, voice_id: str | None, final_status: catalog.VoiceStatus, now: float) -> int:
        """End deployment at ``now`` for one voice (or every deploying one); return the count."""
        if voice_id is None:
            return self._write(
                "UPDATE voices SET ready_at = ?, final_status = ? WHERE ready_at > ?",
                (now, final_status.value, now),
            )
        return self._write(
            "UPDATE voices SET ready_at = MIN(ready_at, ?), final_status = ? WHERE voice_id = ?",
            (now, final_status.value, voice_id),
        )

    # -- uploads ------------------------------------------------------------------------------

    def add_upload(self, upload: Upload, *, replace: bool, expired_before: float) -> bool:
        """Keep ``upload`` (forgetting uploads older than ``expired_before``); False when the key
        exists and ``replace`` is off."""
        with self._lock:
            self._db.execute("DELETE FROM uploads WHERE created_at < ?", (expired_before,))
            try:
                self._db.execute(
                    f"INSERT {'OR REPLACE' if replace else ''} INTO uploads "
                    "(key, content_type, data, created_at) VALUES (?, ?, ?, ?)",
                    (upload.key, upload.content_type, upload.data, upload.created_at),
                )
            except sqlite3.IntegrityError:
                return False
        return True

    def upload(self, key: str) -> Upload | None:
        """The stored object ``key`` (expired or not), or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT key, content_type, data, created_at FROM uploads WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return Upload(key=row[0], content_type=row[1], data=bytes(row[2]), created_at=row[3])

    def upload_count(self) -> int:
        """How many objects are stored."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0])

    def clear(self) -> None:
        """Forget every voice and upload (the signing secret stays)."""
        with self._lock:
            self._db.execute("DELETE FROM voices")
            self._db.execute("DELETE FROM uploads")
