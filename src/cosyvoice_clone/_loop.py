"""The one sync-over-async adapter: a private event loop in a thread (:class:`LoopThread`)
and :func:`run_sync` (a coroutine from sync code, also inside a running loop)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_LOOP_END: list[Callable[[], Awaitable[None]]] = []


def at_loop_end(hook: Callable[[], Awaitable[None]]) -> None:
    """Run ``hook()`` on every private loop before it ends (the synthesis connections of that
    loop are closed there: a connection belongs to the loop that opened it)."""
    if hook not in _LOOP_END:
        _LOOP_END.append(hook)


async def end_of_loop() -> None:
    """Run the :func:`at_loop_end` hooks on the running loop (errors are swallowed)."""
    for hook in list(_LOOP_END):
        with contextlib.suppress(Exception):
            await hook()


async def _until_loop_end(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return await factory()
    finally:
        await end_of_loop()


class LoopThread:
    """A private event loop in a daemon thread: how the sync faces drive the async code."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the loop was started and not stopped."""
        return self._loop is not None

    def call(self, coro: Any) -> Any:
        """Run ``coro`` on the loop (started on first use) and return its result."""
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
            self._thread.start()
            self._loop = loop
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def stop(self) -> None:
        """Stop the loop and its thread (its :func:`at_loop_end` hooks run first)."""
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self.call(end_of_loop())
        loop, self._loop = self._loop, None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join()
        loop.close()

    def iterate(self, chunks: AsyncIterator[T]) -> Iterator[T]:
        """Drive an async iterator on the loop, one item per step."""
        while True:
            try:
                item: T = self.call(chunks.__anext__())
            except StopAsyncIteration:
                return
            yield item


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync code, also when the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_until_loop_end(factory))
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(_until_loop_end(factory))
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name="cosyvoice-speak")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking work (SQLite, sample checks, files) off the event loop (the async faces)."""
    return await asyncio.to_thread(fn, *args)


def in_line(fn: Callable[..., T], *args: Any) -> T:
    """The sync twin of :func:`in_thread`: just call it."""
    return fn(*args)


async def run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """The async twin of :func:`run_sync`: await the coroutine."""
    return await factory()


class AsyncKeyLocks:
    """One :class:`asyncio.Lock` per key (identical operations of one client run one at a time)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())


class KeyLocks:
    """One :class:`threading.Lock` per key (the sync twin of :class:`AsyncKeyLocks`)."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


__all__ = [
    "AsyncKeyLocks",
    "KeyLocks",
    "LoopThread",
    "at_loop_end",
    "end_of_loop",
    "in_line",
    "in_thread",
    "run_async",
    "run_sync",
]
