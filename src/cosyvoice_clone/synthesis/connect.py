"""Where synthesis connects: the endpoint, the one place WebSocket connections are opened, and
the shared submission budget (3 run-task submissions per second per model).

:class:`Connector` is the only code that opens (``acquire``) and closes (``release``) a
connection to the synthesis endpoint; every task (:class:`~.stream.AsyncSpeechStream`) goes
through the process-wide :data:`CONNECTOR`. Today each task gets a new connection and release
closes it; connection reuse (a warm connection per endpoint) is to be added here, behind the
same two calls. A failed handshake is mapped to the package's errors here, in one place.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import catalog
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
    """Opens and closes synthesis connections (the seam for connection reuse)."""

    async def acquire(self, endpoint: Endpoint) -> Any:
        """An open WebSocket connection to ``endpoint`` (errors are the package's)."""
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

    async def release(self, conn: Any) -> None:
        """Give a connection back (today: close it; never raises)."""
        with contextlib.suppress(Exception):
            await conn.close()


CONNECTOR = Connector()
"""The process-wide connector every synthesis task uses."""


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
    "USER_AGENT",
    "Connector",
    "Endpoint",
    "SubmissionLimiter",
    "closed_error",
    "handshake_error",
    "submission_limiter",
    "timeout_error",
]
