"""HTTP transport for the DashScope REST endpoints: auth, headers, timeouts, retries, pacing.

:class:`HttpClient` and :class:`AsyncHttpClient` have the same methods; everything that does no
I/O (headers, the retry decision, error parsing, statistics) lives in :class:`_HttpCore`, which
both share. This is the one place where ``httpx`` exceptions become ours
(:class:`~cosyvoice_clone.errors.TransportError` /
:class:`~cosyvoice_clone.errors.OperationTimeoutError`).

Retry policy: 429 (honouring ``Retry-After``), 500/502/503/504 and connection errors are retried
with exponential backoff and jitter, bounded by ``max_attempts`` and ``total_timeout`` (env
``COSYVOICE_CLONE_RETRY_ATTEMPTS`` and ``COSYVOICE_CLONE_RETRY_TIMEOUT`` override the defaults).
A request sent with ``idempotent=False`` (``create_voice``) is retried only when the failure
proves nothing was processed (429, connection refused); after an *ambiguous* failure (a timeout,
a dropped connection or a 5xx after the body was sent) it raises :class:`AmbiguousRequestError`
so that the caller can reconcile before trying again.

Multi-step operations (upload, create, poll) are written once as generators of :class:`Call` and
:class:`Sleep` steps and driven by :meth:`HttpClient.run` or :meth:`AsyncHttpClient.run`.

Every attempt is logged at DEBUG level on the ``cosyvoice_clone.http`` logger, never with the key.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from ._flow import Blocking as Blocking
from ._flow import Call as Call
from ._flow import Flow as Flow
from ._flow import Sleep as Sleep
from ._flow import Step as Step
from ._flow import adrive, drive
from ._http_failures import (
    _NET_HINT,
    QUICK_ATTEMPTS,
    _alibaba_host,
    _doing,
    _hopeless_connect,
    _other_region_hint,
    _retry_after,
)
from ._retry import ENV_RETRY_ATTEMPTS as ENV_RETRY_ATTEMPTS
from ._retry import ENV_RETRY_TIMEOUT as ENV_RETRY_TIMEOUT
from ._retry import NO_RETRY as NO_RETRY
from ._retry import RetryCallback as RetryCallback
from ._retry import RetryNotice as RetryNotice
from ._retry import RetryPolicy as RetryPolicy
from ._version import __version__
from .config import redact
from .errors import (
    AmbiguousRequestError,
    APIStatusError,
    AuthenticationError,
    CosyVoiceCloneError,
    OperationTimeoutError,
    QuotaExceededError,
    StepKind,
    TransportError,
    api_error,
)
from .pacing import pacing_budget

logger = logging.getLogger("cosyvoice_clone.http")


T = TypeVar("T")

USER_AGENT = f"cosyvoice-clone/{__version__}; httpx/{httpx.__version__}"
SDK_CLIENT = f"cosyvoice-clone/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=30.0)


@dataclass
class HttpStats:
    """Counters of one client: attempts, retries by reason, ambiguous failures."""

    requests: int = 0
    attempts: int = 0
    retries: int = 0
    ambiguous: int = 0
    retry_reasons: Counter[str] = field(default_factory=Counter)
    server_offset: float | None = None
    """Server clock minus local clock in seconds, from the last ``Date`` header."""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for reports."""
        return {
            "requests": self.requests,
            "attempts": self.attempts,
            "retries": self.retries,
            "ambiguous": self.ambiguous,
            "retry_reasons": dict(self.retry_reasons),
        }


@dataclass(frozen=True)
class ApiResponse:
    """A successful answer: the JSON body, its request id and headers."""

    status_code: int
    body: dict[str, Any]
    headers: Mapping[str, str]
    attempts: int = 1

    @property
    def request_id(self) -> str | None:
        """The service's request id, if any."""
        value = self.body.get("request_id")
        return value if isinstance(value, str) else None

    @property
    def output(self) -> dict[str, Any]:
        """``body["output"]`` (``{}`` when absent)."""
        value = self.body.get("output")
        return value if isinstance(value, dict) else {}


@dataclass
class _Failure:
    error: CosyVoiceCloneError
    retryable: bool
    ambiguous: bool
    reason: str
    retry_after: float | None = None
    quick: bool = False
    """Retrying can hardly help (connection refused, unknown host): give up after
    :data:`QUICK_ATTEMPTS` attempts."""


class NotGiven:
    """The type of :data:`NOT_GIVEN`: "the caller did not pass this" (``None`` means "off")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN = NotGiven()
"""Default of ``retry=`` and ``rate_limit=``: use the default; ``None`` turns the feature off."""


class Pacer:
    """Spaces requests to at most ``rate`` per second (thread-safe; no I/O).

    With a ``home``, the slots are shared by every process using that home (the limit is the
    account's, see :mod:`cosyvoice_clone.pacing`). ``clock`` (seconds) is injectable so tests
    can drive time by hand.
    """

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] | None = None,
        *,
        home: Path | None = None,
        name: str = "enrollment",
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.budget = (
            pacing_budget(1, self.interval, home=home, name=name, clock=clock)
            if self.interval
            else None
        )

    def reserve(self) -> float:
        """Claim the next slot; returns how long to wait before using it."""
        return self.budget.reserve() if self.budget is not None else 0.0

    def push_back(self, seconds: float) -> None:
        """After a 429: make every caller wait at least ``seconds`` from now."""
        if self.budget is not None:
            self.budget.push_back(seconds)


class _HttpCore:
    """Everything the sync and async clients share that does no I/O."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        workspace: str | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = None,
        region: str | None = None,
        user_agent: str | None = None,
        pacing_home: Path | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.workspace = workspace
        self.retry = retry or RetryPolicy.from_env()
        host = urlsplit(self.base_url).hostname or self.base_url
        self.pacer = Pacer(rate_limit, home=pacing_home, name=f"enrollment:{host}")
        self.region = region
        self.user_agent = user_agent or USER_AGENT
        self.stats = HttpStats()
        self.on_retry: RetryCallback | None = None
        """Called before every retry's pause; exceptions it raises are ignored."""

    # -- building ---------------------------------------------------------------------------

    def request_args(self, call: Call) -> dict[str, Any]:
        """The ``httpx`` ``request()`` arguments for ``call`` (both clients send these)."""
        headers = self.headers(call)
        if call.json is not None:
            headers["Content-Type"] = "application/json"
        return {
            "method": call.method,
            "url": self.url(call.path),
            "content": _json_body(call),
            "params": call.params,
            "data": call.data,
            "files": call.files,
            "headers": headers,
        }

    def url(self, path: str) -> str:
        """The absolute URL for ``path`` (absolute URLs pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def headers(self, call: Call) -> dict[str, str]:
        """Request headers: SDK-compatible identification, auth and workspace."""
        headers = {
            "user-agent": self.user_agent,
            "x-dashscope-sdk-client": SDK_CLIENT,
            "Accept": "application/json; charset=utf-8",
        }
        if call.auth:
            headers["Authorization"] = f"Bearer {self._api_key}"
            if self.workspace:
                headers["X-DashScope-WorkSpace"] = self.workspace
        if call.headers:
            headers.update(call.headers)
        return headers

    def host(self, url: str) -> str:
        return urlsplit(url).netloc

    # -- interpreting ---------------------------------------------------------------------

    def _note_date(self, headers: httpx.Headers) -> None:
        value = headers.get("date")
        if not value:
            return
        try:
            server = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return
        self.stats.server_offset = server - time.time()

    def interpret(
        self, call: Call, response: httpx.Response, attempt: int
    ) -> ApiResponse | _Failure:
        """A success, or a failure with what the retry decision needs."""
        self._note_date(response.headers)
        status = response.status_code
        try:
            body: Any = response.json() if response.content else {}
        except ValueError:
            body = None
        if status == 200 and call.files is not None:
            # An upload bucket answers 200 with an empty or XML body.
            return ApiResponse(status, body if isinstance(body, dict) else {}, response.headers)
        if status == 200 and isinstance(body, dict):
            return ApiResponse(status, body, response.headers, attempt)
        if status == 200:
            err: CosyVoiceCloneError = TransportError(
                f"{_doing(call)}: the service answered 200 with a body that is not a JSON object",
                hint="check DASHSCOPE_HTTP_BASE_URL points at the DashScope API (…/api/v1)",
                http_status=status,
            )
            return _Failure(err, retryable=False, ambiguous=False, reason="bad-body")
        err = self.status_error(call, response, body)
        retry_after = _retry_after(response.headers.get("retry-after"))
        return _Failure(
            err,
            # Throttling.AllocationQuota (all voice slots used) comes as 400 or 429 depending on
            # the source; waiting never frees a slot, so it is never retried.
            retryable=status in RETRY_STATUSES and not isinstance(err, QuotaExceededError),
            ambiguous=status >= 500,
            reason=f"http{status}",
            retry_after=retry_after if status == 429 else None,
        )

    def status_error(self, call: Call, response: httpx.Response, body: Any) -> APIStatusError:
        """The exception for an error answer (JSON or not)."""
        status = response.status_code
        code: str | None = None
        message: str | None = None
        request_id: str | None = None
        if isinstance(body, dict):
            raw_code = body.get("code") or body.get("Code")
            code = str(raw_code) if raw_code else None
            raw_msg = body.get("message") or body.get("msg") or body.get("Message")
            message = str(raw_msg) if raw_msg else None
            raw_rid = body.get("request_id") or body.get("RequestId")
            request_id = str(raw_rid) if raw_rid else None
        else:
            text = response.text.strip().replace("\n", " ")[:200]
            message = f"HTTP {status} from {self.host(str(response.url))}" + (
                f": {text}" if text else ""
            )
        request_id = request_id or response.headers.get("x-request-id") or None
        if message is None:
            message = f"HTTP {status}"
        err = api_error(status, code, redact(message, self._api_key), request_id)
        foreign = not _alibaba_host(self.host(self.base_url))
        if isinstance(err, AuthenticationError) and foreign:
            # The emulator, a proxy, a gateway: advice about Alibaba's regional hosts does not
            # apply (hints about a code's meaning, e.g. a model not activated, still do).
            if err.next_step is not None and err.next_step.kind == StepKind.CHECK_KEY:
                err.hint = (
                    f"check DASHSCOPE_API_KEY: {self.host(self.base_url)} refused it; pass the "
                    "key this endpoint expects, or check the endpoint (DASHSCOPE_HTTP_BASE_URL)"
                )
        elif isinstance(err, AuthenticationError) and status == 401 and self.region:
            err.hint = (
                f"{err.hint}. This request went to {self.host(self.base_url)} ({self.region}); "
                "a key from the other region works only on the other host: "
                + _other_region_hint(self.region)
            )
        return err

    def from_exception(self, call: Call, exc: httpx.HTTPError) -> _Failure:
        """Translate an httpx exception (the one place where that happens)."""
        what = f"{_doing(call)} at {self.host(self.url(call.path)) or self.url(call.path)}"
        detail = redact(str(exc) or type(exc).__name__, self._api_key)
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return _Failure(
                OperationTimeoutError(f"{what}: connection timed out ({detail})", hint=_NET_HINT),
                retryable=True,
                ambiguous=False,
                reason="connect-timeout",
            )
        if isinstance(exc, httpx.TimeoutException):
            return _Failure(
                OperationTimeoutError(
                    f"{what}: no answer in time ({type(exc).__name__})", hint=_NET_HINT
                ),
                retryable=True,
                ambiguous=True,
                reason="timeout",
            )
        if isinstance(exc, httpx.ConnectError):
            return _Failure(
                TransportError(f"{what}: cannot connect ({detail})", hint=_NET_HINT),
                retryable=True,
                ambiguous=False,
                reason="connect",
                quick=_hopeless_connect(exc),
            )
        if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
            return _Failure(
                TransportError(f"{what}: connection lost ({detail})", hint=_NET_HINT),
                retryable=True,
                ambiguous=True,
                reason="dropped",
            )
        return _Failure(
            TransportError(f"{what}: {type(exc).__name__}: {detail}", hint=_NET_HINT),
            retryable=False,
            ambiguous=False,
            reason=type(exc).__name__,
        )

    def decide(self, call: Call, failure: _Failure, attempt: int, started: float) -> float:
        """Seconds to wait before the next attempt, or raise the failure's error."""
        err = failure.error
        if failure.retry_after is not None:
            self.pacer.push_back(failure.retry_after)
        if not failure.retryable:
            raise err
        if failure.ambiguous and not call.idempotent:
            self.stats.ambiguous += 1
            logger.debug(
                "%s: ambiguous failure (%s); not retrying blindly", call.label, failure.reason
            )
            raise AmbiguousRequestError(err)
        if failure.quick and attempt >= min(QUICK_ATTEMPTS, self.retry.max_attempts):
            if attempt > 1:
                err.message = f"{err.message} (gave up after {attempt} attempts)"
            raise err
        if attempt >= self.retry.max_attempts:
            if self.retry.max_attempts > 1:
                err.message = f"{err.message} (gave up after {attempt} attempts)"
            raise err
        delay = self.retry.delay(attempt, failure.retry_after)
        if time.monotonic() + delay - started > self.retry.total_timeout:
            err.message = f"{err.message} (gave up after {attempt} attempts)"
            raise err
        self.stats.retries += 1
        self.stats.retry_reasons[failure.reason] += 1
        if self.on_retry is not None:
            notice = RetryNotice(
                _doing(call),
                failure.reason,
                attempt,
                self.retry.max_attempts,
                delay,
                time.monotonic() - started,
            )
            try:
                self.on_retry(notice)
            except Exception:  # a display problem must never break a request
                logger.debug("retry callback failed", exc_info=True)
        logger.debug(
            "%s: attempt %d failed (%s); retrying in %.2fs",
            call.label or call.path,
            attempt,
            failure.reason,
            delay,
        )
        return delay

    def log_attempt(self, call: Call, attempt: int, status: int | str, elapsed: float) -> None:
        self.stats.attempts += 1
        logger.debug(
            "%s %s [%s] attempt %d -> %s in %.0f ms",
            call.method,
            self.url(call.path).split("?")[0],
            call.label,
            attempt,
            status,
            elapsed * 1000,
        )


def _json_body(call: Call) -> bytes | None:
    if call.json is None:
        return None
    return json.dumps(call.json, ensure_ascii=False).encode("utf-8")


class HttpClient(_HttpCore):
    """Synchronous DashScope HTTP client (thread-safe)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        workspace: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        rate_limit: float | None = None,
        region: str | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        max_connections: int = 20,
        pacing_home: Path | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            workspace=workspace,
            retry=retry,
            rate_limit=rate_limit,
            region=region,
            user_agent=user_agent,
            pacing_home=pacing_home,
        )
        self._client = httpx.Client(
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            transport=transport,
            trust_env=False,
            limits=httpx.Limits(max_connections=max_connections),
        )

    def request(self, call: Call) -> ApiResponse:
        """Send ``call`` with retries; the answer, or the error from :mod:`errors`."""
        self.stats.requests += 1
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            wait = self.pacer.reserve()
            if wait > 0:
                time.sleep(wait)
            t0 = time.monotonic()
            try:
                response = self._client.request(**self.request_args(call))
            except httpx.HTTPError as exc:
                failure = self.from_exception(call, exc)
                self.log_attempt(call, attempt, failure.reason, time.monotonic() - t0)
            else:
                self.log_attempt(call, attempt, response.status_code, time.monotonic() - t0)
                result = self.interpret(call, response, attempt)
                if isinstance(result, ApiResponse):
                    return result
                failure = result
            time.sleep(self.decide(call, failure, attempt, started))

    def run(self, flow: Flow[T]) -> T:
        """Drive a flow of :class:`Call` / :class:`Sleep` / :class:`Blocking` steps."""
        return drive(flow, self.request)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncHttpClient(_HttpCore):
    """Asynchronous DashScope HTTP client (the same methods as :class:`HttpClient`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        workspace: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        rate_limit: float | None = None,
        region: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str | None = None,
        max_connections: int = 20,
        pacing_home: Path | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            workspace=workspace,
            retry=retry,
            rate_limit=rate_limit,
            region=region,
            user_agent=user_agent,
            pacing_home=pacing_home,
        )
        self._client = httpx.AsyncClient(
            timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
            transport=transport,
            trust_env=False,
            limits=httpx.Limits(max_connections=max_connections),
        )

    async def request(self, call: Call) -> ApiResponse:
        """Send ``call`` with retries; the answer, or the error from :mod:`errors`."""
        self.stats.requests += 1
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            wait = self.pacer.reserve()
            if wait > 0:
                await asyncio.sleep(wait)
            t0 = time.monotonic()
            try:
                response = await self._client.request(**self.request_args(call))
            except httpx.HTTPError as exc:
                failure = self.from_exception(call, exc)
                self.log_attempt(call, attempt, failure.reason, time.monotonic() - t0)
            else:
                self.log_attempt(call, attempt, response.status_code, time.monotonic() - t0)
                result = self.interpret(call, response, attempt)
                if isinstance(result, ApiResponse):
                    return result
                failure = result
            await asyncio.sleep(self.decide(call, failure, attempt, started))

    async def run(self, flow: Flow[T]) -> T:
        """Drive a flow; its :class:`Blocking` steps run in a thread, off the event loop."""
        return await adrive(flow, self.request)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> AsyncHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "NO_RETRY",
    "AmbiguousRequestError",
    "ApiResponse",
    "AsyncHttpClient",
    "Call",
    "Flow",
    "HttpClient",
    "HttpStats",
    "Pacer",
    "RetryCallback",
    "RetryNotice",
    "RetryPolicy",
    "Sleep",
]
