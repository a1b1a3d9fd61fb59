"""What every connection of one Wyoming server shares: the client and the options
(:class:`WyomingDoor`), the voices announced, the audio format, failures as ``error`` events."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import catalog
from ..client import AsyncCosyVoice
from ..config import redact
from ..errors import ConfigError, CosyVoiceCloneError, InvalidRequestError
from ..extras import install_hint
from .voices import ListedVoice, build_info, choose_voice, list_voices

if TYPE_CHECKING:
    from wyoming.error import Error
    from wyoming.event import Event
    from wyoming.info import Info
    from wyoming.tts import SynthesizeVoice

logger = logging.getLogger("cosyvoice_clone.wyoming")

INSTALL_HINT = f"install it with: {install_hint('wyoming')}"
DEFAULT_SAMPLE_RATE = catalog.default_sample_rate("pcm")
WIDTH = 2
"""Bytes per sample: 16-bit PCM."""
CHANNELS = 1
FIRST_AUDIO_KEPT = 100


def require_sdk() -> None:
    """Raise :class:`~cosyvoice_clone.errors.ConfigError` if the ``wyoming`` package is missing."""
    try:
        import wyoming.server  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the Wyoming server needs the optional 'wyoming' package", hint=INSTALL_HINT
        ) from None


def check_options(sample_rate: int, model: str | None) -> None:
    """Refuse a rate the service does not offer and a model it does not have."""
    if sample_rate not in catalog.SAMPLE_RATES:
        raise InvalidRequestError(
            f"sample rate {sample_rate} is not offered by the service",
            field="sample_rate",
            hint="use one of " + ", ".join(str(r) for r in catalog.SAMPLE_RATES),
        )
    if model is not None:
        catalog.check_model(model)


@dataclass
class WyomingDoor:
    """The client and the options every connection of one server shares."""

    client: AsyncCosyVoice
    sample_rate: int = DEFAULT_SAMPLE_RATE
    """The rate of the 16-bit mono PCM sent (one of ``catalog.SAMPLE_RATES``)."""
    model: str | None = None
    """Speak every voice with this model (default: each voice's own)."""
    default_voice: str | None = None
    """The voice of a request that names none (default: the first listed one of its language)."""
    system_voices: bool = False
    """Also list the service's system voices."""
    first_audio: list[float] = field(default_factory=list)
    """Seconds from a request to its first audio, most recent last (at most 100 kept)."""

    def __post_init__(self) -> None:
        check_options(self.sample_rate, self.model)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an event or a log line: the API key."""
        key = self.client.settings.api_key
        return (key.value,) if key is not None and key.value else ()

    async def voices(self) -> list[ListedVoice]:
        """The voices announced now (the registry read afresh: new clones appear)."""
        return await list_voices(self.client, system=self.system_voices)

    async def info(self) -> Info:
        """The ``info`` answer."""
        return build_info(await self.voices())

    async def choose(self, voice: SynthesizeVoice | None) -> str:
        """The voice a request means (see :func:`.voices.choose_voice`)."""
        name = voice.name if voice is not None else None
        language = voice.language if voice is not None else None
        listed = [] if name else await self.voices()
        return choose_voice(listed, name=name, language=language, default=self.default_voice)

    def error_event(self, exc: BaseException) -> Error:
        """``exc`` as one Wyoming ``error`` event: the library's one line and code."""
        from wyoming.error import Error

        if isinstance(exc, CosyVoiceCloneError):
            text, code = str(exc), exc.code
        else:
            logger.error("unexpected failure: %s: %s", type(exc).__name__, exc, exc_info=exc)
            text, code = f"internal error of the server: {type(exc).__name__}: {exc}", "internal"
        return Error(text=redact(" ".join(text.split()), *self.secrets), code=code)

    def audio_start(self) -> Event:
        from wyoming.audio import AudioStart

        return AudioStart(rate=self.sample_rate, width=WIDTH, channels=CHANNELS).event()

    def audio_chunk(self, data: bytes) -> Event:
        from wyoming.audio import AudioChunk

        return AudioChunk(rate=self.sample_rate, width=WIDTH, channels=CHANNELS, audio=data).event()

    def record_first_audio(self, seconds: float) -> None:
        self.first_audio.append(seconds)
        del self.first_audio[:-FIRST_AUDIO_KEPT]


__all__ = [
    "CHANNELS",
    "DEFAULT_SAMPLE_RATE",
    "WIDTH",
    "WyomingDoor",
    "check_options",
    "require_sdk",
]
