"""Voice consents: a recording of the voice's owner agreeing to its cloning, kept under the home.

OpenAI's custom voices ask for a consent recording (``audio.voice_consents``) before a voice is
made from a sample. DashScope has no such concept: a consent is **never sent to the service**;
it is kept here, as evidence, next to the registry::

    <home>/consents/<id>.json    name, language, created_at, the recording's format and size,
                                 and the voices made with it
    <home>/consents/<id>.<ext>   the recording, as uploaded

A recording is checked as audio before it is kept: at most :data:`RECORDING_MAX_BYTES`
(OpenAI's 10 MiB per file), decodable by :mod:`.audio` (WAV, MP3, FLAC, OGG; M4A/AAC/WebM
with PyAV) and not empty. Ids look like OpenAI's (``cons_…``); lists are in creation order with
a cursor (``after``). Every write replaces its file atomically.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import catalog
from .errors import ConfigError, InvalidRequestError, NotFoundError, SampleUnreadableError

__all__ = [
    "LIST_LIMIT_RANGE",
    "RECORDING_MAX_BYTES",
    "Consent",
    "ConsentStore",
    "keep_upload",
]

RECORDING_MAX_BYTES = catalog.SAMPLE_MAX_BYTES
"""OpenAI's limit per uploaded file, and the service's for a sample: 10 MiB."""
LIST_LIMIT_RANGE = (1, 100)
NAME_MAX_LENGTH = 200
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_ID = re.compile(r"^cons_[0-9a-f]{24}$")
_EXTENSIONS = {"wav": "wav", "mp3": "mp3", "flac": "flac", "ogg": "ogg", "opus": "ogg",
               "m4a": "m4a", "aac": "aac", "webm": "webm", "aiff": "aiff"}  # fmt: skip


@dataclass(frozen=True)
class Consent:
    """One consent recording and what was made with it."""

    id: str
    name: str
    language: str
    created_at: int
    """Unix seconds."""
    recording: str
    """The recording's file name under ``<home>/consents``."""
    format: str
    size: int
    seconds: float
    created_ns: int = 0
    voices: tuple[str, ...] = field(default_factory=tuple)
    """Voice ids made with this consent (kept after the voice is deleted)."""

    def to_openai(self) -> dict[str, Any]:
        """OpenAI's ``audio.voice_consent`` object (plus ``voices``)."""
        return {
            "id": self.id,
            "object": "audio.voice_consent",
            "created_at": self.created_at,
            "name": self.name,
            "language": self.language,
            "voices": list(self.voices),
        }


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError("the consent needs a name", field="name", code="invalid_name")
    if len(name.strip()) > NAME_MAX_LENGTH:
        raise InvalidRequestError(
            f"the consent's name is longer than {NAME_MAX_LENGTH} characters",
            field="name",
            code="invalid_name",
        )
    return name.strip()


def _check_language(language: object) -> str:
    if not isinstance(language, str) or not _LANGUAGE.match(language.strip()):
        raise InvalidRequestError(
            f"language must be a BCP 47 tag such as en-US or zh, not {language!r}",
            field="language",
            code="invalid_language",
        )
    return language.strip()


def check_recording(data: bytes, filename: str | None = None) -> tuple[str, float]:
    """The recording's format and length; raises for one that is too large, empty or not
    decodable audio (:class:`~.errors.SampleUnreadableError`, ``field`` ``recording``)."""
    from .audio import decode

    if len(data) > RECORDING_MAX_BYTES:
        raise InvalidRequestError(
            f"the recording is {len(data) / 2**20:.1f} MiB; at most "
            f"{RECORDING_MAX_BYTES // 2**20} MiB",
            field="recording",
            code="file_too_large",
        )
    if not data:
        raise InvalidRequestError("the recording is empty", field="recording",
                                  code="empty_file")  # fmt: skip
    decoded = decode(data, filename)
    seconds = decoded.samples.shape[0] / decoded.sample_rate if decoded.sample_rate else 0.0
    if seconds <= 0:
        raise SampleUnreadableError(
            "the recording holds no audio", field="recording", code="sample_unreadable"
        )
    return decoded.format, round(decoded.total_seconds or seconds, 2)


class ConsentStore:
    """The consents under ``<home>/consents`` (thread-safe within one process)."""

    def __init__(self, home: Path | str) -> None:
        self.root = Path(home).expanduser() / "consents"
        self._lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------------

    def _path(self, consent_id: str) -> Path:
        return self.root / f"{consent_id}.json"

    def _read(self, path: Path) -> Consent:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["voices"] = tuple(data.get("voices", ()))
            return Consent(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"the consent file {path.name} is damaged: {exc}") from None

    def get(self, consent_id: str) -> Consent:
        """The consent ``consent_id`` (:class:`~.errors.NotFoundError`, code
        ``consent_not_found``, when there is none)."""
        path = self._path(consent_id) if _ID.match(str(consent_id)) else None
        if path is None or not path.is_file():
            raise NotFoundError(f"no consent {consent_id!r}", code="consent_not_found")
        return self._read(path)

    def all(self) -> list[Consent]:
        """Every consent, oldest first."""
        if not self.root.is_dir():
            return []
        found = [self._read(p) for p in self.root.glob("cons_*.json")]
        return sorted(found, key=lambda c: (c.created_ns, c.id))

    def page(self, *, after: str | None = None, limit: int = 20) -> tuple[list[Consent], bool]:
        """One cursor page: the consents after ``after`` (an id), at most ``limit``, and
        whether more follow."""
        low, high = LIST_LIMIT_RANGE
        if isinstance(limit, bool) or not isinstance(limit, int) or not low <= limit <= high:
            raise InvalidRequestError(f"limit must be an integer from {low} to {high}",
                                      field="limit", code="invalid_value")  # fmt: skip
        items = self.all()
        if after is not None:
            ids = [c.id for c in items]
            if after not in ids:
                raise InvalidRequestError(f"after: no consent {after!r}", field="after",
                                          code="invalid_value")  # fmt: skip
            items = items[ids.index(after) + 1 :]
        return items[:limit], len(items) > limit

    def consent_for(self, voice_id: str) -> Consent | None:
        """The consent ``voice_id`` was made with, if it was made here."""
        return next((c for c in self.all() if voice_id in c.voices), None)

    # -- writing ----------------------------------------------------------------------------

    def _write(self, consent: Consent) -> None:
        self._atomic(self._path(consent.id), json.dumps(asdict(consent), indent=2).encode())

    def _atomic(self, path: Path, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def create(
        self, *, name: str, language: str, recording: bytes, filename: str | None = None
    ) -> Consent:
        """Check and keep a consent recording (nothing is kept for a refused one)."""
        name, language = _check_name(name), _check_language(language)
        fmt, seconds = check_recording(recording, filename)
        now = time.time_ns()
        consent_id = f"cons_{secrets.token_hex(12)}"
        file = f"{consent_id}.{_EXTENSIONS.get(fmt, 'bin')}"
        consent = Consent(consent_id, name, language, now // 10**9, file, fmt, len(recording),
                          seconds, now)  # fmt: skip
        with self._lock:
            self._atomic(self.root / file, recording)
            self._write(consent)
        return consent

    def rename(self, consent_id: str, name: str) -> Consent:
        """Give the consent another name."""
        name = _check_name(name)
        with self._lock:
            consent = self.get(consent_id)
            updated = Consent(**{**asdict(consent), "name": name, "voices": consent.voices})
            self._write(updated)
        return updated

    def link(self, consent_id: str, voice_id: str) -> Consent:
        """Record that ``voice_id`` was made with this consent."""
        with self._lock:
            consent = self.get(consent_id)
            if voice_id in consent.voices:
                return consent
            voices = (*consent.voices, voice_id)
            updated = Consent(**{**asdict(consent), "voices": voices})
            self._write(updated)
        return updated

    def delete(self, consent_id: str) -> Consent:
        """Delete the consent and its recording (voices made with it stay)."""
        with self._lock:
            consent = self.get(consent_id)
            (self.root / consent.recording).unlink(missing_ok=True)
            self._path(consent_id).unlink(missing_ok=True)
        return consent


def keep_upload(directory: Path | str, data: bytes, filename: str | None = None) -> Path:
    """Keep an uploaded sample in ``directory``, named by its SHA-256 and its detected format
    (the same file is the same path, so the registry's dedupe finds an earlier clone of it;
    an unknown kind keeps ``.bin``: the sample check then names what is wrong)."""
    import hashlib

    from .audio.decode import sniff_format

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    fmt = sniff_format(data[:64], filename) or "bin"
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}.{_EXTENSIONS.get(fmt, fmt)}"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    return path
