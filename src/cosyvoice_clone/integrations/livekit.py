"""A LiveKit Agents TTS speaking with cloned (and system) CosyVoice voices.

    from livekit.agents import AgentSession
    from cosyvoice_clone.integrations.livekit import TTS

    session = AgentSession(stt=..., llm=..., tts=TTS(voice="myvoice"))

Both calls run one live speech session of the library (``AsyncCosyVoice.live``):
``synthesize(text)`` speaks a whole text; ``stream()`` takes the text as the LLM streams it
(``push_text`` word by word, ``end_input``) and the audio comes out as sentences complete.
The audio is 16-bit mono PCM at ``sample_rate``; each sentence's word timings become timed
transcripts (``TimedString`` in ``frame.userdata``: ``aligned_transcript=True``). Closing the
stream (or an interruption, which closes it) cancels the task on the service. The library's
refusals and errors are raised as ``livekit.agents.APIError`` (not retryable: the library
already retried what can be retried) with the library's message.

Needs the ``livekit`` extra (Python 3.10+): from a checkout ``pip install -e '.[livekit]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, APIError, tts, utils
from livekit.agents.types import TimedString

from cosyvoice_clone.client import AsyncCosyVoice, AsyncLiveSpeech
from cosyvoice_clone.errors import CosyVoiceCloneError

__all__ = ["TTS"]


class TTS(tts.TTS[Literal["metrics_collected", "error"]]):
    """LiveKit TTS over the library's live speech (see the module docstring).

    ``voice``: a voice id, registry prefix or system voice; ``model``: the synthesis model
    (default: the voice's own); ``instruction``, ``rate``, ``pitch``, ``volume``: as for
    ``AsyncCosyVoice.live``; ``sample_rate``: of the audio frames (default 24000).
    ``client``: an ``AsyncCosyVoice`` to use (default: one made from the environment on first
    use, closed by :meth:`aclose`).
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
        sample_rate: int = 24000,
        client: AsyncCosyVoice | None = None,
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=True, aligned_transcript=True),
            sample_rate=sample_rate,
            num_channels=1,
        )
        self.voice = voice
        self._model = model
        self._options: dict[str, Any] = {
            k: v
            for k, v in {
                "instruction": instruction,
                "rate": rate,
                "pitch": pitch,
                "volume": volume,
            }.items()
            if v is not None
        }
        self._client = client
        self._own_client = client is None

    @property
    def model(self) -> str:
        return self._model or "cosyvoice"

    @property
    def provider(self) -> str:
        return "cosyvoice-clone"

    def live(self) -> AsyncLiveSpeech:
        """A new live session with this TTS's voice and options (not open yet)."""
        if self._client is None:
            self._client = AsyncCosyVoice()
        return self._client.live(
            voice=self.voice,
            model=self._model,
            format="pcm",
            sample_rate=self.sample_rate,
            word_timestamps=True,
            **self._options,
        )

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _ChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(
        self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.SynthesizeStream:
        return _SynthesizeStream(tts=self, conn_options=conn_options)

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


async def _speak(
    live: AsyncLiveSpeech,
    emitter: tts.AudioEmitter,
    feed: Any,
    *,
    segment_id: str | None,
) -> None:
    """Run ``live`` with ``feed(live)`` sending its text; its audio and words into ``emitter``
    (one segment when ``segment_id`` is given). Library errors become APIError; any other
    end (cancellation included) cancels the task on the service."""
    feeder: asyncio.Task[None] | None = None
    done = False
    try:
        await live.open()
        feeder = asyncio.create_task(feed(live))
        started = segment_id is None
        async for item in live.timed_audio():
            if not started:
                emitter.start_segment(segment_id=segment_id or "")
                started = True
            if isinstance(item, bytes):
                emitter.push(item)
            else:
                emitter.push_timed_transcript(
                    TimedString(
                        item.text + " ",
                        start_time=item.begin_ms / 1000,
                        end_time=item.end_ms / 1000,
                    )
                )
        await feeder
        await live.wait()
        done = True
        if segment_id is not None and started:
            emitter.end_segment()
    except CosyVoiceCloneError as exc:
        raise APIError(str(exc), retryable=False) from None
    finally:
        if feeder is not None and not feeder.done():
            feeder.cancel()
            with contextlib.suppress(BaseException):
                await feeder
        if not done:
            await live.cancel()


class _ChunkedStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        assert isinstance(self._tts, TTS)
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=self._tts.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )

        async def feed(live: AsyncLiveSpeech) -> None:
            await live.send(self.input_text)
            await live.close()

        await _speak(self._tts.live(), output_emitter, feed, segment_id=None)


class _SynthesizeStream(tts.SynthesizeStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        assert isinstance(self._tts, TTS)
        request_id = utils.shortuuid()
        output_emitter.initialize(
            request_id=request_id,
            sample_rate=self._tts.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
            stream=True,
        )

        async def feed(live: AsyncLiveSpeech) -> None:
            try:
                async for item in self._input_ch:
                    if isinstance(item, self._FlushSentinel):
                        break  # one segment per stream: a flush ends its text
                    self._mark_started()
                    await live.send(item)
                await live.close()
            except BaseException:
                await live.cancel()  # ends timed_audio(): the error is raised by the await
                raise

        await _speak(self._tts.live(), output_emitter, feed, segment_id=request_id)
