"""Running synthesis from a command: SIGINT and SIGTERM cancel it cleanly.

:func:`run_interruptible` runs a coroutine on a fresh event loop with handlers for SIGINT and
SIGTERM that cancel it (instead of Python's default: a ``KeyboardInterrupt`` anywhere, or for
SIGTERM an immediate death that leaves temporary files behind). The cancellation runs every
cleanup (temporary files removed, tasks cancelled, connections closed), then
:class:`Interrupted` is raised: one line, exit status 128 + the signal (130, 143).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import Interrupted

T = TypeVar("T")

SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)


def run_interruptible(
    factory: Callable[[], Coroutine[Any, Any, T]],
    on_interrupt: Callable[[int], Interrupted] | None = None,
) -> T:
    """Run ``factory()`` to completion; on SIGINT/SIGTERM cancel it and raise :class:`Interrupted`.

    ``on_interrupt(signum)`` builds the error to raise (a message saying what was kept). Signal
    handlers are installed only in the main thread (elsewhere the coroutine just runs) and the
    previous handlers are restored afterwards.
    """
    received: list[int] = []
    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS} if in_main else {}

    async def main() -> T:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            received.append(signum)
            task.cancel()

        installed: list[int] = []
        if in_main:
            for sig in SIGNALS:
                try:
                    loop.add_signal_handler(sig, on_signal, sig)
                except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
                    continue
                installed.append(sig)
        try:
            return await factory()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    try:
        return asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        if not received:
            raise
        signum = received[0]
        raise (on_interrupt(signum) if on_interrupt else Interrupted(signum)) from None
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)


__all__ = ["Interrupted", "run_interruptible"]
