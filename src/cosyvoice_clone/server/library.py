"""Every call the server makes into the library, in one place.

The server parses requests and renders results; what a voice name means, whether a voice may
speak, which model it speaks with, how a long text is spoken: all of that is the library's, and
this module only forwards to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import catalog
from ..catalog import VoiceStatus
from ..client import AsyncCosyVoice
from ..config import Settings
from ..enrollment import StatusCallback
from ..errors import InvalidRequestError, UnknownVoiceError, VoiceDeletedError
from ..models import CloneResult, DesignResult, Voice, parse_status
from ..speech import speakable
from ..synthesis import AsyncSynthesizer
from ..synthesis.streaming import STREAM_FORMATS, SpeechChunks, open_speech
from ..voices import system_voices

if TYPE_CHECKING:
    from ..audio import CheckReport, FixResult
    from ..audio.waveform import Waveform


@dataclass(frozen=True)
class CheckedSample:
    """A sample check and the waveform drawn from the same measurements."""

    report: CheckReport
    waveform: Waveform

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report.to_dict(), "waveform": self.waveform.to_dict()}


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
        voice, _model = await speakable(self.client._session, name, model)
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
        volume: int = 50,
        pitch: float = 1.0,
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
            volume=volume,
            pitch=pitch,
            instruction=instruction,
            concurrency=self.concurrency,
            retries=self.retries,
        )

    async def voices(self, prefix: str | None = None) -> list[Voice]:
        """The voices the service and the registry know (the library's merged list)."""
        return await self.client.voices.list(prefix)

    # -- the studio: samples, cloning, voice management ------------------------------------

    @staticmethod
    async def check(sample: str | Path, target_model: str | None) -> CheckedSample:
        """The library's sample check of a path or URL, with its waveform."""
        from ..audio import check_sample
        from ..audio.waveform import waveform

        def run() -> CheckedSample:
            report = check_sample(sample, target_model)
            return CheckedSample(report, waveform(report))

        return await asyncio.to_thread(run)

    @staticmethod
    async def fix(
        sample: str | Path, out: Path, target_model: str | None
    ) -> tuple[FixResult, CheckedSample | None]:
        """The library's repair (``check --fix``): the result and, when written, the repaired
        sample's check with its waveform."""
        from ..audio import fix_sample
        from ..audio.waveform import waveform

        def run() -> tuple[FixResult, CheckedSample | None]:
            result = fix_sample(sample, out, target_model)
            after = result.after if result.written else None
            return result, CheckedSample(after, waveform(after)) if after else None

        return await asyncio.to_thread(run)

    async def clone(
        self,
        *,
        prefix: str,
        sample: str | Path,
        target_model: str | None,
        language_hints: list[str] | None,
        max_prompt_audio_length: float | None,
        enable_preprocess: bool | None,
        force: bool = False,
    ) -> CloneResult:
        """Clone (check, reuse or upload + create, register); does not wait for ``OK``."""
        return await self.client.clone(
            prefix=prefix,
            sample=sample,
            target_model=target_model,
            language_hints=language_hints,
            max_prompt_audio_length=max_prompt_audio_length,
            enable_preprocess=enable_preprocess,
            force=force,
        )

    async def design(
        self,
        *,
        prefix: str,
        prompt: str,
        preview_text: str | None,
        target_model: str | None,
        language: str | None,
        force: bool = False,
    ) -> DesignResult:
        """Design a voice from a description (validated by the library, deduped, registered)
        with its decoded preview; does not wait for ``OK``."""
        return await self.client.design(
            prefix=prefix,
            prompt=prompt,
            preview_text=preview_text,
            target_model=target_model,
            language=language,
            force=force,
        )

    async def wait(
        self, voice_id: str, on_status: StatusCallback | None = None
    ) -> VoiceStatus | None:
        """Wait until the voice is ``OK`` (raises when it is rejected or never gets there)."""
        return parse_status(await self.client.wait(voice_id, on_status=on_status))

    async def show_voice(self, voice: str) -> Voice:
        return await self.client.voices.show(voice)

    async def update_voice(
        self, voice: str, sample: str | Path, on_status: StatusCallback | None = None
    ) -> Voice:
        """Give a voice a new sample (checked, uploaded) and wait until it is ``OK`` again."""
        return await self.client.voices.update(voice, sample, wait=True, on_status=on_status)

    async def delete_voice(self, voice: str) -> Voice:
        return await self.client.voices.delete(voice)

    def clone_models(self) -> list[catalog.TargetModel]:
        """The target models that can be cloned for in this region (the catalog's rules)."""
        return [catalog.target_model(name) for name in catalog.clone_models_in(self.region)]

    def design_models(self) -> list[str]:
        """The target models a voice can be designed for in this region (none outside it)."""
        return catalog.design_models_in(self.region)

    @staticmethod
    def design_limits() -> dict[str, Any]:
        """What the page shows beside the design fields: lengths and languages."""
        return {
            "prompt_max_chars": catalog.VOICE_PROMPT_MAX_CHARS,
            "preview_text_max_chars": catalog.PREVIEW_TEXT_MAX_CHARS,
            "languages": list(catalog.DESIGN_LANGUAGES),
            "regions": list(catalog.DESIGN_REGIONS),
        }

    @staticmethod
    def instruction_models() -> tuple[str, ...]:
        """The models whose cloned voices take an ``instruction``."""
        return catalog.INSTRUCTION_MODELS

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
