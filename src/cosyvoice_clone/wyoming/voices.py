"""What the Wyoming server announces: its voices (the registry's, optionally the service's
system voices), and which one a ``synthesize`` event means.

Nothing here speaks or connects: the voices come from the local registry (no request to the
service per ``describe``: Home Assistant asks often), filtered to those that can speak now (not
deleted, status OK, on this endpoint). Each is named by its prefix, the name Home Assistant shows
and sends back; a prefix shared by several voices names each of them by its voice id instead, so
every name resolves to one voice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import catalog
from .._version import __version__
from ..client import AsyncCosyVoice
from ..errors import InvalidRequestError
from ..models import VoiceRecord

if TYPE_CHECKING:
    from wyoming.info import Info

PROGRAM_NAME = "cosyvoice-clone"
ATTRIBUTION_NAME = "Alibaba Cloud Model Studio CosyVoice"
ATTRIBUTION_URL = "https://help.aliyun.com/zh/model-studio/cosyvoice-clone-design-api"
FALLBACK_LANGUAGES: tuple[str, ...] = ("zh", "en")
"""Languages of a voice whose model the catalog does not know."""


@dataclass(frozen=True)
class ListedVoice:
    """One voice as the Wyoming server lists it."""

    name: str
    """What Home Assistant shows and sends back: the prefix (or the voice id when the prefix
    is shared, or the system voice's name)."""
    voice: str
    """What the library is asked to speak with (a voice id or a system voice name)."""
    model: str | None
    languages: tuple[str, ...]
    description: str


def _languages(record: VoiceRecord) -> tuple[str, ...]:
    """The clone's (or design's) language hint; without one, what its model speaks."""
    hints = (record.options or {}).get("language_hints") or ()
    if isinstance(hints, str):
        hints = (hints,)
    hints = tuple(h for h in hints if isinstance(h, str) and h)
    if hints:
        return hints[:1]
    spec = catalog.TARGET_MODELS.get(record.target_model or "")
    return spec.language_hints if spec is not None and spec.language_hints else FALLBACK_LANGUAGES


def _origin(record: VoiceRecord) -> str:
    if record.origin == "designed" or catalog.is_designed_voice_id(record.voice_id):
        return "designed voice"
    if record.origin in ("created", "adopted"):
        return "cloned voice"
    return "voice found on the service"


def registry_voices(records: Sequence[VoiceRecord], endpoint: str) -> list[ListedVoice]:
    """The records that can speak now (this endpoint, not deleted, OK), as listed voices."""
    usable = [
        r
        for r in records
        if r.endpoint == endpoint and not r.deleted and r.status == catalog.VoiceStatus.OK
    ]
    shared = Counter(r.prefix for r in usable if r.prefix)
    listed = []
    for record in usable:
        prefix = record.prefix
        name = prefix if prefix and shared[prefix] == 1 else record.voice_id
        model = record.target_model or catalog.model_from_voice_id(record.voice_id)
        listed.append(
            ListedVoice(
                name=name,
                voice=record.voice_id,
                model=model,
                languages=_languages(record),
                description=f"{prefix or record.voice_id} ({_origin(record)}, {model})",
            )
        )
    return listed


def system_voices() -> list[ListedVoice]:
    """The service's preset voices the catalog knows."""
    return [
        ListedVoice(
            name=v.name,
            voice=v.name,
            model=v.default_model,
            languages=v.languages or FALLBACK_LANGUAGES,
            description=f"{v.label} (system voice, {v.default_model})",
        )
        for v in catalog.system_voices()
    ]


async def list_voices(client: AsyncCosyVoice, *, system: bool = False) -> list[ListedVoice]:
    """The voices to announce: the registry's (newest first), then the system voices."""
    import asyncio

    records = await asyncio.to_thread(client.registry.list)
    listed = registry_voices(records, client.endpoint)
    return listed + (system_voices() if system else [])


def build_info(voices: Sequence[ListedVoice]) -> Info:
    """The ``info`` answer: one TTS program with ``voices``, streaming announced."""
    from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

    attribution = Attribution(name=ATTRIBUTION_NAME, url=ATTRIBUTION_URL)
    program = TtsProgram(
        name=PROGRAM_NAME,
        attribution=attribution,
        installed=True,
        description="Your cloned and designed CosyVoice voices",
        version=__version__,
        voices=[
            TtsVoice(
                name=v.name,
                attribution=attribution,
                installed=True,  # Home Assistant lists only installed voices
                description=v.description,
                version=None,
                languages=list(v.languages),
            )
            for v in voices
        ],
        supports_synthesize_streaming=True,
    )
    return Info(tts=[program])


def choose_voice(
    voices: Sequence[ListedVoice],
    *,
    name: str | None,
    language: str | None,
    default: str | None,
) -> str:
    """The voice a ``synthesize`` event means: its name (a listed name, or anything the library
    resolves: prefix, voice id, system voice), else the server's ``--voice``, else the first
    listed voice of its language, else the first listed voice."""
    if name:
        for v in voices:
            if v.name == name:
                return v.voice
        return name  # the library resolves it (or refuses it with one clear error)
    if default:
        return default
    if language:
        primary = language.replace("_", "-").split("-", 1)[0].lower()
        for v in voices:
            if any(lang.split("-", 1)[0].lower() == primary for lang in v.languages):
                return v.voice
    if voices:
        return voices[0].voice
    raise InvalidRequestError(
        "no voice to speak with: the registry has no voice that can speak here, and the request "
        "named none",
        field="voice",
        hint="clone or design a voice (`cosyvoice-clone clone ...`), run `cosyvoice-clone voices "
        "sync`, or start the server with --voice",
    )


__all__ = [
    "PROGRAM_NAME",
    "ListedVoice",
    "build_info",
    "choose_voice",
    "list_voices",
    "registry_voices",
    "system_voices",
]
