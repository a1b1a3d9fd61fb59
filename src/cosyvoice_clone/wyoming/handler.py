"""One Wyoming connection: events in, the library's speech out as Wyoming audio events.

- ``describe`` -> ``info`` (:meth:`WyomingDoor.info`);
- ``synthesize`` -> ``audio-start``, ``audio-chunk``..., ``audio-stop``: the client's
  ``stream_speech(format="pcm")``, each chunk sent as the service produces it;
- ``synthesize-start``, ``synthesize-chunk``..., ``synthesize-stop`` -> the same audio events as
  the text arrives (the client's ``live`` session speaks each sentence once it is complete),
  then ``synthesize-stopped``. The whole ``synthesize`` a streaming client also sends inside
  the stream (for older servers) is ignored.

Every failure (an unknown or deleted voice, a model the voice is not bound to, a refused text,
a service error) is one ``error`` event with the library's one line and code; the connection
stays open. The audio is written by a task, so that ``synthesize-chunk`` events are read while
audio goes out; jobs of one connection run in the order they were asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wyoming.audio import AudioStop
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.server import AsyncEventHandler
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeTextFormat,
    SynthesizeVoice,
)

from ..errors import InvalidRequestError
from .door import WIDTH

if TYPE_CHECKING:
    from ..client import AsyncLiveSpeech
    from .door import WyomingDoor

logger = logging.getLogger("cosyvoice_clone.wyoming")


@dataclass(eq=False)
class _Stream:
    """A streaming synthesis: the text as it arrives, and whether the client said stop."""

    voice: SynthesizeVoice | None
    texts: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


class _Samples:
    """Whole 16-bit samples out of byte chunks of any length."""

    def __init__(self) -> None:
        self._odd = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._odd + chunk
        cut = len(data) - len(data) % WIDTH
        self._odd = data[cut:]
        return data[:cut]


class CosyVoiceHandler(AsyncEventHandler):
    """The events of one connection (see the module docstring)."""

    def __init__(
        self, door: WyomingDoor, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self.door = door
        self._write_lock = asyncio.Lock()
        self._jobs: list[asyncio.Task[None]] = []
        self._stream: _Stream | None = None

    # -- events ---------------------------------------------------------------------------------

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self._write((await self.door.info()).event())
        elif SynthesizeStart.is_type(event.type):
            if self._stream is not None:  # a new stream without a stop: the old one ends here
                self._end_stream()
            stream = _Stream(SynthesizeStart.from_event(event).voice)
            self._stream = stream
            self._run(lambda: self._speak_stream(stream))
        elif SynthesizeChunk.is_type(event.type):
            if self._stream is not None:
                self._stream.texts.put_nowait(SynthesizeChunk.from_event(event).text)
        elif Synthesize.is_type(event.type):
            if self._stream is None:  # inside a stream it is the compatibility copy: ignored
                request = Synthesize.from_event(event)
                self._run(lambda: self._speak_text(request))
        elif SynthesizeStop.is_type(event.type):
            self._end_stream()
        return True  # other events (audio, select-program, ...) are not ours: ignored

    async def disconnect(self) -> None:
        """The client went: stop what it asked for (the service's tasks are cancelled)."""
        self._end_stream()
        for job in self._jobs:
            job.cancel()
        for job in self._jobs:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        self._jobs.clear()

    # -- jobs -----------------------------------------------------------------------------------

    def _run(self, make: Callable[[], Awaitable[None]]) -> None:
        """Run a job after the ones already asked for (their audio must not interleave)."""
        previous = self._jobs[-1] if self._jobs else None

        async def job() -> None:
            if previous is not None:  # its outcome is its own; our cancellation still applies
                await asyncio.wait({previous})
            await make()

        task = asyncio.create_task(job(), name="cosyvoice-wyoming job")
        self._jobs.append(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._jobs.remove(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a synthesis job failed unexpectedly: %s", task.exception())

    def _end_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.texts.put_nowait(None)
            stream.stopped.set()

    async def _write(self, event: Event) -> None:
        async with self._write_lock:
            await self.write_event(event)

    async def _fail(self, exc: BaseException) -> None:
        """One ``error`` event for ``exc`` (never the key)."""
        error = self.door.error_event(exc)
        logger.info("synthesis refused or failed: %s", error.code)
        await self._write(error.event())

    async def _speak_text(self, request: Synthesize) -> None:
        """One text: audio-start, audio-chunk..., audio-stop (or one error event)."""
        door = self.door
        started = False
        asked = time.monotonic()
        try:
            if request.text_format == SynthesizeTextFormat.SSML:
                raise InvalidRequestError(
                    "this server speaks plain text; SSML is not supported here",
                    field="text_format",
                    hint="send the text without SSML markup",
                )
            voice = await door.choose(request.voice)
            audio = await door.client.stream_speech(
                request.text, voice=voice, model=door.model, format="pcm",
                sample_rate=door.sample_rate,
            )  # fmt: skip
            async with audio:
                await self._write(door.audio_start())
                started = True
                door.record_first_audio(time.monotonic() - asked)
                samples = _Samples()
                async for chunk in audio:
                    if data := samples.feed(chunk):
                        await self._write(door.audio_chunk(data))
            await self._write(AudioStop().event())
            logger.info("spoke %d characters with %s", len(request.text), audio.voice)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._fail(exc)
            if started:  # a client reading until audio-stop is not left waiting
                await self._write(AudioStop().event())

    async def _speak_stream(self, stream: _Stream) -> None:
        """Text as it arrives -> audio as it is spoken; then synthesize-stopped."""
        door = self.door
        started = False
        try:
            voice = await door.choose(stream.voice)
            live = door.client.live(
                voice=voice, model=door.model, format="pcm", sample_rate=door.sample_rate
            )
            async with live:
                feeder = asyncio.create_task(self._feed(live, stream))
                try:
                    samples = _Samples()
                    async for chunk in live.audio():
                        data = samples.feed(chunk)
                        if not data:
                            continue
                        if not started:
                            await self._write(door.audio_start())
                            started = True
                        await self._write(door.audio_chunk(data))
                    await feeder
                finally:
                    if not feeder.done():
                        feeder.cancel()
                        with contextlib.suppress(BaseException):
                            await feeder
            if started:
                await self._write(AudioStop().event())
            result = live.result
            if result.time_to_first_audio is not None:
                door.record_first_audio(result.time_to_first_audio)
            logger.info("spoke %d characters live with %s", result.text_characters, live.voice)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._fail(exc)
            if started:
                await self._write(AudioStop().event())
        await stream.stopped.wait()  # the client may still be sending chunks after a failure
        await self._write(SynthesizeStopped().event())

    @staticmethod
    async def _feed(live: AsyncLiveSpeech, stream: _Stream) -> None:
        try:
            while (text := await stream.texts.get()) is not None:
                await live.send(text)
            await live.close()
        except BaseException:
            await live.cancel()  # ends audio(): the reader sees the end, then this error
            raise


__all__ = ["CosyVoiceHandler"]
