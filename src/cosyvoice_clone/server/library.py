"""Every call the server makes into the library, in one place.

The server parses requests and renders results; what a voice name means, whether a voice may
speak, which model it speaks with, how a long text is spoken: all of that is the library's, and
this module only forwards to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import catalog
from ..client import AsyncCosyVoice
from ..config import Settings
from ..errors import InvalidRequestError, UnknownVoiceError, VoiceDeletedError
from ..models import Voice
from ..speech import speakable
from ..synthesis import AsyncSynthesizer
from ..synthesis.streaming import STREAM_FORMATS, SpeechChunks, open_speech
from ..voices import system_voices


@dataclass(frozen=True)
class SpeakingVoice:
    """A voice that may speak now: its id and the model it is bound to (``None``: unknown)."""

    voice_id: str
    target_model: str | None


def is_unknown_voice(error: InvalidRequestError) -> bool:
    """Whether the resolver refused a name because no voice has it (or it was deleted)."""
    return isinstance(error, (UnknownVoiceError, VoiceDeletedError))


class SpeechLibrary:
    """The library, opened once per server: voices, models and speech."""

    def __init__(
        self,
        settings: Settings,
        *,
        event_timeout: float = 60.0,
        concurrency: int = 4,
        retries: int = 2,
        tasks_per_second: float | None = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL,
    ) -> None:
        self.settings = settings
        self.client = AsyncCosyVoice(settings=settings)
        self.synth = AsyncSynthesizer.from_settings(
            settings, event_timeout=event_timeout, tasks_per_second=tasks_per_second
        )
        self.concurrency = concurrency
        self.retries = retries

    @property
    def region(self) -> str:
        return self.settings.region

    async def resolve_voice(self, name: str, model: str | None) -> SpeakingVoice:
        """A voice id, registry prefix or system voice that may speak now (the library's rules:
        deleted, UNDEPLOYED, DEPLOYING, unknown or ambiguous prefix; a catalog system voice
        speaks with its default model or an asked one it supports)."""
        voice, _model = await speakable(self.client, name, model)
        return SpeakingVoice(voice.voice_id, voice.target_model)

    def speech(
        self,
        text: str,
        voice: SpeakingVoice,
        *,
        model: str | None,
        output_format: str,
        rate: float,
        instruction: str | None,
    ) -> SpeechChunks:
        """The ordered audio of ``text`` (any length), validated before anything is sent."""
        return open_speech(
            self.synth,
            text,
            voice=voice.voice_id,
            model=model,
            target_model=voice.target_model,
            output_format=output_format,
            sample_rate=24000,  # OpenAI's pcm is 24 kHz 16-bit mono; every format uses it
            rate=rate,
            instruction=instruction,
            concurrency=self.concurrency,
            retries=self.retries,
        )

    async def voices(self) -> list[Voice]:
        """The voices the service and the registry know (the library's merged list)."""
        return await self.client.voices.list()

    @staticmethod
    def system_voices() -> list[catalog.SystemVoice]:
        """The service's system voices the catalog knows."""
        return system_voices()

    @staticmethod
    def models() -> list[str]:
        """The synthesis models the catalog knows."""
        return catalog.synthesis_models()

    @staticmethod
    def formats() -> tuple[str, ...]:
        return STREAM_FORMATS

    async def aclose(self) -> None:
        await self.client.aclose()
