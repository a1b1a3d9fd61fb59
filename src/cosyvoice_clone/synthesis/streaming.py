"""Speech as one ordered stream of bytes, for a text of any length (``open_speech``).

What a streaming frontend (the OpenAI-compatible server) needs from the engine:

- a short text is one task whose audio is passed on as the service produces it, in the service's
  own container (``pcm``, ``wav``, ``mp3``, ``opus``);
- a long text is cut at sentence boundaries into parts run by :class:`~.parts.PartRunner` (up
  to ``concurrency`` at once, paced by the shared 3 tasks/s/model limiter), each asks for raw
  PCM, and the parts are emitted strictly in text order: the first part streams live, the later
  ones are held in memory until their turn (at most ``2 × concurrency`` parts ahead). The PCM is
  then wrapped or encoded (:mod:`.encode`) so that the client gets one valid stream;
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
import time
from collections.abc import AsyncIterator

from .. import catalog
from ..errors import InvalidRequestError
from ..extras import install_hint
from .client import AsyncSynthesizer
from .encode import STREAM_FORMATS, TRANSCODED_FORMATS, encoder_for
from .parts import Part, PartOutput, PartRunner, QueueOutput, make_parts
from .protocol import SynthesisOptions, check_instruction

CONTENT_TYPES = catalog.MIME_TYPES
"""The media type of each output format (``catalog.MIME_TYPES``)."""


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


# --------------------------------------------------------------------------- the stream


class SpeechChunks:
    """The audio of one text as an async iterator of bytes, in order (see the module docstring).

    ``async for chunk in chunks: ...``; afterwards ``request_ids``, ``characters``,
    ``time_to_first_audio``. Errors are the library's (:class:`~cosyvoice_clone.errors`).
    Leaving the loop early or :meth:`aclose` cancels the tasks on the service.
    """

    def __init__(
        self,
        synth: AsyncSynthesizer,
        parts: list[Part] | list[str],
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
        self.parts = [p if isinstance(p, Part) else Part(i, str(p)) for i, p in enumerate(parts)]
        self.wire = output_format if len(parts) == 1 and output_format == options.format else "pcm"
        self.concurrency = concurrency
        self.retries = retries
        self.runner = PartRunner(
            self.endpoint, self.parts, model=model, voice=voice, options=options,
            wire_format=self.wire, concurrency=concurrency, retries=retries,
        )  # fmt: skip
        self.limiter = self.runner.limiter
        self.started_at = time.monotonic()
        self.time_to_first_audio: float | None = None

    @property
    def retried(self) -> int:
        """Parts run again after a transient failure."""
        return self.runner.retried

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

    def _first(self) -> None:
        if self.time_to_first_audio is None:
            self.time_to_first_audio = time.monotonic() - self.started_at

    async def _iterate(self) -> AsyncIterator[bytes]:
        self.started_at = time.monotonic()
        encoder = encoder_for(self.format, self.sample_rate, self.wire)
        queues = [QueueOutput() for _ in self.parts]
        outputs: list[PartOutput] = list(queues)
        self.runner.start(outputs)
        try:
            for queue in queues:
                async for chunk in queue.chunks():
                    out = encoder.feed(chunk)
                    if out:
                        self._first()
                        yield out
                self.runner.release()
            tail = await asyncio.to_thread(encoder.finish)
            if tail:
                self._first()
                yield tail
        finally:
            encoder.close()
            await self.aclose()

    async def aclose(self) -> None:
        """Cancel what still runs (the service stops those tasks) and wait for it to end."""
        await self.runner.aclose()


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
    return SpeechChunks(
        synth,
        make_parts(text, concurrency, part_weight),
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
