"""A Pipecat TTS service speaking with cloned (and system) CosyVoice voices.

    from cosyvoice_clone.integrations.pipecat import CosyVoiceTTSService

    tts = CosyVoiceTTSService(voice="myvoice")          # id, registry prefix or system voice
    pipeline = Pipeline([transport.input(), stt, llm, tts, transport.output()])

Each turn is one live speech session of the library (``AsyncCosyVoice.live``): the text goes
in as the LLM streams it (token by token by default, or sentence by sentence with
``text_aggregation_mode=TextAggregationMode.SENTENCE``), the audio comes out as 16-bit mono
PCM at the pipeline's rate as the service makes it, and each sentence's word timings are
reported with Pipecat's word timestamps (``TTSTextFrame`` with ``pts``). An interruption
cancels the task on the service. Refusals (unknown or deleted voice, a model the voice is not
bound to) and service errors become Pipecat error frames with the library's message.

Needs the ``pipecat`` extra (Python 3.11+): from a checkout ``pip install -e '.[pipecat]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    InterruptionFrame,
    StartFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TextAggregationMode, TTSService

from cosyvoice_clone.client import AsyncCosyVoice, AsyncLiveSpeech
from cosyvoice_clone.errors import CosyVoiceCloneError

__all__ = ["CosyVoiceTTSService"]


class CosyVoiceTTSService(TTSService):
    """Pipecat TTS over the library's live speech (see the module docstring).

    ``voice``: a voice id, registry prefix or system voice; ``model``: the synthesis model
    (default: the voice's own); ``instruction``, ``rate``, ``pitch``, ``volume``: as for
    ``AsyncCosyVoice.live``. ``text_aggregation_mode``: ``TOKEN`` (the default: each LLM
    token goes to the live task at once) or ``SENTENCE``. ``client``: an ``AsyncCosyVoice``
    to use (default: one made from the environment at start, closed at the end). Other
    keywords go to ``TTSService``.
    """

    def __init__(
        self,
        *,
        voice: str,
        model: str | None = None,
        instruction: str | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        volume: int | None = None,
        client: AsyncCosyVoice | None = None,
        sample_rate: int | None = None,
        text_aggregation_mode: TextAggregationMode | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            text_aggregation_mode=text_aggregation_mode or TextAggregationMode("token"),
            push_text_frames=False,  # the words come back as TTSTextFrames with their times
            push_start_frame=True,
            sample_rate=sample_rate,
            settings=TTSSettings(model=model, voice=voice, language=None),
            **kwargs,
        )
        self._options: dict[str, Any] = {
            "instruction": instruction,
            "rate": rate,
            "pitch": pitch,
            "volume": volume,
        }
        self._asked_rate = sample_rate
        self._client = client
        self._own_client = client is None
        self._sessions: dict[str, AsyncLiveSpeech] = {}
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._opening: dict[str, asyncio.Task[None]] = {}
        self._failed: set[str] = set()  # contexts whose session was refused: the rest is dropped

    def can_generate_metrics(self) -> bool:
        return True

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        self._cosyvoice()

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._close_all()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._close_all()

    def _cosyvoice(self) -> AsyncCosyVoice:
        if self._client is None:
            self._client = AsyncCosyVoice()
        return self._client

    async def _close_all(self) -> None:
        for context_id in list(self._sessions):
            await self._cancel_session(context_id)
        if self._own_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- synthesis ------------------------------------------------------------------------------

    def _open(self, sample_rate: int, *, word_timestamps: bool) -> AsyncLiveSpeech:
        settings = self._settings
        return self._cosyvoice().live(
            voice=str(settings.voice),
            model=settings.model if isinstance(settings.model, str) else None,
            format="pcm",
            sample_rate=sample_rate,
            word_timestamps=word_timestamps,
            **{k: v for k, v in self._options.items() if v is not None},
        )

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        """Send ``text`` to the turn's live session (opened on its first text); the audio and
        word timings reach the context from the session's reader. Called on its own (no
        audio context open), the text is spoken at once and its audio yielded."""
        if not self.audio_context_available(context_id):
            async for frame in self._speak_alone(text, context_id):
                yield frame
            return
        if context_id in self._failed:
            yield None
            return
        try:
            live = await self._session(context_id)
            if context_id not in self._readers:
                self._readers[context_id] = asyncio.create_task(self._read(context_id, live))
            await live.send(text)
            await self.start_tts_usage_metrics(text)
        except CosyVoiceCloneError as exc:
            await self._fail(context_id, exc)
        yield None

    async def on_turn_context_created(self, context_id: str) -> None:
        """A turn starts (before the LLM's first token): open its live task now, so that the
        connection and run-task happen while the LLM thinks."""
        await super().on_turn_context_created(context_id)
        if context_id not in self._sessions and self.sample_rate:
            live = self._open(self.sample_rate, word_timestamps=True)
            self._sessions[context_id] = live
            self._opening[context_id] = asyncio.create_task(live.open())

    async def on_turn_context_completed(self) -> None:
        context_id = self._turn_context_id
        await super().on_turn_context_completed()  # type: ignore[no-untyped-call]
        if context_id is not None and context_id not in self._readers:
            await self._cancel_session(context_id)  # opened early, but no text came

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            for context_id in [c for c in self._sessions if c not in self._readers]:
                await self._cancel_session(context_id)  # opened early for a turn cut short

    async def _session(self, context_id: str) -> AsyncLiveSpeech:
        """The context's live session, open (opened now if the turn did not open it)."""
        live = self._sessions.get(context_id)
        if live is None:
            live = self._open(self.sample_rate, word_timestamps=True)
            self._sessions[context_id] = live
            self._opening[context_id] = asyncio.create_task(live.open())
        opening = self._opening.get(context_id)
        if opening is not None:
            try:
                await asyncio.shield(opening)
            finally:
                if opening.done():
                    self._opening.pop(context_id, None)
        return live

    async def _speak_alone(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        rate = self.sample_rate or self._asked_rate or 24000  # 0 until the pipeline set it
        try:
            async with self._open(rate, word_timestamps=False) as live:
                await live.send(text)
                await live.close()
                async for chunk in live.audio():
                    yield TTSAudioRawFrame(chunk, rate, 1, context_id=context_id)
        except CosyVoiceCloneError as exc:
            yield ErrorFrame(error=str(exc), exception=exc)

    async def _read(self, context_id: str, live: AsyncLiveSpeech) -> None:
        """The session's audio and words into the audio context, then the context's end."""
        first = True
        try:
            async for item in live.timed_audio():
                if not self.audio_context_available(context_id):
                    await live.cancel()  # the context is gone (interrupted): stop the task
                    break
                if isinstance(item, bytes):
                    if first:
                        first = False
                        await self.stop_ttfb_metrics()
                    frame = TTSAudioRawFrame(item, live.sample_rate, 1, context_id=context_id)
                    await self.append_to_audio_context(context_id, frame)
                else:
                    await self.add_word_timestamps([(item.text, item.begin_ms / 1000)], context_id)
            await live.wait()
        except CosyVoiceCloneError as exc:
            self._failed.add(context_id)
            await self.push_error(error_msg=str(exc), exception=exc)
        finally:
            self._sessions.pop(context_id, None)
            self._readers.pop(context_id, None)
        await self._end_context(context_id)

    async def _fail(self, context_id: str, exc: CosyVoiceCloneError) -> None:
        self._failed.add(context_id)
        await self.push_error(error_msg=str(exc), exception=exc)
        await self._cancel_session(context_id)
        await self._end_context(context_id)

    async def _end_context(self, context_id: str) -> None:
        if self.audio_context_available(context_id):
            await self.append_to_audio_context(context_id, TTSStoppedFrame(context_id=context_id))
            await self.remove_audio_context(context_id)

    async def flush_audio(self, context_id: str | None = None) -> None:
        """The turn's text is complete: the session speaks the rest, then ends."""
        live = self._sessions.get(context_id or "")
        if live is None:
            return
        try:
            await live.close()
        except CosyVoiceCloneError as exc:
            await self._fail(context_id or "", exc)
        except RuntimeError:
            pass  # already closed or failed: its reader reports it

    async def on_audio_context_interrupted(self, context_id: str) -> None:
        """An interruption: cancel the task on the service at once."""
        await self.stop_all_metrics()  # type: ignore[no-untyped-call]
        self._failed.discard(context_id)
        await self._cancel_session(context_id)
        await super().on_audio_context_interrupted(context_id)

    async def _cancel_session(self, context_id: str) -> None:
        live = self._sessions.pop(context_id, None)
        reader = self._readers.pop(context_id, None)
        opening = self._opening.pop(context_id, None)
        if opening is not None:
            with contextlib.suppress(BaseException):
                await opening  # its refusal, if any, was (or will never be) reported
        if live is not None:
            await live.cancel()
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
