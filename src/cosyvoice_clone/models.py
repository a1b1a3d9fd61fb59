"""The typed results of the library, each frozen and with a stable ``to_dict()``.

Every frontend (CLI ``--json``, MCP tools, the HTTP server) renders these dicts, so the shapes
cannot drift apart:

- :class:`Voice`: one voice, as the service and the registry know it;
- :class:`CloneResult`: what ``clone`` returns;
- :class:`DesignResult`: what ``design`` returns (the voice and its decoded preview);
- :class:`SpeechResult`: what ``speak`` returns;
- :class:`SyncReport`: what ``voices.sync`` changed;
- :class:`SynthesisOptions`: the synthesis parameters (re-exported from
  :mod:`cosyvoice_clone.synthesis.protocol`);
- ``CheckReport``, the sample check's report, lives in :mod:`cosyvoice_clone.audio` (it pulls in
  the audio stack) and is re-exported lazily by :mod:`cosyvoice_clone`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import catalog
from .catalog import VoiceStatus
from .errors import CosyVoiceCloneError

if TYPE_CHECKING:
    from .enrollment import VoiceInfo
    from .synthesis.protocol import SynthesisOptions, Word


def __getattr__(name: str) -> object:
    """``SynthesisOptions`` is defined with the synthesis protocol (imported on first use, so
    the synthesis package can import this module)."""
    if name == "SynthesisOptions":
        from .synthesis.protocol import SynthesisOptions

        return SynthesisOptions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_status(value: object) -> VoiceStatus | None:
    """A service or registry status string as a :class:`VoiceStatus` (``None`` if unknown)."""
    if isinstance(value, VoiceStatus):
        return value
    try:
        return VoiceStatus(str(value).strip().upper()) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Voice:
    """One voice: what the service reports, merged with what the local registry remembers."""

    voice_id: str
    status: VoiceStatus | None = None
    target_model: str | None = None
    prefix: str | None = None
    gmt_create: str | None = None
    """Creation time as the service reports it (Beijing time, ``YYYY-MM-DD HH:MM:SS``)."""
    gmt_modified: str | None = None
    resource_link: str | None = None
    region: str | None = None
    endpoint: str | None = None
    sample_url: str | None = None
    sample_sha256: str | None = None
    sample_source: str | None = None
    origin: str | None = None
    """``created`` or ``adopted`` (by a clone here), ``seen`` (listed or queried), ``system``
    (a preset voice of the catalog), ``None`` (not in the registry: a voice id read as is, or a
    name sent as a system voice with an explicit model)."""
    request_id: str | None = None
    """The ``create_voice`` request id, when it was created here."""
    created_at: str | None = None
    """When the registry first recorded the voice (ISO 8601, UTC)."""
    deleted_at: str | None = None
    """When the registry learnt the voice was deleted (``None``: not known to be deleted)."""
    warnings: tuple[str, ...] = ()
    """Notes from the operation that returned it (``voices.update``: the sample check's)."""
    models: tuple[str, ...] = ()
    """For a system voice of the catalog (``origin == "system"``): every model that speaks it
    (``target_model`` is the one used when none is asked for)."""
    voice_prompt: str | None = None
    """For a voice designed here: the description it was made from."""

    @property
    def system(self) -> bool:
        """Whether this is one of the service's preset voices (from the catalog)."""
        return self.origin == "system"

    @property
    def registered(self) -> bool:
        """Whether a clone or design here created (or adopted) the voice."""
        return self.origin in ("created", "adopted", "designed")

    @property
    def designed(self) -> bool:
        """Whether the voice was designed from a description (not cloned from a sample)."""
        return self.origin == "designed" or catalog.is_designed_voice_id(self.voice_id)

    @property
    def deleted(self) -> bool:
        """Whether the voice is known to be gone from the service."""
        return self.deleted_at is not None

    @classmethod
    def from_record(cls, record: VoiceRecord) -> Voice:
        """From a registry row."""

        return cls(
            voice_id=record.voice_id,
            status=parse_status(record.status),
            target_model=record.target_model or catalog.model_from_voice_id(record.voice_id),
            prefix=record.prefix or catalog.split_voice_id(record.voice_id)[1],
            gmt_create=record.gmt_create,
            gmt_modified=record.gmt_modified,
            region=record.region,
            endpoint=record.endpoint,
            sample_url=record.sample_url,
            sample_sha256=record.sample_sha256,
            sample_source=record.sample_source,
            origin=None if record.origin == "unregistered" else record.origin,
            request_id=record.request_id,
            created_at=record.created_at,
            deleted_at=record.deleted_at,
            voice_prompt=(record.options or {}).get("voice_prompt"),
        )

    @classmethod
    def from_service(cls, info: VoiceInfo, record: VoiceRecord | None = None) -> Voice:
        """From the service's description, with the registry's record of it if any."""

        base = cls.from_record(record) if record is not None else cls(voice_id=info.voice_id)
        return cls(
            **{
                **{f.name: getattr(base, f.name) for f in fields(base)},
                "status": parse_status(info.status),
                "target_model": info.model or base.target_model,
                "prefix": base.prefix or catalog.split_voice_id(info.voice_id)[1],
                "gmt_create": info.gmt_create or base.gmt_create,
                "gmt_modified": info.gmt_modified or base.gmt_modified,
                "resource_link": info.resource_link,
                "sample_url": base.sample_url or info.resource_link,
                "deleted_at": None,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (``voices list/show --json``, MCP ``get_voice``)."""
        return {
            "voice_id": self.voice_id,
            "status": self.status.value if self.status is not None else None,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "gmt_create": self.gmt_create,
            "gmt_modified": self.gmt_modified,
            "resource_link": self.resource_link,
            "region": self.region,
            "registered": self.registered,
            "origin": self.origin,
            "sample_url": self.sample_url,
            "sample_sha256": self.sample_sha256,
            "sample_source": self.sample_source,
            "request_id": self.request_id,
            "registered_at": self.created_at,
            "deleted": self.deleted,
            "deleted_at": self.deleted_at,
            "designed": self.designed,
            "voice_prompt": self.voice_prompt,
            "warnings": list(self.warnings),
            "system": self.system,
            "models": list(self.models),
        }


@dataclass(frozen=True)
class CloneResult:
    """What ``clone`` returns: the voice and how it was obtained."""

    voice_id: str
    target_model: str
    prefix: str
    region: str
    status: VoiceStatus | None
    request_id: str | None = None
    """The ``create_voice`` request id of this call (``None`` when reused or adopted)."""
    usage_count: int | None = None
    """Slots this call used, as reported by the service (``0`` when reused)."""
    reused: bool = False
    """An identical earlier clone was returned; no slot was spent."""
    original_request_id: str | None = None
    """For a reused voice: the request id of the ``create_voice`` that made it."""
    adopted: bool = False
    """Found by reconciliation after an ambiguous failure (the create did go through)."""
    sample_url: str | None = None
    sample_sha256: str | None = None
    warnings: tuple[str, ...] = ()
    evidence: dict[str, str] = field(default_factory=dict)
    check: dict[str, Any] | None = None
    attempts: int = 0
    """``create_voice`` requests sent (0 when reused)."""

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape printed by ``clone --json``."""
        return {
            "voice_id": self.voice_id,
            "request_id": self.request_id,
            "original_request_id": self.original_request_id,
            "usage": {"count": self.usage_count} if self.usage_count is not None else None,
            "status": self.status.value if self.status is not None else None,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "region": self.region,
            "reused": self.reused,
            "adopted": self.adopted,
            "sample_url": self.sample_url,
            "sample_sha256": self.sample_sha256,
            "attempts": self.attempts,
            "warnings": list(self.warnings),
            "evidence": dict(self.evidence),
            "check": self.check,
        }


@dataclass(frozen=True)
class DesignResult:
    """What ``design`` returns: the designed voice and its decoded preview."""

    voice_id: str
    target_model: str
    prefix: str
    region: str
    status: VoiceStatus | None
    voice_prompt: str
    preview_text: str
    language: str | None = None
    preview: bytes | None = None
    """The preview audio file's bytes (decoded from the response's base64); ``None`` when the
    service's answer was lost (an adopted voice) and no earlier copy is kept."""
    preview_format: str | None = None
    preview_sample_rate: int | None = None
    preview_path: str | None = None
    """Where the library keeps the preview (under the home dir), if it was kept."""
    preview_out: str | None = None
    """Where ``design(preview_out=...)`` wrote the preview, if it did."""
    request_id: str | None = None
    usage_count: int | None = None
    reused: bool = False
    """An identical earlier design was returned; nothing was sent to create it again."""
    original_request_id: str | None = None
    adopted: bool = False
    """Found by reconciliation after an ambiguous failure (the create did go through)."""
    attempts: int = 0
    warnings: tuple[str, ...] = ()
    evidence: dict[str, str] = field(default_factory=dict)

    def save_preview(self, path: str | Path) -> Path:
        """Write the preview audio to ``path``; raises ``ValueError`` if there is none."""
        if self.preview is None:
            raise ValueError(f"no preview audio is available for {self.voice_id}")
        target = Path(path)
        target.write_bytes(self.preview)
        return target

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape printed by ``design --json`` (the audio itself is left out)."""
        return {
            "voice_id": self.voice_id,
            "request_id": self.request_id,
            "original_request_id": self.original_request_id,
            "usage": {"count": self.usage_count} if self.usage_count is not None else None,
            "status": self.status.value if self.status is not None else None,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "region": self.region,
            "designed": True,
            "voice_prompt": self.voice_prompt,
            "preview_text": self.preview_text,
            "language": self.language,
            "preview": {
                "format": self.preview_format,
                "sample_rate": self.preview_sample_rate,
                "bytes": len(self.preview) if self.preview is not None else 0,
                "path": self.preview_path,
                **({"written_to": self.preview_out} if self.preview_out is not None else {}),
            },
            "reused": self.reused,
            "adopted": self.adopted,
            "attempts": self.attempts,
            "warnings": list(self.warnings),
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True)
class SpeechResult:
    """What ``speak`` produced: one complete audio file."""

    path: Path
    format: str
    sample_rate: int
    duration: float
    """Seconds of audio in the file."""
    characters: int
    """Characters billed: the service's count (CJK ideographs count 2; it may leave out
    whitespace between sentences)."""
    parts: int
    request_ids: tuple[str, ...]
    """Task ids of the successful tasks, in text order."""
    time_to_first_audio: float | None
    """Seconds from the call to the first audio frame."""
    bytes: int
    words: tuple[Word, ...] = ()
    retries: int = 0
    model: str = ""
    voice: str = ""
    text_characters: int = 0
    """Length of the text as the limits and the progress count it (CJK ideographs 2)."""
    replaced: bool = False
    """Whether an existing file at ``path`` was overwritten."""
    timestamps: Path | None = None
    """The word-timings file written beside the audio (``speak(timestamps=...)``), if any."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary (``speak --json``)."""
        return {
            "path": str(self.path),
            "format": self.format,
            "sample_rate": self.sample_rate,
            "duration": round(self.duration, 3),
            "characters": self.characters,
            "text_characters": self.text_characters,
            "parts": self.parts,
            "request_ids": list(self.request_ids),
            "time_to_first_audio": (
                round(self.time_to_first_audio, 3) if self.time_to_first_audio is not None else None
            ),
            "bytes": self.bytes,
            "retries": self.retries,
            "model": self.model,
            "voice": self.voice,
            "words": [w.to_dict() for w in self.words],
            "replaced": self.replaced,
            **({"timestamps": str(self.timestamps)} if self.timestamps is not None else {}),
        }


@dataclass(frozen=True)
class DeleteReport:
    """What ``voices.delete_many`` / ``voices.prune`` did: each voice deleted or why not."""

    deleted: tuple[str, ...]
    failed: tuple[tuple[str, CosyVoiceCloneError], ...]
    """``(voice_id, error)`` for each voice that could not be deleted, in order."""

    @property
    def ok(self) -> bool:
        """Every voice was deleted."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (``voices delete/prune --json``)."""
        return {
            "deleted": list(self.deleted),
            "failed": [{"voice_id": v, "error": e.to_dict()} for v, e in self.failed],
        }


@dataclass(frozen=True)
class SyncReport:
    """What ``voices.sync`` changed in the registry."""

    added: tuple[str, ...]
    updated: tuple[str, ...]
    marked_deleted: tuple[str, ...]
    total: int
    """Voices the service reported."""

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape (``voices sync --json``)."""
        return {
            "added": list(self.added),
            "updated": list(self.updated),
            "marked_deleted": list(self.marked_deleted),
            "service_total": self.total,
        }


@dataclass(frozen=True)
class VoiceRecord:
    """A registry row: what we know about one voice."""

    voice_id: str
    target_model: str | None
    region: str | None = None
    endpoint: str | None = None
    prefix: str | None = None
    sample_url: str | None = None
    sample_sha256: str | None = None
    sample_source: str | None = None
    options: dict[str, Any] | None = None
    dedupe_key: str | None = None
    request_id: str | None = None
    usage_count: int | None = None
    status: str | None = None
    origin: str = "unregistered"
    """``created`` (by a clone), ``adopted`` (found after an ambiguous failure), ``designed`` (by
    a design; its prompt is in ``options``), ``seen`` (listed or queried), or ``unregistered``
    (not in the registry; model read from the voice id)."""
    gmt_create: str | None = None
    gmt_modified: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    seen_at: str | None = None
    deleted_at: str | None = None

    @property
    def deleted(self) -> bool:
        """Whether the voice is known to be gone from the service."""
        return self.deleted_at is not None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every field."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class LiveResult:
    """What a live session spoke (a snapshot; final once the session ended)."""

    voice: str
    model: str
    format: str
    sample_rate: int
    duration: float
    """Seconds of audio received."""
    characters: int
    """Characters billed, as the service counted them (finished tasks)."""
    text_characters: int
    """Characters sent (CJK counting 2)."""
    tasks: int
    request_ids: tuple[str, ...]
    time_to_first_audio: float | None
    """Seconds from the first text sent to the first audio byte."""
    bytes: int
    """Bytes of audio produced (in ``format``)."""
    cancelled: bool = False
    path: Path | None = None
    """The file written (:func:`speak_live` with a :class:`FileSink`)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "voice": self.voice,
            "model": self.model,
            "format": self.format,
            "sample_rate": self.sample_rate,
            "duration": round(self.duration, 3),
            "characters": self.characters,
            "text_characters": self.text_characters,
            "tasks": self.tasks,
            "request_ids": list(self.request_ids),
            "time_to_first_audio": (
                None if self.time_to_first_audio is None else round(self.time_to_first_audio, 3)
            ),
            "bytes": self.bytes,
            "cancelled": self.cancelled,
            "path": None if self.path is None else str(self.path),
        }


@dataclass(frozen=True)
class BatchItem:
    """The outcome of one manifest row: ``ok``, ``skipped``, ``failed`` or ``invalid``."""

    line: int
    id: str
    status: str
    details: dict[str, Any]
    """The results-file fields: the :class:`SpeechResult` dict and ``fingerprint``, or
    ``error`` (an error dict)."""
    error: CosyVoiceCloneError | None = field(default=None, compare=False, repr=False)
    """The exception of a failed or invalid item."""

    def to_dict(self) -> dict[str, Any]:
        """The results-file line."""
        return {"line": self.line, "id": self.id, "status": self.status, **self.details}


@dataclass(frozen=True)
class BatchReport:
    """What :func:`aspeak_many` did."""

    manifest: str
    results: str
    items: tuple[BatchItem, ...]
    seconds: float

    def count(self, status: str) -> int:
        """Items with this status."""
        return sum(1 for i in self.items if i.status == status)

    @property
    def ok(self) -> bool:
        """No item failed or was invalid."""
        return self.count("failed") == 0 and self.count("invalid") == 0

    def to_dict(self) -> dict[str, Any]:
        """The summary (``batch --json``)."""
        return {
            "manifest": self.manifest,
            "results": self.results,
            "total": len(self.items),
            "done": self.count("ok"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "invalid": self.count("invalid"),
            "seconds": round(self.seconds, 3),
            "items": [i.to_dict() for i in self.items],
        }


@dataclass(frozen=True)
class SpeakingVoice:
    """A voice that may speak now, and the model it speaks with."""

    voice_id: str
    model: str
    """The synthesis model chosen (the voice's own, or an asked one it supports)."""
    target_model: str | None
    """The model the voice is bound to (``None``: unknown, e.g. not registered)."""
    system: bool = False
    """A preset voice of the service (no slot, no registry row)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "voice_id": self.voice_id,
            "model": self.model,
            "target_model": self.target_model,
            "system": self.system,
        }


@dataclass(frozen=True)
class PingResult:
    """Whether the service accepts the key here (a free one-voice list; ``doctor``)."""

    accepted: bool | None
    """``True``: accepted; ``False``: refused (``error``); ``None``: not reached (``error``)."""
    endpoint: str
    region: str
    seconds: float
    request_id: str | None = None
    error: CosyVoiceCloneError | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "endpoint": self.endpoint,
            "region": self.region,
            "ms": round(self.seconds * 1000, 1),
            "request_id": self.request_id,
            "error": None if self.error is None else self.error.to_dict(),
        }


__all__ = [
    "BatchItem",
    "BatchReport",
    "CloneResult",
    "DeleteReport",
    "LiveResult",
    "PingResult",
    "SpeakingVoice",
    "SpeechResult",
    "SyncReport",
    "SynthesisOptions",
    "Voice",
    "VoiceRecord",
    "VoiceStatus",
    "parse_status",
]
