"""What every route of the server shares: the key check, admission, the one error mapping, the
self-cleaning stream, and reading a JSON body.

- :class:`ServerConfig`: what ``cosyvoice-clone serve`` was started with;
- :class:`Doors`: the client and config every handler holds, with the admission count and
  :meth:`Doors.authorize`;
- :func:`answer_for`: a library error as the server's one error shape (OpenAI's), its hint
  worded for HTTP or studio users (:mod:`.wording`) from the error's ``next_step``;
- :class:`SelfCleaningStream`: a streamed answer whose cleanup runs however it ends.
"""

from __future__ import annotations

import hmac
import importlib.util
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .. import catalog
from ..client import AsyncCosyVoice
from ..errors import (
    BadSampleError,
    ConfigError,
    CosyVoiceCloneError,
    InvalidRequestError,
    MissingCredentialsError,
    ModelMismatchError,
    NotFoundError,
    OperationTimeoutError,
    QuotaExceededError,
    RateLimitError,
    SampleRejectedError,
    SampleUnreadableError,
    UnknownVoiceError,
    VoiceDeployingError,
    VoiceRejectedError,
)
from .protocol import APIError
from .wording import Audience, hint_for

REQUEST_ID_HEADER = "X-DashScope-Request-Id"


@dataclass
class ServerConfig:
    """What ``cosyvoice-clone serve`` was started with."""

    api_keys: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    """OpenAI voice name (``alloy``) -> a voice id, registry prefix or system voice."""
    max_queue: int = 64
    """Speech requests admitted at once (waiting for the service or speaking)."""
    concurrency: int = 4
    """Parts of one long text spoken at once (``stream_speech(concurrency=)``)."""
    retries: int = 2
    """Retries of a failed part (``stream_speech(retries=)``)."""
    open_discovery: bool = False
    """The model and voice lists answer without the key (speech and every change still need
    it): Open WebUI and wyoming-openai ask them without one."""
    default_voice: str | None = None
    """Spoken for OpenAI voice names (``nova``) and unknown names (not for a deleted or
    mismatched CosyVoice voice, which stay 404/400)."""
    voice_model: str = "cosyvoice-v3.5-plus"
    """The target model of voices made through ``POST /v1/audio/voices`` (unless the request
    names one)."""
    voice_wait: float = 30.0
    """Seconds ``POST /v1/audio/voices`` waits for a new voice to be OK before it answers with
    the voice still deploying (``"status": "DEPLOYING"``)."""


class Admission:
    """A bounded count of speech requests in flight."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.active = 0

    def enter(self) -> None:
        if self.active >= self.limit:
            wait = math.ceil((self.active + 1) / catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL)
            raise APIError(
                429,
                f"the server's queue is full ({self.limit} requests); try again in {wait} s",
                type="rate_limit_error",
                code="queue_full",
                headers={"Retry-After": str(wait)},
            )
        self.active += 1

    def leave(self) -> None:
        self.active -= 1


class Doors:
    """The client, the config and the admission count, shared by every handler."""

    def __init__(self, client: AsyncCosyVoice, config: ServerConfig) -> None:
        self.client = client
        self.config = config
        self.admission = Admission(config.max_queue)

    def authorize(self, request: Request, *, discovery: bool = False) -> None:
        """Refuse (401) a request without one of the server's keys, when it has keys
        (``discovery``: a model or voice list, open with ``--open-discovery``)."""
        if not self.config.api_keys or (discovery and self.config.open_discovery):
            return
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not any(
            hmac.compare_digest(key.encode(), k.encode()) for k in self.config.api_keys
        ):
            raise APIError(
                401,
                "invalid or missing API key: send `Authorization: Bearer KEY` with one of the "
                "keys this server was started with (ask its owner)",
                code="invalid_api_key",
            )


# --------------------------------------------------------------------------- errors


_OPENAI_PARAMS = {"rate": "speed", "format": "response_format", "text": "input",
                  "instruction": "instructions", "voice_id": "voice"}  # fmt: skip
"""The library's field names as OpenAI's speech request names them."""
_STUDIO_PARAMS = {"voice_id": "voice", "voice_prompt": "voice_prompt"}


def _status(err: CosyVoiceCloneError) -> tuple[int, str]:
    """The HTTP status and OpenAI error type of a library error (the tree in :mod:`..errors`)."""
    if isinstance(err, (UnknownVoiceError, NotFoundError)):
        return 404, "invalid_request_error"
    if isinstance(err, (SampleUnreadableError, SampleRejectedError)):
        return 422, "invalid_request_error"
    if isinstance(err, (InvalidRequestError, BadSampleError)):
        return 400, "invalid_request_error"
    if isinstance(err, (VoiceDeployingError, VoiceRejectedError)):
        return 409, "invalid_request_error"
    if isinstance(err, (RateLimitError, QuotaExceededError)):
        return 429, "rate_limit_error"
    if isinstance(err, OperationTimeoutError):
        return 504, "api_error"
    if isinstance(err, (ConfigError, MissingCredentialsError)):
        return 500, "api_error"
    return 502, "api_error"


def _param(err: CosyVoiceCloneError, audience: Audience) -> str | None:
    """The request field (API) or page control (studio) to blame."""
    if isinstance(err, (SampleRejectedError, SampleUnreadableError, BadSampleError)):
        return "sample"
    if isinstance(err, ModelMismatchError):
        return "model" if audience is Audience.API else "voice"
    if isinstance(err, UnknownVoiceError):
        return "voice"
    if isinstance(err, InvalidRequestError):
        names = _OPENAI_PARAMS if audience is Audience.API else _STUDIO_PARAMS
        return names.get(err.field or "", err.field)
    if isinstance(err, (NotFoundError, VoiceDeployingError, VoiceRejectedError)):
        return "voice"
    return None


def answer_for(err: CosyVoiceCloneError, audience: Audience = Audience.API) -> APIError:
    """The one mapping of a library error to the server's answer: status, OpenAI type, the
    field to blame, the library's ``code`` (the same through every door), and the message
    with a hint worded for ``audience``."""
    status, kind = _status(err)
    param = _param(err, audience)
    message = err.message
    if audience is Audience.API and param == "speed":
        message = f"speed maps to CosyVoice's rate: {message}"
    hint = hint_for(err, audience)
    if hint:
        message = f"{message} — {hint}"
    if err.request_id:
        message += f" (request_id {err.request_id})"
    headers = {REQUEST_ID_HEADER: err.request_id} if err.request_id else {}
    if isinstance(err, QuotaExceededError):
        headers["x-should-retry"] = "false"  # the openai package would retry it twice
    elif status == 429:
        headers["Retry-After"] = "1"
    return APIError(status, message, type=kind, param=param, code=err.code, headers=headers)


_PRIVATE_PATHS: dict[str, str] = {}
"""Local paths no client-facing message shows (the home, the checkout, the environment)."""


def hide_paths(**paths: str | Path | None) -> None:
    """Replace these paths (name -> path) in every error message by ``<name>``."""
    for name, path in paths.items():
        if path and len(str(path)) > 1:
            _PRIVATE_PATHS[str(path)] = f"<{name}>"


def scrub(message: str) -> str:
    """``message`` without a local path (longest first: the home may lie under the checkout)."""
    for path in sorted(_PRIVATE_PATHS, key=len, reverse=True):
        message = message.replace(path, _PRIVATE_PATHS[path])
    return message


async def render_error(request: Request, exc: Exception) -> Response:
    """The one exception handler: an :class:`APIError` (or Starlette's 404/405) as OpenAI's
    JSON error, without local paths."""
    if isinstance(exc, HTTPException):
        exc = _http_error(request, exc)
    assert isinstance(exc, APIError)
    exc.message = scrub(exc.message)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _http_error(request: Request, exc: HTTPException) -> APIError:
    where = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        return APIError(404, f"no route {where}: see GET /v1/models, /v1/audio/voices, "
                        "POST /v1/audio/speech", code="unknown_url")  # fmt: skip
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return APIError(405, f"{request.method} is not allowed on {request.url.path}"
                        + (f": use {allow}" if allow else ""), code="method_not_allowed",
                        headers={"Allow": allow} if allow else None)  # fmt: skip
    kind = "api_error" if exc.status_code >= 500 else "invalid_request_error"
    return APIError(exc.status_code, f"{where}: {exc.detail}", type=kind,
                    code="http_error")  # fmt: skip


async def call(work: Awaitable[Any], audience: Audience) -> Any:
    """Await a library call, its error as the server's answer."""
    try:
        return await work
    except CosyVoiceCloneError as err:
        raise answer_for(err, audience) from None


# --------------------------------------------------------------------------- streaming


def aac_available() -> bool:
    """Whether this install can encode aac (PyAV, the ``m4a`` extra): aac is offered (speech,
    the studio's formats) only then."""
    return importlib.util.find_spec("av") is not None


class SelfCleaningStream(StreamingResponse):
    """A streamed answer whose ``finish`` runs however it ends (done, failed, client gone)."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        finish: Callable[[], Awaitable[None]],
        *,
        media_type: str,
        headers: dict[str, str],
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self.finish = finish

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.finish()


# --------------------------------------------------------------------------- JSON bodies


def invalid(message: str, param: str, status: int = 400) -> APIError:
    """A refusal of one field of a request, before the library is asked."""
    return APIError(status, message, param=param, code="invalid_value")


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty body)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise APIError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str) -> str | None:
    """A text field, stripped (``None`` when absent or blank)."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"{name} must be text", name)
    return value.strip() or None


def number_field(body: dict[str, Any], name: str) -> float | None:
    """A number field, given as a number or as text (``None`` when absent or blank)."""
    value = body.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid(f"{name} must be a number, not {value!r}", name) from None
