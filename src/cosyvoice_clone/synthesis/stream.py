"""One synthesis task over one WebSocket connection, chunk by chunk (async and sync).

:class:`AsyncSpeechStream` drives the sans-I/O :class:`~.protocol.TaskProtocol` over a
connection from :data:`~.connect.CONNECTOR`: ``start`` (paced run-task, task-started),
``send_text`` / ``flush`` / ``end_input`` (continue-task, flush, finish-task), ``receive`` (audio
until task-finished) and ``cancel``. Iterating it runs a whole text (its messages) at once.
:class:`SpeechStream` is its sync face on a private event loop. Every wait has a timeout:
connecting (``open_timeout``), task-started (``start_timeout``) and each event or audio frame
(``event_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .._loop import LoopThread
from ..errors import CosyVoiceCloneError, OperationTimeoutError, TransportError
from . import connect
from .connect import Connector, Endpoint, SubmissionLimiter, closed_error, timeout_error
from .protocol import Event, TaskProtocol, Word


class AsyncSpeechStream:
    """The audio of one synthesis task, chunk by chunk, as it arrives.

    Use as ``async with synthesizer.stream(text, voice=...) as stream: async for chunk in
    stream``. After iteration: ``words``, ``characters``, ``task_id``, ``time_to_first_audio``.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        protocol: TaskProtocol,
        messages: list[str],
        *,
        limiter: SubmissionLimiter | None = None,
        on_event: Callable[[Event], None] | None = None,
        connector: Connector | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.connector = connector or endpoint.connector or connect.CONNECTOR
        """Where the connection comes from (default: the endpoint's, else the process-wide
        one, looked up now)."""
        self.protocol = protocol
        self.messages = messages
        self.limiter = limiter
        self.on_event = on_event
        self.words: list[Word] = []
        self.characters = 0
        self.request_uuid: str | None = None
        self.time_to_first_audio: float | None = None
        self._conn: Any = None
        self._started_at = time.monotonic()
        self._done = False
        self._reusable = False
        """Set only at this task's own task-finished: the connection may serve another task."""
        self._stale_retried = False

    @property
    def task_id(self) -> str:
        """The task id (the request id to quote to support)."""
        return self.protocol.task_id

    async def __aenter__(self) -> AsyncSpeechStream:
        await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _connect(self) -> None:
        if self._conn is not None:
            return
        self._started_at = time.monotonic()
        self._conn = await self.connector.acquire(self.endpoint)

    async def aclose(self) -> None:
        """Give the connection back: to the pool after task-finished, else closed."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._reusable:
            await self.connector.recycle(conn, self.endpoint)
        else:
            await self.connector.release(conn)

    async def _recv(self, timeout: float, what: str) -> str | bytes:
        from websockets.exceptions import ConnectionClosed

        try:
            frame: str | bytes = await asyncio.wait_for(self._conn.recv(), timeout)
        except asyncio.TimeoutError:
            raise timeout_error(what, timeout, self.task_id) from None
        except ConnectionClosed as exc:
            raise closed_error(exc, self.task_id) from None
        return frame

    async def _send(self, message: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await self._conn.send(message)
        except ConnectionClosed as exc:
            raise closed_error(exc, self.task_id) from None

    def _note(self, event: Event) -> None:
        if event.kind == "sentence-end":
            self.words.extend(event.words)
            if event.characters is not None:
                self.characters = event.characters
        elif event.kind == "finished":
            if event.characters is not None:
                self.characters = event.characters
            self.request_uuid = event.request_uuid
        if self.on_event is not None:
            self.on_event(event)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await self.start()
        for message in self.messages:
            await self.send_text(message)
        await self.end_input()
        async for chunk in self.receive():
            yield chunk

    async def start(self) -> None:
        """Connect, submit run-task (paced) and wait for task-started.

        A reused connection found closed before task-started is replaced and run-task sent
        once more: no text has left yet, so nothing can have been spoken or billed. Any other
        failure (a timeout, task-failed, a new connection closing) is raised as it is.
        """
        await self._connect()
        proto = self.protocol
        while True:
            if self.limiter is not None:
                await self.limiter.wait()
            try:
                await self._send(proto.run_task())
                while not proto.started:
                    frame = await self._recv(self.endpoint.start_timeout, "task-started")
                    if isinstance(frame, str):
                        proto.handle(frame)
                return
            except TransportError as error:
                stale = not isinstance(error, OperationTimeoutError) and self.connector.reused(
                    self._conn
                )
                if not stale or self._stale_retried:
                    raise
                self._stale_retried = True
                conn, self._conn = self._conn, None
                await self.connector.release(conn)
                self._conn = await self.connector.fresh(self.endpoint)

    async def send_text(self, text: str) -> None:
        """One continue-task with ``text`` (after :meth:`start`; live input)."""
        await self._send(self.protocol.continue_task(text))

    async def flush(self) -> None:
        """Ask the service to speak the text it holds now, sentence end or not."""
        await self._send(self.protocol.flush_task())

    async def end_input(self, *, cancel: bool = False) -> None:
        """finish-task: no more text; the service speaks what it has, then task-finished
        (``cancel``: with the cancel directive, nothing more is spoken)."""
        await self._send(self.protocol.finish_task(cancel=cancel))

    async def receive(self, patient: Callable[[], bool] | None = None) -> AsyncIterator[bytes]:
        """The task's audio until task-finished (after :meth:`start`).

        ``patient()`` true at a timeout keeps waiting (live input: the service is silent while
        it waits for text).
        """
        proto = self.protocol
        while True:
            try:
                frame = await self._recv(self.endpoint.event_timeout, "audio or event")
            except OperationTimeoutError:
                if patient is not None and patient():
                    continue
                raise
            if isinstance(frame, bytes):
                if self.time_to_first_audio is None:
                    self.time_to_first_audio = time.monotonic() - self._started_at
                yield frame
                continue
            event = proto.handle(frame)
            if event is None:
                continue
            self._note(event)
            if event.kind == "finished":
                self._done = True
                self._reusable = True
                return

    async def cancel(self, timeout: float = 10.0) -> bool:
        """Stop the task: the service answers task-finished at once and sends no more audio.

        Returns whether the service confirmed (the connection is closed either way).
        """
        if self._conn is None or self._done:
            return self._done
        confirmed = False
        with contextlib.suppress(CosyVoiceCloneError):
            await self._send(self.protocol.finish_task(cancel=True))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                frame = await self._recv(max(0.01, deadline - time.monotonic()), "task-finished")
                if isinstance(frame, str):
                    event = self.protocol.handle(frame)
                    if event is not None and event.kind == "finished":
                        confirmed = True
                        break
        self._done = True
        await self.aclose()
        return confirmed


# --------------------------------------------------------------------------- one task (sync)


class SpeechStream:
    """Sync face of :class:`AsyncSpeechStream` (``with ... as s: for chunk in s``).

    It drives the async stream on a private event loop in a helper thread, so the protocol
    exchange exists once.
    """

    def __init__(self, inner: AsyncSpeechStream) -> None:
        self._inner = inner
        self._loop = LoopThread("cosyvoice-stream")
        self._chunks: AsyncIterator[bytes] | None = None

    def _call(self, coro: Any) -> Any:
        return self._loop.call(coro)

    @property
    def task_id(self) -> str:
        """The task id (the request id to quote to support)."""
        return self._inner.task_id

    @property
    def words(self) -> list[Word]:
        """Word timings received so far (with ``word_timestamps``)."""
        return self._inner.words

    @property
    def characters(self) -> int:
        """Characters billed, as the service counted them."""
        return self._inner.characters

    @property
    def request_uuid(self) -> str | None:
        """The service's request id, once the task finished."""
        return self._inner.request_uuid

    @property
    def time_to_first_audio(self) -> float | None:
        """Seconds from connecting to the first audio frame."""
        return self._inner.time_to_first_audio

    def __enter__(self) -> SpeechStream:
        self._call(self._inner._connect())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        self._chunks = self._inner.__aiter__()
        yield from self._loop.iterate(self._chunks)

    def cancel(self, timeout: float = 10.0) -> bool:
        """Stop the task (finish-task with the cancel directive) and close.

        Returns whether the service confirmed with task-finished.
        """
        confirmed: bool = self._call(self._inner.cancel(timeout))
        self.close()
        return confirmed

    def close(self) -> None:
        """Close the connection and the helper loop."""
        if not self._loop.running:
            return
        chunks, self._chunks = self._chunks, None

        async def shutdown() -> None:
            if chunks is not None:
                with contextlib.suppress(Exception):
                    await chunks.aclose()  # type: ignore[attr-defined]
            await self._inner.aclose()

        with contextlib.suppress(Exception):
            self._loop.call(shutdown())
        self._loop.stop()


__all__ = ["AsyncSpeechStream", "SpeechStream"]
