"""The flow protocol: an operation is a generator of steps (:class:`Call`, :class:`Sleep`,
:class:`Blocking`) that a driver runs: :func:`drive` (sync) or :func:`adrive` (async, where
blocking work such as SQLite, claims, evidence and sample checks runs in a thread).

A step's outcome is sent back into the flow; a :class:`~.errors.CosyVoiceCloneError` raised by
a step is thrown into it (so a flow can catch, reconcile and go on).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import CosyVoiceCloneError

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One HTTP request step of a flow. ``path`` is relative to the base URL unless absolute."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    idempotent: bool = True
    auth: bool = True
    """Send the Bearer key (never to third-party hosts such as an upload bucket)."""
    label: str = ""
    """What the request does, for logs (e.g. ``create_voice``)."""


@dataclass(frozen=True)
class Sleep:
    """A pause step of a flow."""

    seconds: float


@dataclass(frozen=True)
class Blocking:
    """Blocking local work (SQLite, files, a sample check): inline when sync, in a thread
    when async; its return value is sent back into the flow."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = field(default=())


def blocking(fn: Callable[..., T], *args: Any) -> Generator[Blocking, Any, T]:
    """``result = yield from blocking(fn, a, b)``: :class:`Blocking` with its result typed."""
    result: T = yield Blocking(fn, args)
    return result


Step = Call | Sleep | Blocking
Flow = Generator[Step, Any, T]


def drive(flow: Flow[T], request: Callable[[Call], Any]) -> T:
    """Run ``flow`` to its result, sending each :class:`Call` through ``request``."""
    try:
        step = next(flow)
        while True:
            try:
                if isinstance(step, Sleep):
                    time.sleep(max(0.0, step.seconds))
                    result: Any = None
                elif isinstance(step, Blocking):
                    result = step.fn(*step.args)
                else:
                    result = request(step)
            except CosyVoiceCloneError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


async def adrive(flow: Flow[T], request: Callable[[Call], Awaitable[Any]]) -> T:
    """:func:`drive` on an event loop: pauses sleep asynchronously, blocking steps in a thread."""
    try:
        step = next(flow)
        while True:
            try:
                if isinstance(step, Sleep):
                    await asyncio.sleep(max(0.0, step.seconds))
                    result: Any = None
                elif isinstance(step, Blocking):
                    result = await asyncio.to_thread(step.fn, *step.args)
                else:
                    result = await request(step)
            except CosyVoiceCloneError as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


__all__ = ["Blocking", "Call", "Flow", "Sleep", "Step", "adrive", "blocking", "drive"]
