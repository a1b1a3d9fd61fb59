"""SIGINT and SIGTERM around a call of the sync face: its cleanup runs, then one clear line.

Signal handling is the frontend's concern. :func:`run_interruptible` installs handlers (main
thread only) that raise a private ``KeyboardInterrupt`` subclass. The sync face runs its
speech on ``asyncio.run``: the exception propagates out of the event loop, whose cleanup
cancels the remaining tasks, so every ``finally`` runs (temporary files removed, service tasks
cancelled, connections closed) before :class:`~cosyvoice_clone.errors.Interrupted` is raised:
exit status 128 + the signal (130 for SIGINT, 143 for SIGTERM). Without the handlers SIGTERM
would kill the process at once and leave temporary files behind.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from ..errors import Interrupted

T = TypeVar("T")

SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


class _Signalled(KeyboardInterrupt):
    """Raised by the handlers: a ``KeyboardInterrupt`` so that asyncio lets it out of the loop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_interruptible(
    call: Callable[[], T],
    on_interrupt: Callable[[int], Interrupted] | None = None,
) -> T:
    """Return ``call()``; on SIGINT/SIGTERM let its cleanup run and raise :class:`Interrupted`.

    ``on_interrupt(signum)`` builds the error (a message saying what was kept). Only the first
    signal interrupts; later ones are ignored while the cleanup runs. Outside the main thread
    ``call()`` just runs. The previous handlers are restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        return call()
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if received:  # already stopping: let the cleanup finish
            return
        received.append(signum)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # plain sync code: stop right here
            raise _Signalled(signum) from None
        # Inside the event loop the handler may run in the middle of any task; raised from a
        # callback instead, the exception leaves the loop outside every task, and asyncio.run
        # cancels them all (each one's cleanup runs, no task is left with an unread error).
        # What that teardown reports (a connection's generator closed mid-send) is the
        # interrupt's own doing: logged for debugging, never printed as a traceback.
        loop.set_exception_handler(_quiet_after_interrupt)
        loop.call_soon_threadsafe(_raise, signum)

    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, handler)
    try:
        return call()
    except KeyboardInterrupt:
        if not received:
            raise
        signum = received[0]
        raise (on_interrupt(signum) if on_interrupt else Interrupted(signum)) from None
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _raise(signum: int) -> None:
    raise _Signalled(signum)


def _quiet_after_interrupt(_loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    import logging

    error = context.get("exception")
    logging.getLogger("cosyvoice_clone.cli").debug(
        "after the interrupt: %s",
        context.get("message"),
        exc_info=error if isinstance(error, BaseException) else None,
    )


def signal_name(signum: int) -> str:
    """``SIGINT`` for 2 (the name of a signal number)."""
    return signal.Signals(signum).name


def interrupted_operation(signum: int, operation: str, voice_id: str | None) -> Interrupted:
    """What SIGINT/SIGTERM during a ``clone`` or ``design`` means: the voice (once the service
    named it) stays and keeps deploying, and running the same command again reuses it."""
    if voice_id is None:
        return Interrupted(
            signum,
            f"{operation} interrupted by {signal_name(signum)} before the service named a voice",
            hint="run the same command again: if a voice was created, it is found and reused "
            "(no second slot)",
        )
    return Interrupted(
        signum,
        f"{operation} interrupted while waiting for voice {voice_id}; the voice exists and "
        f"keeps deploying (stopped by {signal_name(signum)})",
        hint="run the same command again to wait for it (it reuses this voice, no new slot), "
        f"or check `cosyvoice-clone voices show {voice_id}`",
    )


__all__ = ["SIGNALS", "interrupted_operation", "run_interruptible", "signal_name"]
