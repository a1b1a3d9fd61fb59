"""Where synthesis connects: the endpoint, the one place WebSocket connections are opened, and
the shared submission budget (3 run-task submissions per second per model).

:class:`Connector` is the only code that opens (``acquire``) and closes (``release``) a
connection to the synthesis endpoint; every task (:class:`~.stream.AsyncSpeechStream`) goes
through the process-wide :data:`CONNECTOR`. Today each task gets a new connection and release
closes it; connection reuse (a warm connection per endpoint) is to be added here, behind the
same calls. A failed handshake is mapped to the package's errors here, in one place.

:class:`ConnectionPool` is the reusing connector a client owns (one per session): per endpoint
and event loop, a connection is *busy* (one task), *idle* (open, back after its task's own
task-finished) or *dead* (closed: after task-failed, a cancel, a drop, renewal or ``aclose``).
Idle connections are renewed after :data:`SYNTHESIS_CONNECTION_RENEW_S` (the official SDK's
``SpeechSynthesizerObjectPool`` interval), lazily when taken or by a keeper task once
:meth:`ConnectionPool.warm` ran. Pacing is not the pool's: the submission budget is taken
just before each run-task, as without reuse.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import catalog
from .._loop import at_loop_end
from .._version import __version__
from ..errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    OperationTimeoutError,
    TransportError,
    api_error,
)
from ..pacing import SharedBudget, bucket_path

USER_AGENT = f"cosyvoice-clone/{__version__}"

SYNTHESIS_CONNECTION_RENEW_S = 30.0
"""Idle synthesis connections are renewed after this long: the official SDK's
``SpeechSynthesizerObjectPool`` (dashscope 2.0.2, ``DEFAULT_RECONNECT_INTERVAL = 30``, ±5 s of
jitter); the service closes a connection after 60 s without a message."""

logger = logging.getLogger("cosyvoice_clone.synthesis")


# --------------------------------------------------------------------------- pacing


class SubmissionLimiter(SharedBudget):
    """At most ``per_second`` task submissions in any ``window`` seconds (thread-safe).

    ``wait()`` takes a slot when one is free, stamped with the moment the task is really
    submitted; concurrent tasks of one process (and of several event loops) share the budget;
    with a ``path`` (see :func:`submission_limiter`) the processes sharing a home
    share it too. ``margin`` keeps us clear of the service's own one-second window. ``clock``
    (seconds) is injectable so tests can drive time by hand.
    """

    def __init__(
        self,
        per_second: float,
        window: float = 1.0,
        margin: float = 0.1,
        clock: Callable[[], float] | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        super().__init__(
            max(1, int(per_second)),
            window + margin,
            path=path,
            clock=clock or (time.time if path is not None else time.monotonic),
        )


_LIMITERS: dict[tuple[str, str, float, str], SubmissionLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def submission_limiter(
    url: str, model: str, per_second: float | None, home: Path | None = None
) -> SubmissionLimiter | None:
    """The process-wide limiter for ``model`` at ``url`` (``None``: no pacing); with a ``home``,
    shared by every process using it (the limit is the account's)."""
    if per_second is None:
        return None
    path = None
    if home is not None:
        path = bucket_path(home, f"synthesis:{urlsplit(url).hostname or url}:{model}")
    with _LIMITERS_LOCK:
        key = (url, model, per_second, str(path))
        if key not in _LIMITERS:
            _LIMITERS[key] = SubmissionLimiter(per_second, path=path)
        return _LIMITERS[key]


# --------------------------------------------------------------------------- the endpoint


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect."""

    url: str
    api_key: str = field(repr=False)
    workspace: str | None = None
    open_timeout: float = 10.0
    start_timeout: float = 10.0
    event_timeout: float = 60.0
    tasks_per_second: float | None = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL
    pacing_home: Path | None = None
    """Where the submission budget is shared with other processes (``None``: this one only)."""
    connector: Connector | None = field(default=None, compare=False, repr=False)
    """Where tasks get their connections (``None``: the process-wide :data:`CONNECTOR`)."""

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}", "X-DashScope-SDK-Client": USER_AGENT}
        if self.workspace:
            headers["X-DashScope-WorkSpace"] = self.workspace
        return headers

    @property
    def loopback(self) -> bool:
        host = urlsplit(self.url).hostname or ""
        return host in ("127.0.0.1", "localhost", "::1")

    def limiter(self, model: str) -> SubmissionLimiter | None:
        """The shared submission budget of ``model`` at this endpoint (``None``: no pacing)."""
        return submission_limiter(self.url, model, self.tasks_per_second, self.pacing_home)


# --------------------------------------------------------------------------- connections


class Connector:
    """Opens and closes synthesis connections; this one never reuses (each task its own)."""

    async def acquire(self, endpoint: Endpoint) -> Any:
        """An open WebSocket connection to ``endpoint`` (errors are the package's)."""
        return await open_connection(endpoint)

    async def release(self, conn: Any) -> None:
        """The connection is done with (closed; never raises)."""
        with contextlib.suppress(Exception):
            await conn.close()

    async def recycle(self, conn: Any, endpoint: Endpoint) -> None:
        """The task reached its own task-finished: the connection may serve another task."""
        await self.release(conn)

    def reused(self, conn: Any) -> bool:
        """Whether ``conn`` was an idle connection when it was handed out."""
        return False

    async def fresh(self, endpoint: Endpoint) -> Any:
        """A new connection (never an idle one): for the one retry of a stale connection."""
        return await self.acquire(endpoint)


async def open_connection(endpoint: Endpoint) -> Any:
    """The handshake: the only place a synthesis WebSocket connection is opened."""
    from websockets.asyncio.client import connect

    try:
        return await connect(
            endpoint.url,
            additional_headers=endpoint.headers(),
            user_agent_header=USER_AGENT,
            open_timeout=endpoint.open_timeout,
            close_timeout=2,
            max_size=None,
            compression=None,
            proxy=None if endpoint.loopback else True,
        )
    except Exception as exc:
        raise handshake_error(exc, endpoint) from None


CONNECTOR = Connector()
"""The process-wide connector of bare synthesizers (no reuse); clients own a pool."""


@dataclass
class ConnectionStats:
    """What a :class:`ConnectionPool` did (counts since it was made; ``idle``/``busy``: now)."""

    opened: int = 0
    """Handshakes made."""
    reused: int = 0
    """Tasks that got an idle connection."""
    discarded: int = 0
    """Idle connections found closed or too old when taken, or not given back after a task."""
    renewed: int = 0
    """Idle connections replaced by the keeper before they got old."""
    stale_retries: int = 0
    """run-task sent again on a new connection: the idle one was dead before task-started."""
    idle: int = 0
    busy: int = 0


@dataclass
class _Pooled:
    conn: Any
    key: tuple[Any, ...]
    since: float
    reused: bool = False


def _is_open(conn: Any) -> bool:
    from websockets.protocol import State

    return getattr(conn, "state", None) is State.OPEN


_POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()


class ConnectionPool(Connector):
    """Reuses connections per endpoint and event loop (see the module's docstring).

    ``renew_after``: seconds an idle connection is kept before it is replaced; ``max_idle``:
    idle connections kept per endpoint and loop (more are closed when their task ends).
    """

    def __init__(
        self,
        *,
        renew_after: float = SYNTHESIS_CONNECTION_RENEW_S,
        max_idle: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.renew_after = renew_after
        self.max_idle = max_idle
        self.clock = clock
        self._stats = ConnectionStats()
        self._idle: dict[tuple[Any, ...], list[_Pooled]] = {}
        self._busy: dict[int, _Pooled] = {}
        self._keepers: dict[tuple[Any, ...], tuple[asyncio.Task[None], int]] = {}
        self._lock = threading.Lock()
        self.closed = False
        _POOLS.add(self)

    @property
    def stats(self) -> ConnectionStats:
        """A copy of the counts, with the idle and busy connections of now."""
        with self._lock:
            idle = sum(len(entries) for entries in self._idle.values())
            return dataclasses.replace(self._stats, idle=idle, busy=len(self._busy))

    @staticmethod
    def _key(endpoint: Endpoint) -> tuple[Any, ...]:
        return (endpoint.url, endpoint.api_key, endpoint.workspace, asyncio.get_running_loop())

    def _healthy(self, entry: _Pooled) -> bool:
        return _is_open(entry.conn) and self.clock() - entry.since < self.renew_after

    async def _open(self, endpoint: Endpoint) -> _Pooled:
        entry = _Pooled(await open_connection(endpoint), self._key(endpoint), self.clock())
        with self._lock:
            self._stats.opened += 1
        return entry

    async def acquire(self, endpoint: Endpoint) -> Any:
        """An idle connection of this endpoint and loop if one is healthy, else a new one."""
        key = self._key(endpoint)
        while True:
            with self._lock:
                entries = self._idle.get(key)
                entry = entries.pop() if entries else None  # the most recently used
                if entry is not None and self._healthy(entry):
                    entry.reused = True
                    self._busy[id(entry.conn)] = entry
                    self._stats.reused += 1
                    return entry.conn
                if entry is not None:
                    self._stats.discarded += 1
            if entry is None:
                break
            await Connector.release(self, entry.conn)
        return await self.fresh(endpoint, stale=False)

    async def fresh(self, endpoint: Endpoint, *, stale: bool = True) -> Any:
        """A new connection, busy at once (``stale``: counted as the retry of a dead one)."""
        entry = await self._open(endpoint)
        with self._lock:
            self._busy[id(entry.conn)] = entry
            if stale:
                self._stats.stale_retries += 1
        return entry.conn

    def reused(self, conn: Any) -> bool:
        with self._lock:
            entry = self._busy.get(id(conn))
        return entry is not None and entry.reused

    async def recycle(self, conn: Any, endpoint: Endpoint) -> None:
        """Back to idle if it is open and there is room, else closed."""
        with self._lock:
            entry = self._busy.pop(id(conn), None)
            keep = (
                entry is not None
                and not self.closed
                and _is_open(conn)
                and entry.key == self._key(endpoint)
                and len(self._idle.get(entry.key, ())) < self.max_idle
            )
            if keep and entry is not None:
                entry.since = self.clock()
                self._idle.setdefault(entry.key, []).append(entry)
            elif entry is not None:
                self._stats.discarded += 1
        if not keep:
            await Connector.release(self, conn)

    async def release(self, conn: Any) -> None:
        """Closed: it is never given to another task."""
        with self._lock:
            self._busy.pop(id(conn), None)
        await Connector.release(self, conn)

    async def warm(self, endpoint: Endpoint, count: int) -> int:
        """Open connections until ``count`` of this endpoint and loop are open, and keep them
        so (renewed before they get old) until :meth:`aclose`; returns how many are open."""
        key = self._key(endpoint)
        await self._top_up(endpoint, key, count)
        with self._lock:
            keeper = self._keepers.get(key)
            if keeper is None or keeper[0].done() or keeper[1] != count:
                if keeper is not None:
                    keeper[0].cancel()
                task = asyncio.get_running_loop().create_task(self._keep(endpoint, key, count))
                self._keepers[key] = (task, count)
            return self._count(key)

    def _count(self, key: tuple[Any, ...]) -> int:
        busy = sum(1 for entry in self._busy.values() if entry.key == key)
        return busy + sum(1 for entry in self._idle.get(key, ()) if _is_open(entry.conn))

    async def _top_up(self, endpoint: Endpoint, key: tuple[Any, ...], count: int) -> None:
        with self._lock:
            missing = count - self._count(key)
        for _ in range(max(0, missing)):
            entry = await self._open(endpoint)
            with self._lock:
                self._idle.setdefault(key, []).insert(0, entry)

    async def _keep(self, endpoint: Endpoint, key: tuple[Any, ...], count: int) -> None:
        tick = min(1.0, self.renew_after / 4)
        failing = False
        while not self.closed:
            await asyncio.sleep(tick if not failing else max(tick, 5.0))
            try:
                await self._renew(endpoint, key, tick)
                await self._top_up(endpoint, key, count)
                failing = False
            except CosyVoiceCloneError as exc:
                if not failing:
                    logger.warning("could not keep synthesis connections warm: %s", exc)
                failing = True

    async def _renew(self, endpoint: Endpoint, key: tuple[Any, ...], tick: float) -> None:
        with self._lock:
            entries = list(self._idle.get(key, ()))
        for old in entries:
            dead = not _is_open(old.conn)
            if not dead and self.clock() - old.since < self.renew_after - tick:
                continue
            new = None if dead else await self._open(endpoint)  # make before break
            with self._lock:
                idle = self._idle.setdefault(key, [])
                if old not in idle:  # taken meanwhile: keep the new one anyway
                    if new is not None:
                        idle.insert(0, new)
                    continue
                idle.remove(old)
                if new is not None:
                    idle.insert(0, new)
                    self._stats.renewed += 1
                else:
                    self._stats.discarded += 1
            await Connector.release(self, old.conn)

    async def close_loop(self) -> None:
        """Close the idle connections of the running loop and stop its keepers."""
        loop = asyncio.get_running_loop()
        with self._lock:
            keys = [key for key in set(self._idle) | set(self._keepers) if key[-1] is loop]
            entries = [entry for key in keys for entry in self._idle.pop(key, [])]
            keepers = [self._keepers.pop(key)[0] for key in keys if key in self._keepers]
        for task in keepers:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        for entry in entries:
            await Connector.release(self, entry.conn)

    async def aclose(self) -> None:
        """Close every idle connection (those of other loops without waiting); busy ones close
        when their task ends. The pool keeps nothing afterwards."""
        self.closed = True
        await self.close_loop()
        with self._lock:
            others = [entry for entries in self._idle.values() for entry in entries]
            keepers = [task for task, _ in self._keepers.values()]
            self._idle.clear()
            self._keepers.clear()
        for task in keepers:
            _on_own_loop(task.get_loop(), task.cancel)
        for entry in others:
            transport = getattr(entry.conn, "transport", None)
            if transport is not None:
                _on_own_loop(entry.key[-1], transport.close)


def _on_own_loop(loop: asyncio.AbstractEventLoop, call: Callable[[], Any]) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: its sockets are gone with it
        loop.call_soon_threadsafe(call)


async def close_loop_connections() -> None:
    """At the end of an event loop: every pool closes that loop's idle connections."""
    for pool in list(_POOLS):
        with contextlib.suppress(Exception):
            await pool.close_loop()


at_loop_end(close_loop_connections)


def handshake_error(exc: Exception, endpoint: Endpoint) -> CosyVoiceCloneError:
    """Map a failed WebSocket handshake to our tree (in exactly one place)."""
    from websockets.exceptions import InvalidStatus, InvalidURI

    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        code = message = request_id = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            body = json.loads(exc.response.body or b"{}")
            code, message = body.get("code"), body.get("message")
            request_id = body.get("request_id")
        return api_error(
            status,
            code,
            message or f"the synthesis endpoint refused the connection (HTTP {status})",
            request_id,
        )
    if isinstance(exc, InvalidURI):
        return InvalidRequestError(f"invalid WebSocket URL {endpoint.url!r}", field="url")
    if isinstance(exc, (asyncio.TimeoutError, builtins.TimeoutError)):
        return OperationTimeoutError(
            f"could not connect to {endpoint.url} within {endpoint.open_timeout:g} s",
            hint="check the network or the endpoint (cosyvoice-clone doctor)",
        )
    return TransportError(
        f"could not connect to {endpoint.url}: {type(exc).__name__}: {exc}",
        hint="check the network or the endpoint (cosyvoice-clone doctor)",
    )


def closed_error(exc: Exception, task_id: str) -> TransportError:
    """A connection that closed in the middle of a task."""
    from websockets.exceptions import ConnectionClosed

    detail = ""
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        detail = f" (close code {rcvd.code})" if rcvd is not None else " (no close frame)"
    return TransportError(
        f"the connection closed before the synthesis task finished{detail}",
        hint="a network or service failure; try again",
        request_id=task_id,
    )


def timeout_error(what: str, seconds: float, task_id: str) -> OperationTimeoutError:
    """No frame within ``seconds``."""
    return OperationTimeoutError(
        f"no {what} from the service within {seconds:g} s", request_id=task_id
    )


__all__ = [
    "CONNECTOR",
    "SYNTHESIS_CONNECTION_RENEW_S",
    "USER_AGENT",
    "ConnectionPool",
    "ConnectionStats",
    "Connector",
    "Endpoint",
    "SubmissionLimiter",
    "close_loop_connections",
    "closed_error",
    "handshake_error",
    "open_connection",
    "submission_limiter",
    "timeout_error",
]
