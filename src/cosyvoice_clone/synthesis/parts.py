"""The one long-text runner: parts run concurrently, paced, retried, delivered in text order.

A text is cut at sentence boundaries into parts (:func:`~.text.split_text`; one task each).
:class:`PartRunner` runs them: up to ``concurrency`` tasks at once, never more than the shared
submission budget allows (:meth:`~.connect.Endpoint.limiter`: 3 run-tasks per second per
model, shared by every task of the process and, with a pacing home, of every process), and at
most ``2 × concurrency`` parts ahead of the one the consumer is at (a bounded reorder window).
Each part's audio goes to its :class:`PartOutput`:

- :class:`QueueOutput`: chunk by chunk to a reader (streams): the part being read streams live,
  later ones wait in memory;
- :class:`SpoolOutput`: into a spool (memory up to 1 MB, then a temporary file next to the
  output), copied into the file in order once the part is complete (files: memory does not grow
  with the audio);
- :class:`WriterOutput`: straight into a file writer (a one-part text).

Retries, one policy: a part that fails transiently (dropped connection, timeout, throttling,
InternalError; :func:`~.protocol.is_transient`) is run again from its start, after the
backoff of :data:`~cosyvoice_clone._retry.SYNTHESIS_RETRY`,
only while none of its audio has left (``PartOutput.retryable``): audio already passed on is
never spoken twice. A cancelled part is cancelled on the service (finish-task with the cancel
directive), so a caller that goes away stops paying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .. import catalog
from .._retry import SYNTHESIS_RETRY
from ..errors import CosyVoiceCloneError
from . import text as textmod
from .connect import Endpoint
from .protocol import Event, SynthesisOptions, TaskProtocol, Word, is_transient
from .stream import AsyncSpeechStream

if TYPE_CHECKING:
    from .sinks import AudioWriter

logger = logging.getLogger("cosyvoice_clone.synthesis")

SPOOL_MEMORY_BYTES = 1 << 20
"""A part keeps at most this much audio in memory before spilling to a temporary file."""
COPY_BLOCK_BYTES = 1 << 18

ProgressCallback = Callable[[int, int], None]
"""Called with (characters done, characters in total), weights as the service counts them;
half of each part counts when its audio is received, half when it is written to the file
(possibly from a worker thread)."""


def backoff(attempt: int, error: Exception) -> float:
    """Seconds to wait after failed attempt ``attempt`` (0-based) of a part: the package's one
    policy for synthesis tasks (:data:`~cosyvoice_clone._retry.SYNTHESIS_RETRY`)."""
    return SYNTHESIS_RETRY.backoff(attempt + 1, error)


# --------------------------------------------------------------------------- parts


class Part:
    """One task of a long text: its text, its messages and what the service said about it."""

    def __init__(self, index: int, text: str, ssml: bool = False) -> None:
        self.index = index
        self.text = text
        self.weight = catalog.text_weight(text)
        self.messages = textmod.split_messages(text, ssml=ssml)
        self.task_id = ""
        self.characters = 0
        self.words: list[Word] = []
        self.progress = 0
        self.first_audio: float | None = None
        self.attempts = 0
        self.done: asyncio.Future[None] | None = None


def make_parts(
    text: str, concurrency: int, part_weight: int | None, ssml: bool = False
) -> list[Part]:
    """``text`` cut into parts sized to keep ``concurrency`` tasks busy."""
    weight = part_weight or textmod.part_weight_for(catalog.text_weight(text), concurrency)
    return [Part(i, t, ssml) for i, t in enumerate(textmod.split_text(text, weight, ssml=ssml))]


class PartOutput:
    """Where one part's audio goes (see the module docstring)."""

    @property
    def retryable(self) -> bool:
        """Whether the part may run again (none of its audio has left)."""
        return True

    def begin(self) -> Callable[[bytes], None]:
        """A new attempt starts: the function its audio chunks are given to."""
        raise NotImplementedError

    def undo(self) -> None:
        """The attempt failed: forget its audio."""

    def end(self, error: BaseException | None) -> None:
        """The part is over: complete (``None``) or failed for good."""

    def close(self) -> None:
        """Release what the output holds."""


class QueueOutput(PartOutput):
    """Chunks for a reader (:meth:`chunks`), as they arrive."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self.consumed = False

    @property
    def retryable(self) -> bool:
        return not self.consumed

    def begin(self) -> Callable[[bytes], None]:
        while not self.queue.empty():  # nothing of it was read: start it again
            self.queue.get_nowait()
        return self.queue.put_nowait

    def end(self, error: BaseException | None) -> None:
        self.queue.put_nowait(error)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The part's audio until it ended; its error if it failed."""
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            self.consumed = True
            yield item


class SpoolOutput(PartOutput):
    """A spool (memory, then a temporary file in ``directory``) copied out once complete."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.spool: IO[bytes] | None = None
        self.pcm_bytes = 0

    def begin(self) -> Callable[[bytes], None]:
        self.close()
        spool = self.spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed in close
            max_size=SPOOL_MEMORY_BYTES, mode="w+b", dir=str(self.directory)
        )
        self.pcm_bytes = 0

        def write(chunk: bytes) -> None:
            spool.write(chunk)
            self.pcm_bytes += len(chunk)

        return write

    def undo(self) -> None:
        self.close()

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None

    def copy_to(self, writer: AudioWriter, on_block: Callable[[int], None] | None = None) -> None:
        """Append the spool to ``writer`` (in a worker thread; under the writer's lock, so a
        discard from the event loop waits for the copy to end)."""
        spool = self.spool
        with writer.lock:
            if writer.closed or spool is None or spool.closed:
                return
            spool.seek(0)
            copied = 0
            while True:
                block = spool.read(COPY_BLOCK_BYTES)
                if not block:
                    return
                writer.write(block)
                copied += len(block)
                if on_block is not None:
                    on_block(copied)


class WriterOutput(PartOutput):
    """Straight into a file writer; a failed attempt is rewound."""

    def __init__(self, writer: AudioWriter) -> None:
        self.writer = writer
        self.mark = writer.mark()

    def begin(self) -> Callable[[bytes], None]:
        return self.writer.write

    def undo(self) -> None:
        self.writer.rewind(self.mark)


# --------------------------------------------------------------------------- progress


class Progress:
    """Characters done: half for the audio received, half for the audio written to the file.

    A long text's parts arrive out of order and are written (for mp3/opus: encoded) in order,
    and encoding can be slower than receiving: counting only what was received would show
    100% while the file is still being written. When one task streams straight into the file
    (``direct``), received is written.
    """

    def __init__(self, total: int, callback: ProgressCallback | None, direct: bool = False) -> None:
        self.total = total
        self.callback = callback
        self.received: dict[int, float] = {}
        self.written: dict[int, float] = {}
        self.reported = 0
        self.direct = direct
        self.lock = threading.Lock()

    def set(self, index: int, done: int) -> None:
        """Characters of part ``index`` received so far."""
        self._update(self.received, index, done, also_written=self.direct)

    def wrote(self, index: int, done: float) -> None:
        """Characters of part ``index`` written to the file so far."""
        self._update(self.written, index, done)

    def _update(
        self, table: dict[int, float], index: int, done: float, also_written: bool = False
    ) -> None:
        with self.lock:  # callbacks in order, never going back (a retried part may)
            table[index] = done
            if also_written:
                self.written[index] = done
            value = (sum(self.received.values()) + sum(self.written.values())) / 2
            self.reported = max(self.reported, min(self.total, int(value + 1e-6)))
            if self.callback is not None:
                self.callback(self.reported, self.total)


# --------------------------------------------------------------------------- the runner


class PartRunner:
    """Runs the parts of one text (see the module docstring)."""

    def __init__(
        self,
        endpoint: Endpoint,
        parts: list[Part],
        *,
        model: str,
        voice: str,
        options: SynthesisOptions,
        wire_format: str,
        concurrency: int,
        retries: int,
        progress: Progress | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.parts = parts
        self.model = model
        self.voice = voice
        self.options = options
        self.wire_format = wire_format
        self.concurrency = max(1, concurrency)
        self.retries = retries
        self.progress = progress
        self.limiter = endpoint.limiter(model)
        self.retried = 0
        self._failure: asyncio.Future[None] | None = None
        self._ahead = asyncio.Semaphore(self.concurrency * 2)
        self._launcher: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def _set_progress(self, part: Part, done: int) -> None:
        if self.progress is not None:
            self.progress.set(part.index, done)

    def _stream(self, part: Part) -> AsyncSpeechStream:
        protocol = TaskProtocol(
            model=self.model, voice=self.voice, options=self.options, wire_format=self.wire_format
        )
        part.task_id = protocol.task_id

        def on_event(event: Event) -> None:
            if event.kind == "sentence-end":
                part.progress += catalog.text_weight(event.text)
                self._set_progress(part, min(part.weight, part.progress))

        return AsyncSpeechStream(
            self.endpoint, protocol, part.messages, limiter=self.limiter, on_event=on_event
        )

    async def run_part(self, part: Part, out: PartOutput) -> None:
        """Run ``part`` into ``out``, retried under the one policy; raises its final error."""
        for attempt in range(self.retries + 1):
            write = out.begin()
            part.attempts += 1
            part.progress = 0
            self._set_progress(part, 0)
            stream = self._stream(part)
            try:
                async for chunk in stream:
                    if part.first_audio is None:
                        part.first_audio = time.monotonic()
                    write(chunk)
                part.words = list(stream.words)
                part.characters = stream.characters or part.weight
                self._set_progress(part, part.weight)
                return
            except asyncio.CancelledError:
                await stream.cancel(timeout=2.0)  # stop the task on the service
                raise
            except CosyVoiceCloneError as error:
                out.undo()
                if not out.retryable or not is_transient(error) or attempt == self.retries:
                    raise
                self.retried += 1
                delay = backoff(attempt, error)
                logger.info("part %d failed (%s); retrying in %.1f s", part.index, error, delay)
                await asyncio.sleep(delay)
            finally:
                await stream.aclose()

    # -- many parts at once ---------------------------------------------------------------------

    def start(self, outputs: list[PartOutput]) -> None:
        """Launch the parts in order into ``outputs`` (one each); read them in order and call
        :meth:`release` after each."""
        loop = asyncio.get_running_loop()
        self._failure = loop.create_future()
        for part in self.parts:
            part.done = loop.create_future()
        self._launcher = asyncio.create_task(self._launch(outputs))

    async def _launch(self, outputs: list[PartOutput]) -> None:
        running = asyncio.Semaphore(self.concurrency)
        for part, out in zip(self.parts, outputs, strict=True):
            await self._ahead.acquire()
            await running.acquire()
            task = asyncio.create_task(self._run(part, out))
            task.add_done_callback(lambda _t: running.release())
            self._tasks.append(task)

    async def _run(self, part: Part, out: PartOutput) -> None:
        assert part.done is not None and self._failure is not None
        try:
            await self.run_part(part, out)
        except asyncio.CancelledError:
            # A cancelled future is never reported as "exception never retrieved".
            if not part.done.done():
                part.done.cancel()
            raise
        except Exception as exc:  # never leave the reader waiting
            out.end(exc)
            if not part.done.done():
                part.done.set_exception(exc)
            if not self._failure.done():
                self._failure.set_exception(exc)
            return
        out.end(None)
        if not part.done.done():
            part.done.set_result(None)

    async def wait(self, part: Part) -> None:
        """Wait until ``part`` is complete; raises its error, or that of a later part that
        already failed for good."""
        assert part.done is not None and self._failure is not None
        await asyncio.wait({part.done, self._failure}, return_when=asyncio.FIRST_COMPLETED)
        if not part.done.done():
            await self._failure  # raises the failure
        await part.done

    def release(self) -> None:
        """The reader is done with one part: one more may start."""
        self._ahead.release()

    async def aclose(self) -> None:
        """Cancel what still runs (the service stops those tasks) and wait for it to end."""
        running = [t for t in [self._launcher, *self._tasks] if t is not None and not t.done()]
        for task in running:
            task.cancel()
        try:
            if running:
                # Shielded: a frontend cancelled by its client disconnecting still cleans up.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(asyncio.gather(*running, return_exceptions=True))
        finally:
            futures = [self._failure, *(p.done for p in self.parts)]
            for future in futures:
                if future is None:
                    continue
                if future.done() and not future.cancelled():
                    future.exception()  # mark retrieved
                elif not future.done():
                    future.cancel()


__all__ = [
    "COPY_BLOCK_BYTES",
    "SPOOL_MEMORY_BYTES",
    "Part",
    "PartOutput",
    "PartRunner",
    "Progress",
    "ProgressCallback",
    "QueueOutput",
    "SpoolOutput",
    "WriterOutput",
    "backoff",
    "make_parts",
]
