"""Speech as one ordered stream of bytes, for a text of any length (``open_speech``).

What a streaming frontend (the OpenAI-compatible server) needs from the engine:

- a short text is one task whose audio is passed on as the service produces it, in the service's
  own container (``pcm``, ``wav``, ``mp3``, ``opus``);
- a long text is cut at sentence boundaries into parts (:func:`~.text.split_text`); up to
  ``concurrency`` parts run at once (paced by the process-wide 3 tasks/s/model limiter), each asks
  for raw PCM, and the parts are emitted strictly in text order: the first part streams live, the
  later ones are held in memory until their turn (at most ``2 × concurrency`` parts ahead). The
  PCM is then wrapped (``wav``: a streaming header with unknown sizes) or encoded block by block
  (``mp3``, ``opus``: libsndfile) so that the client gets one valid stream;
- ``flac`` and ``aac`` are not produced by the service: they are transcoded from PCM once the
  synthesis has ended. FLAC's STREAMINFO header carries the total length, which a stream cannot
  know in advance, and a FLAC written without it fails in libsndfile-based readers (tried:
  ``psf_fseek() failed``); AAC (ADTS) needs PyAV, installed with the ``m4a`` extra. So these two
  arrive in one piece, after the synthesis.
- a part that fails transiently (dropped connection, timeout, throttling, InternalError) is
  retried from its start as long as none of its audio has been emitted yet;
- :meth:`SpeechChunks.aclose` (or leaving the iteration early) cancels every running task on the
  service (``finish-task`` with the cancel directive), so a client that goes away stops paying.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from typing import Any

from .. import catalog
from ..audio.wav import wav_header
from ..errors import CosyVoiceCloneError, InvalidRequestError
from ..extras import install_hint
from . import text as textmod
from .client import AsyncSpeechStream, AsyncSynthesizer, _backoff, submission_limiter
from .protocol import SynthesisOptions, TaskProtocol, check_instruction, is_transient

TRANSCODED_FORMATS = ("flac", "aac")
"""Formats the service does not produce: transcoded from PCM after the synthesis."""
STREAM_FORMATS = (*catalog.AUDIO_FORMATS, *TRANSCODED_FORMATS)


CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def check_stream_format(fmt: str) -> str:
    """``fmt`` if :func:`open_speech` can produce it; ``aac`` also needs PyAV (the m4a extra)."""
    if fmt not in STREAM_FORMATS:
        raise InvalidRequestError(
            f"unsupported format {fmt!r}",
            field="format",
            value=fmt,
            allowed=", ".join(STREAM_FORMATS),
            hint="use one of: " + ", ".join(STREAM_FORMATS),
        )
    if fmt == "aac":
        try:
            import av  # noqa: F401
        except ImportError:
            raise InvalidRequestError(
                "the aac format needs PyAV, which is not installed",
                field="format",
                value=fmt,
                hint=f"install it with `{install_hint('m4a')}`, or ask for mp3, "
                "opus, flac, wav or pcm",
            ) from None
    return fmt


# --------------------------------------------------------------------------- encoders


class _Sink:
    """A write-only file for libsndfile: bytes are taken out as they come; an encoder's late
    rewrite of a header already taken is dropped (the stream has left)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.taken = 0
        self.pos = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        end = self.pos + len(chunk)
        start = max(self.pos, self.taken)
        if end > start:
            self.data[start - self.taken : end - self.taken] = chunk[start - self.pos :]
        self.pos = end
        return len(chunk)

    def seek(self, offset: int, whence: int = 0) -> int:
        size = self.taken + len(self.data)
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else size + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, size: int = -1) -> bytes:
        return b""

    def take(self) -> bytes:
        out = bytes(self.data)
        self.taken += len(out)
        self.data.clear()
        return out


class _Encoder:
    """Turns the chunks of the wire format into the chunks of the output format."""

    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def finish(self) -> bytes:
        return b""

    def close(self) -> None:
        return None


class _Wav(_Encoder):
    def __init__(self, sample_rate: int) -> None:
        self.header = wav_header(sample_rate, 0xFFFFFFFF)  # sizes unknown while streaming

    def feed(self, chunk: bytes) -> bytes:
        header, self.header = self.header, b""
        return header + chunk


class _Pcm16:
    """Whole 16-bit samples out of arbitrary byte chunks."""

    def __init__(self) -> None:
        self.carry = b""

    def samples(self, chunk: bytes) -> Any:
        import numpy as np

        data = self.carry + chunk
        usable = len(data) - len(data) % 2
        self.carry = data[usable:]
        return np.frombuffer(data[:usable], dtype="<i2")


class _Libsndfile(_Encoder):
    """PCM encoded block by block by libsndfile (mp3, Ogg/Opus)."""

    def __init__(self, fmt: str, sample_rate: int) -> None:
        import soundfile as sf

        kwargs: dict[str, Any] = (
            # constant bit rate: readers that size an mp3 without its (unsent) LAME tag,
            # e.g. libsndfile, then measure it right
            {"format": "MP3", "subtype": "MPEG_LAYER_III", "bitrate_mode": "CONSTANT",
             "compression_level": 0.5}
            if fmt == "mp3"
            else {"format": "OGG", "subtype": "OPUS"}
        )
        self.sink = _Sink()
        self.pcm = _Pcm16()
        self.file = sf.SoundFile(self.sink, "w", samplerate=sample_rate, channels=1, **kwargs)

    def feed(self, chunk: bytes) -> bytes:
        samples = self.pcm.samples(chunk)
        if samples.size:
            self.file.write(samples)
        return self.sink.take()

    def finish(self) -> bytes:
        self.file.close()
        return self.sink.take()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.file.close()


class _Transcoded(_Encoder):
    """PCM kept until the end, then encoded in one piece (flac via libsndfile, aac via PyAV)."""

    def __init__(self, fmt: str, sample_rate: int) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.pcm = bytearray()

    def feed(self, chunk: bytes) -> bytes:
        self.pcm += chunk
        return b""

    def finish(self) -> bytes:
        import numpy as np

        samples = np.frombuffer(bytes(self.pcm[: len(self.pcm) - len(self.pcm) % 2]), "<i2")
        if self.fmt == "flac":
            import soundfile as sf

            out = io.BytesIO()
            sf.write(out, samples, self.sample_rate, format="FLAC", subtype="PCM_16")
            return out.getvalue()
        return _encode_aac(samples, self.sample_rate)


def _encode_aac(samples: Any, sample_rate: int) -> bytes:
    """AAC-LC in an ADTS stream (what OpenAI's ``aac`` is), with PyAV."""
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="adts") as container:
        stream: Any = container.add_stream("aac", rate=sample_rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _encoder_for(fmt: str, wire: str, sample_rate: int) -> _Encoder:
    if fmt == wire:
        return _Encoder()
    if fmt in TRANSCODED_FORMATS:
        return _Transcoded(fmt, sample_rate)
    if fmt == "wav":
        return _Wav(sample_rate)
    return _Libsndfile(fmt, sample_rate)


# --------------------------------------------------------------------------- the stream


class _Part:
    def __init__(self, index: int, text: str) -> None:
        self.index = index
        self.weight = catalog.text_weight(text)
        self.messages = textmod.split_messages(text)
        self.queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self.consumed = False
        self.task_id = ""
        self.characters = 0


class SpeechChunks:
    """The audio of one text as an async iterator of bytes, in order (see the module docstring).

    ``async for chunk in chunks: ...``; afterwards ``request_ids``, ``characters``,
    ``time_to_first_audio``. Errors are the library's (:class:`~cosyvoice_clone.errors`).
    Leaving the loop early or :meth:`aclose` cancels the tasks on the service.
    """

    def __init__(
        self,
        synth: AsyncSynthesizer,
        parts: list[str],
        *,
        voice: str,
        model: str,
        options: SynthesisOptions,
        output_format: str,
        concurrency: int,
        retries: int,
    ) -> None:
        self.endpoint = synth.endpoint
        self.voice = voice
        self.model = model
        self.options = options
        self.format = output_format
        self.sample_rate = options.sample_rate
        self.parts = [_Part(i, t) for i, t in enumerate(parts)]
        self.wire = output_format if len(parts) == 1 and output_format == options.format else "pcm"
        self.concurrency = concurrency
        self.retries = retries
        self.limiter = submission_limiter(
            self.endpoint.url, model, self.endpoint.tasks_per_second, self.endpoint.pacing_home
        )
        self.started_at = time.monotonic()
        self.time_to_first_audio: float | None = None
        self.retried = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._launcher: asyncio.Task[None] | None = None
        self._ahead = asyncio.Semaphore(max(1, concurrency) * 2)

    @property
    def request_ids(self) -> list[str]:
        """Task ids of the parts started so far, in text order (the ids to quote to support)."""
        return [p.task_id for p in self.parts if p.task_id]

    @property
    def characters(self) -> int:
        """Characters billed so far (the service's count)."""
        return sum(p.characters for p in self.parts)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        self.started_at = time.monotonic()
        encoder = _encoder_for(self.format, self.wire, self.sample_rate)
        self._launcher = asyncio.create_task(self._launch())
        try:
            for part in self.parts:
                while True:
                    item = await part.queue.get()
                    if item is None:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    part.consumed = True
                    out = encoder.feed(item)
                    if out:
                        if self.time_to_first_audio is None:
                            self.time_to_first_audio = time.monotonic() - self.started_at
                        yield out
                self._ahead.release()
            tail = await asyncio.to_thread(encoder.finish)
            if tail:
                if self.time_to_first_audio is None:
                    self.time_to_first_audio = time.monotonic() - self.started_at
                yield tail
        finally:
            encoder.close()
            await self.aclose()

    async def _launch(self) -> None:
        running = asyncio.Semaphore(max(1, self.concurrency))
        for part in self.parts:
            await self._ahead.acquire()
            await running.acquire()
            task = asyncio.create_task(self._run_part(part))
            task.add_done_callback(lambda _t: running.release())
            self._tasks.append(task)

    async def _run_part(self, part: _Part) -> None:
        for attempt in range(self.retries + 1):
            protocol = TaskProtocol(
                model=self.model, voice=self.voice, options=self.options, wire_format=self.wire
            )
            part.task_id = protocol.task_id
            stream = AsyncSpeechStream(self.endpoint, protocol, part.messages, limiter=self.limiter)
            try:
                async for chunk in stream:
                    part.queue.put_nowait(chunk)
                part.characters = stream.characters or part.weight
                part.queue.put_nowait(None)
                return
            except asyncio.CancelledError:
                await stream.cancel(timeout=2.0)  # stop the task on the service
                raise
            except CosyVoiceCloneError as error:
                if part.consumed or not is_transient(error) or attempt == self.retries:
                    part.queue.put_nowait(error)
                    return
                while not part.queue.empty():  # nothing of it was emitted: start it again
                    part.queue.get_nowait()
                self.retried += 1
                await asyncio.sleep(_backoff(attempt, error))
            except Exception as exc:  # never leave the reader waiting
                part.queue.put_nowait(exc)
                return
            finally:
                await stream.aclose()

    async def aclose(self) -> None:
        """Cancel what still runs (the service stops those tasks) and wait for it to end."""
        running = [t for t in [self._launcher, *self._tasks] if t is not None and not t.done()]
        for task in running:
            task.cancel()
        if running:
            # Shielded: a frontend cancelled by its client disconnecting still cleans up.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(asyncio.gather(*running, return_exceptions=True))


def open_speech(
    synth: AsyncSynthesizer,
    text: str,
    *,
    voice: str,
    model: str | None = None,
    target_model: str | None = None,
    output_format: str = "mp3",
    sample_rate: int = 24000,
    rate: float = 1.0,
    instruction: str | None = None,
    concurrency: int = 4,
    retries: int = 2,
    part_weight: int | None = None,
    volume: int = 50,
    pitch: float = 1.0,
) -> SpeechChunks:
    """Validate everything (nothing is sent) and return the ordered audio stream of ``text``.

    ``model`` defaults to the voice's own (``target_model``, or read from the voice id); a
    different one is refused (:func:`~.protocol.guard_model`). ``output_format`` is one of
    :data:`STREAM_FORMATS`.
    """
    fmt = check_stream_format(output_format)
    wire_format = fmt if fmt in catalog.AUDIO_FORMATS else "pcm"
    options = SynthesisOptions(
        format=wire_format,
        sample_rate=sample_rate,
        rate=rate,
        volume=volume,
        pitch=pitch,
        instruction=instruction or None,
    )
    chosen = synth._prepare(text, voice, model, target_model, options)  # checks instruction
    if concurrency < 1:
        raise InvalidRequestError("concurrency must be at least 1", field="concurrency")
    total = catalog.text_weight(text)
    weight = part_weight or textmod.part_weight_for(total, concurrency)
    return SpeechChunks(
        synth,
        textmod.split_text(text, weight),
        voice=voice,
        model=chosen,
        options=options,
        output_format=fmt,
        concurrency=concurrency,
        retries=retries,
    )


__all__ = [
    "CONTENT_TYPES",
    "STREAM_FORMATS",
    "TRANSCODED_FORMATS",
    "SpeechChunks",
    "check_instruction",
    "check_stream_format",
    "open_speech",
]
