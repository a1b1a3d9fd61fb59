"""Live speech: text that arrives over time in, audio out as the service makes it.

:class:`AsyncLiveSpeech` (and its sync face :class:`LiveSpeech`) keep one synthesis task open
and feed it ``continue-task`` messages as text arrives::

    async with cv.live(voice="myvoice", format="pcm", sample_rate=24000) as live:
        async def feed():
            async for token in llm_tokens():
                await live.send(token)
            await live.close()          # no more text: the rest is spoken, then audio() ends
        feeder = asyncio.create_task(feed())
        async for chunk in live.audio():
            play(chunk)

- **Units.** :meth:`~AsyncLiveSpeech.send` takes any size, down to single tokens. The first
  text of a task is sent at once (the service's first-audio delay then runs while the rest of
  the sentence arrives: measured in ``benchmarks/live.py``); after that, text is held
  until a sentence end (``。！？!?;…`` or a newline at once; ``.`` once whitespace follows it,
  so ``3.5`` is not cut) or, for a long sentence, a clause mark (``,，、:：—``), and then sent
  as one continue-task: the service gets natural units. :meth:`~AsyncLiveSpeech.flush` sends
  what is held and asks the service to speak it now (``{"flush": true}``, the SDK's
  ``streaming_flush``).
- **Limits.** A message never exceeds 20,000 and a task 200,000 characters as the service counts
  them (CJK 2; docs/protocol.md, "Limits"). Text that would overflow the task goes to a new
  task; the service is always asked for raw PCM and the session wraps (wav: a streaming header)
  or encodes (mp3, opus) it itself, so the output is one valid stream across tasks, without a
  gap.
- **Idle.** The service fails a task after 23 s without text (docs/protocol.md, "Limits"). A
  task that got no text for ``idle_timeout`` seconds (18 by default) is finished on our side and
  the next text opens a new task, transparently.
- **Word timings.** With ``word_timestamps=True``, :meth:`~AsyncLiveSpeech.timed_audio` yields
  the audio chunks and, after each sentence's audio, its :class:`~.protocol.Word` timings in
  milliseconds from the start of the session's audio (across tasks).
- **End.** :meth:`~AsyncLiveSpeech.close` ends the input (leaving the ``async with`` block
  normally does too, and waits for the audio); :meth:`~AsyncLiveSpeech.cancel` (or an exception
  in the block) stops every task on the service at once (``finish-task`` with the cancel
  directive).

The voice rules (deleted, not OK, model binding) are applied by the client before anything
connects. :func:`speak_live` runs a session from a text source into sinks (a file written
atomically, a binary stream such as stdout, the speakers): what ``speak --stream`` uses.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import threading
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
)
from dataclasses import dataclass, field, replace
from typing import IO, Any

from .. import catalog
from .._loop import LoopThread
from ..errors import CosyVoiceCloneError, InvalidRequestError
from ..models import LiveResult
from ..play import PLAY_HINT, PlaySink
from . import text as textmod
from .client import AsyncSynthesizer
from .encode import encoder_for
from .parts import QueueOutput
from .protocol import Event, SynthesisOptions, TaskProtocol, Word, check_text
from .sinks import AudioSink, FileSink, StreamSink
from .stream import AsyncSpeechStream
from .text import CLAUSE_WEIGHT, TextChunker

IDLE_FINISH_S = catalog.SYNTHESIS_IDLE_TIMEOUT_S - 5.0
"""A task without text for this long is finished by us before the service times it out."""

Resolver = Callable[[], Awaitable[tuple[str, str, "str | None"]]]
"""Returns (voice id, model, the voice's target model) once the voice rules passed."""


# --------------------------------------------------------------------------- the session


@dataclass(eq=False)
class _LiveTask:
    stream: AsyncSpeechStream
    opened: float
    out: QueueOutput = field(default_factory=QueueOutput)
    weight: int = 0
    last_sent: float = 0.0
    input_open: bool = True
    finished: bool = False
    reader: asyncio.Task[None] | None = None


class AsyncLiveSpeech:
    """One live speech session (see the module docstring). Made by ``AsyncCosyVoice.live``.

    ``max_message_weight`` / ``max_task_weight`` lower the service's limits (tests);
    ``idle_timeout`` is how long a task may go without text before it is finished and the next
    text opens a new one.
    """

    def __init__(
        self,
        synth: AsyncSynthesizer,
        resolve: Resolver,
        *,
        options: SynthesisOptions,
        max_message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
        max_task_weight: int = catalog.MAX_CHARS_PER_TASK,
        idle_timeout: float = IDLE_FINISH_S,
        clause_weight: int = CLAUSE_WEIGHT,
    ) -> None:
        if max_message_weight < 1 or max_task_weight < 1:
            raise InvalidRequestError("the message and task limits must be positive")
        self.endpoint = synth.endpoint
        self._resolve = resolve
        self.format = options.format
        self.sample_rate = options.sample_rate
        self.word_timestamps = options.word_timestamps
        self._wire_options = replace(options, format="pcm")
        self.message_weight = min(max_message_weight, catalog.MAX_CHARS_PER_MESSAGE)
        self.task_weight = min(max_task_weight, catalog.MAX_CHARS_PER_TASK)
        self.idle_timeout = idle_timeout
        self._chunker = TextChunker(
            clause_weight=clause_weight, message_weight=min(self.message_weight, self.task_weight)
        )
        self.voice = ""
        self.model = ""
        self._lock = asyncio.Lock()
        self._order: asyncio.Queue[_LiveTask | None] = asyncio.Queue()
        self._tasks: list[_LiveTask] = []
        self._current: _LiveTask | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._limiter: Any = None
        self._opened = False
        self._closed = False
        self._cancelled = False
        self._error: BaseException | None = None
        self._error_seen = False
        self._audio_taken = False
        self._first_text: float | None = None
        self._first_audio: float | None = None
        self._pcm_bytes = 0
        self._out_bytes = 0
        self._sent_weight = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncLiveSpeech:
        await self.open()
        return self

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            await self.cancel()
            return
        try:
            await self.close()
            await self.wait()
        except BaseException:
            await self.cancel()
            raise

    async def open(self) -> None:
        """Apply the voice rules, then open the first task (connect, run-task, task-started)."""
        if self._opened:
            return
        self._opened = True
        self.voice, self.model, _ = await self._resolve()
        self._limiter = self.endpoint.limiter(self.model)
        await self._open_task()
        self._watchdog = asyncio.create_task(self._watch_idle())

    async def send(self, text: str) -> None:
        """Add text (any size); complete units go to the service at once."""
        self._check_usable()
        if not text:
            return
        check_text(text)  # a control character is refused, as for every other text
        if self._first_text is None:
            self._first_text = time.monotonic()
        async with self._lock:
            units = self._chunker.push(text)
            task = self._current
            if not units and (task is None or not task.weight) and self._chunker.pending.strip():
                # The first text of a task goes at once: the service starts working on it (its
                # first-audio delay runs while the rest of the sentence arrives).
                units = self._chunker.flush()
            for unit in units:
                await self._submit(unit)

    async def flush(self) -> None:
        """Send the held text and ask the service to speak it now, sentence end or not."""
        self._check_usable()
        async with self._lock:
            for unit in self._chunker.flush():
                await self._submit(unit)
            task = self._current
            if task is not None and task.weight:
                await task.stream.flush()
                task.last_sent = time.monotonic()

    async def close(self) -> None:
        """End the input: the held text is sent, the service speaks the rest, audio() ends."""
        if self._closed:
            return
        self._check_usable()
        async with self._lock:
            for unit in self._chunker.flush():
                await self._submit(unit)
            if self._current is not None:
                await self._end(self._current)
            self._closed = True
            self._order.put_nowait(None)
        await self._stop_watchdog()

    async def wait(self) -> LiveResult:
        """Wait until every task finished (the audio stays queued for :meth:`audio`)."""
        readers = [t.reader for t in self._tasks if t.reader is not None]
        if readers:
            await asyncio.gather(*readers, return_exceptions=True)
        if self._error is not None and not self._error_seen:
            self._error_seen = True
            raise self._error
        return self.result

    async def cancel(self) -> None:
        """Stop at once: every running task is cancelled on the service; audio() ends."""
        if self._cancelled:
            return
        self._cancelled = True
        self._closed = True
        await asyncio.shield(self._cancel_all())

    async def _cancel_all(self) -> None:
        await self._stop_watchdog()
        for task in self._tasks:
            reader = task.reader
            if reader is not None and not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            if not task.finished:
                await task.stream.cancel(timeout=2.0)
            await task.stream.aclose()
            task.out.end(None)
        self._order.put_nowait(None)

    # -- audio ----------------------------------------------------------------------------------

    async def audio(self) -> AsyncIterator[bytes]:
        """The audio in ``format``, in order, as it arrives; ends after :meth:`close` once
        everything was spoken (or at :meth:`cancel`). Iterate it once."""
        items = self.timed_audio()
        try:
            async for item in items:
                if isinstance(item, bytes):
                    yield item
        finally:
            await items.aclose()  # at once, not when collected (its encoder is closed there)

    async def timed_audio(self) -> AsyncGenerator[bytes | Word, None]:
        """:meth:`audio`, with each sentence's word timings (``word_timestamps=True``) after
        its audio, in milliseconds from the start of the session's audio. Iterate it (or
        :meth:`audio`) once."""
        if self._audio_taken:
            raise RuntimeError("audio() of a live session can be iterated only once")
        self._audio_taken = True
        encoder = encoder_for(self.format, self.sample_rate)
        pcm_before = 0  # the audio of the earlier tasks: their words' offset
        try:
            while not self._cancelled:
                task = await self._order.get()
                if task is None:
                    break
                offset_ms, seen = pcm_before * 1000 // (2 * self.sample_rate), 0
                try:
                    async for chunk in task.out.chunks():
                        if self._cancelled:
                            break
                        while seen < len(task.stream.words):  # more may come while we yield
                            seen += 1
                            yield _moved(task.stream.words[seen - 1], offset_ms)
                        pcm_before += len(chunk)
                        out = encoder.feed(chunk) if chunk else b""
                        if out:
                            self._out_bytes += len(out)
                            yield out
                    while seen < len(task.stream.words) and not self._cancelled:
                        seen += 1
                        yield _moved(task.stream.words[seen - 1], offset_ms)
                except Exception:
                    self._error_seen = True
                    raise
            if not self._cancelled:
                tail = encoder.finish()
                if tail:
                    self._out_bytes += len(tail)
                    yield tail
        finally:
            encoder.close()

    @property
    def result(self) -> LiveResult:
        """What was spoken so far."""
        firsts = self._first_audio
        return LiveResult(
            voice=self.voice,
            model=self.model,
            format=self.format,
            sample_rate=self.sample_rate,
            duration=self._pcm_bytes / 2 / self.sample_rate,
            characters=sum(t.stream.characters for t in self._tasks),
            text_characters=self._sent_weight,
            tasks=sum(1 for t in self._tasks if t.weight),
            request_ids=tuple(t.stream.task_id for t in self._tasks if t.weight),
            time_to_first_audio=(
                None if firsts is None or self._first_text is None else firsts - self._first_text
            ),
            bytes=self._out_bytes,
            cancelled=self._cancelled,
        )

    # -- internals ------------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if not self._opened:
            raise RuntimeError("open the live session first (async with ... as live)")
        if self._error is not None:
            self._error_seen = True
            raise self._error
        if self._closed:
            raise RuntimeError("the live session is closed")

    async def _open_task(self) -> _LiveTask:
        protocol = TaskProtocol(
            model=self.model, voice=self.voice, options=self._wire_options, wire_format="pcm"
        )
        stream = AsyncSpeechStream(self.endpoint, protocol, [], limiter=self._limiter)
        try:
            await stream.start()
        except BaseException:
            await stream.aclose()
            raise
        now = time.monotonic()
        task = _LiveTask(stream=stream, opened=now, last_sent=now)
        if self.word_timestamps:
            # A sentence's words come with its sentence-end: wake the reader of timed_audio().
            def words_arrived(event: Event, out: QueueOutput = task.out) -> None:
                if event.words:
                    out.queue.put_nowait(b"")

            stream.on_event = words_arrived
        task.reader = asyncio.create_task(self._read(task))
        self._tasks.append(task)
        self._order.put_nowait(task)
        self._current = task
        return task

    async def _read(self, task: _LiveTask) -> None:
        try:
            async for chunk in task.stream.receive(patient=lambda: task.input_open):
                if self._first_audio is None:
                    self._first_audio = time.monotonic()
                self._pcm_bytes += len(chunk)
                task.out.queue.put_nowait(chunk)
            task.finished = True
            task.out.end(None)
            await task.stream.aclose()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            task.finished = True
            if self._error is None:
                self._error = exc
            task.out.end(exc)
            await task.stream.aclose()

    async def _submit(self, unit: str) -> None:
        """Send ``unit`` to the current task, continuing in a new task at the task limit."""
        limit = min(self.message_weight, self.task_weight)
        for piece in textmod.split_messages(unit, limit):
            if not piece.strip():
                continue
            weight = catalog.text_weight(piece)
            task = self._current
            if task is not None and task.weight + weight > self.task_weight:
                await self._end(task)
                task = None
            if task is None:
                task = await self._open_task()
            await task.stream.send_text(piece)
            task.weight += weight
            task.last_sent = time.monotonic()
            self._sent_weight += weight

    async def _end(self, task: _LiveTask) -> None:
        """No more text for ``task``: finish-task (cancel when it never got any)."""
        if self._current is task:
            self._current = None
        if not task.input_open:
            return
        task.input_open = False
        if not task.finished:
            await task.stream.end_input(cancel=task.weight == 0)

    async def _watch_idle(self) -> None:
        """Finish a task that went without text too long; the next text opens a new one."""
        while True:
            task = self._current
            if task is None:
                await asyncio.sleep(min(1.0, self.idle_timeout))
                continue
            left = task.last_sent + self.idle_timeout - time.monotonic()
            if left > 0:
                await asyncio.sleep(min(left, 1.0))
                continue
            async with self._lock:
                if self._current is task and (
                    task.last_sent + self.idle_timeout <= time.monotonic()
                ):
                    with contextlib.suppress(CosyVoiceCloneError):
                        await self._end(task)

    async def _stop_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog


def _moved(word: Word, offset_ms: int) -> Word:
    return replace(word, begin_ms=word.begin_ms + offset_ms, end_ms=word.end_ms + offset_ms)


# --------------------------------------------------------------------------- sync face


class LiveSpeech:
    """Sync face of :class:`AsyncLiveSpeech` (``with cv.live(...) as live:``), on a private
    event loop in a helper thread. ``send`` and ``audio`` may be used from different threads."""

    def __init__(self, inner: AsyncLiveSpeech) -> None:
        self.session = inner
        """The async session this drives."""
        self._loop = LoopThread("cosyvoice-live")

    def __enter__(self) -> LiveSpeech:
        try:
            self._loop.call(self.session.open())
        except BaseException:
            self._loop.call(self.session.cancel())
            self._loop.stop()
            raise
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            self._loop.call(self.session.__aexit__(exc_type, None, None))
        finally:
            self._loop.stop()

    def send(self, text: str) -> None:
        """Add text (see :meth:`AsyncLiveSpeech.send`)."""
        self._loop.call(self.session.send(text))

    def flush(self) -> None:
        """Send the held text and have it spoken now."""
        self._loop.call(self.session.flush())

    def close(self) -> None:
        """End the input; :meth:`audio` ends once the rest was spoken."""
        self._loop.call(self.session.close())

    def cancel(self) -> None:
        """Stop every task on the service at once."""
        self._loop.call(self.session.cancel())

    def wait(self) -> LiveResult:
        """Wait until every task finished."""
        result: LiveResult = self._loop.call(self.session.wait())
        return result

    def audio(self) -> Iterator[bytes]:
        """The audio chunks as they arrive (see :meth:`AsyncLiveSpeech.audio`)."""
        items = self.timed_audio()
        try:
            yield from (item for item in items if isinstance(item, bytes))
        finally:
            items.close()

    def timed_audio(self) -> Generator[bytes | Word, None, None]:
        """The audio chunks and word timings (see :meth:`AsyncLiveSpeech.timed_audio`)."""
        chunks = self.session.timed_audio()
        try:
            yield from self._loop.iterate(chunks)
        finally:
            with contextlib.suppress(Exception):
                self._loop.call(chunks.aclose())

    @property
    def result(self) -> LiveResult:
        """What was spoken so far."""
        return self.session.result


# --------------------------------------------------------------------------- runs


async def speak_live(
    session: AsyncLiveSpeech,
    source: AsyncIterable[str],
    sinks: list[AudioSink],
) -> LiveResult:
    """Speak the text of ``source`` as it arrives into every sink; return the summary.

    ``session`` must produce ``pcm`` (each sink encodes for itself) and not be open yet. On any
    failure or cancellation every task is cancelled on the service and every sink discarded
    (a file sink then leaves nothing under its final name).
    """
    if session.format != "pcm":
        raise ValueError("speak_live needs a session in pcm")
    try:
        async with session:

            async def feed() -> None:
                try:
                    async for text in source:
                        await session.send(text)
                    await session.close()
                except BaseException:
                    await session.cancel()  # ends audio(): the loop below sees the end
                    raise

            feeder = asyncio.create_task(feed())
            try:
                async for chunk in session.audio():
                    for sink in sinks:
                        await asyncio.to_thread(sink.write, chunk)
                await feeder
            finally:
                if not feeder.done():
                    feeder.cancel()
                    with contextlib.suppress(BaseException):
                        await feeder
            for sink in sinks:
                await asyncio.to_thread(sink.commit)
    except BaseException:
        for sink in sinks:
            with contextlib.suppress(Exception):
                sink.discard()
        raise
    result = session.result
    path = next((s.path for s in sinks if isinstance(s, FileSink)), None)
    out_bytes = next((s.bytes for s in sinks if isinstance(s, (FileSink, StreamSink))), None)
    return replace(result, path=path, bytes=out_bytes if out_bytes is not None else result.bytes)


async def text_arriving(stream: IO[bytes], block: int = 65536) -> AsyncIterator[str]:
    """The UTF-8 text of a binary stream (stdin, a pipe) as it arrives, without waiting for the
    end: a daemon thread reads whatever is available (so an interrupted run never waits for
    the writer)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
    fd = stream.fileno()

    def pump() -> None:
        try:
            while True:
                data = os.read(fd, block)
                loop.call_soon_threadsafe(queue.put_nowait, data or None)
                if not data:
                    return
        except BaseException as exc:  # a closed loop or a read error
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, exc)

    threading.Thread(target=pump, name="cosyvoice-stdin", daemon=True).start()
    decoder = codecs.getincrementaldecoder("utf-8")()
    while True:
        item = await queue.get()
        if isinstance(item, BaseException):
            raise InvalidRequestError(f"reading the text failed: {item}", field="text")
        try:
            text = decoder.decode(item or b"", final=item is None)
        except UnicodeDecodeError as exc:
            raise InvalidRequestError(
                f"the text is not UTF-8 ({exc.reason} at byte {exc.start})", field="text"
            ) from None
        if text:
            yield text
        if item is None:
            return


async def text_once(text: str) -> AsyncIterator[str]:
    """A whole text as a one-item source for :func:`speak_live`."""
    yield text


__all__ = [
    "CLAUSE_WEIGHT",
    "IDLE_FINISH_S",
    "PLAY_HINT",
    "AsyncLiveSpeech",
    "AudioSink",
    "FileSink",
    "LiveResult",
    "LiveSpeech",
    "PlaySink",
    "StreamSink",
    "TextChunker",
    "speak_live",
    "text_arriving",
    "text_once",
]
