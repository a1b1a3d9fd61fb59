"""The emulator's Starlette app: one list of routes over one :class:`Backend`.

Routes (``{base}`` is ``/api/v1``):

- ``POST {base}/services/audio/tts/customization`` — voice enrollment (five actions);
- ``POST {base}/services/audio/tts/SpeechSynthesizer`` — HTTP synthesis, plain or SSE
  (``http_tts.py``);
- ``GET {base}/uploads?action=getPolicy&model=M`` — temporary-upload policy;
- ``POST /_oss``, ``GET /_oss/{key}`` — the stand-in OSS host;
- ``WS /api-ws/v1/inference`` (and with a trailing slash) — speech synthesis (``tts.py``; the
  key as a Bearer header or ``?api_key=``);
- ``/_emulator/...`` — admin, loopback clients only: ``GET health``, ``GET state``,
  ``GET|POST config`` (JSON object of settings, ``faults`` as a spec string or object),
  ``POST reset``, ``POST settle`` (``{"voice_id"?, "status": "OK"|"UNDEPLOYED"}``: end
  deployment now), ``GET samples/{name}`` (the packaged reference sample, for http sample URLs),
  ``GET requests[?endpoint=E]`` (what clients sent, per endpoint, credentials removed).

The API endpoints share one decorator (:func:`api_endpoint`: key, rate limit, injected faults);
service refusals are :class:`~.exceptions.ApiError` exceptions rendered by one registered handler
as ``{"request_id", "code", "message"}`` with the right status (and ``Retry-After`` on 429).
Routes only parse the wire and call the :class:`~.backend.Backend`; :func:`routes` lists them all
and :func:`create_app` takes the middleware to wrap them in (e.g. a Host check).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette import status
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from ..server.serving import is_loopback
from .backend import Backend
from .enrollment import MAX_BODY_BYTES, parse_envelope, run_action
from .exceptions import ApiError, DropConnection, internal_error, invalid_parameter, rate_limited
from .uploads import OSS_PATH, oss_get, oss_post
from .wire import bearer_key, read_capped, read_json, request_id, wire_view

API_PREFIX = "/api/v1"
WEBSOCKET_PATH = "/api-ws/v1/inference"
ADMIN_PREFIX = "/_emulator"


def error_response(exc: ApiError, rid: str | None = None) -> JSONResponse:
    """The service's JSON error body for ``exc``."""
    rid = rid or request_id()
    headers = {"x-request-id": rid, **exc.headers}
    return JSONResponse(
        {"request_id": rid, "code": exc.code, "message": exc.message},
        status_code=exc.status,
        headers=headers,
    )


async def _api_error_handler(request: Request, exc: Exception) -> Response:
    """Render every :class:`ApiError` (counted per endpoint as ``{endpoint}:error:{code}``)."""
    assert isinstance(exc, ApiError)
    endpoint = getattr(request.state, "endpoint", None)
    if endpoint is not None:
        request.app.state.backend.count(f"{endpoint}:error:{exc.code}")
    return error_response(exc, getattr(request.state, "request_id", None))


async def _internal_error_handler(request: Request, exc: Exception) -> Response:
    return error_response(internal_error())


def require_key(backend: Backend, conn: HTTPConnection) -> None:
    """Raise 401 ``InvalidApiKey`` unless the request carries a configured key."""
    key = bearer_key(conn)
    if key is None:
        raise ApiError(401, "InvalidApiKey", "No API-key provided.")
    if not backend.authorized(key):
        raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")


def injected_http_fault(backend: Backend) -> ApiError | None:
    """The HTTP fault that fires for this request, if any (500, 503 or 429)."""
    if backend.fault("http500"):
        return internal_error()
    if backend.fault("http503"):
        return ApiError(503, "ServiceUnavailable", "Service is temporarily unavailable.")
    if backend.fault("http429"):
        return ApiError(
            429,
            "Throttling.RateQuota",
            "Requests rate limit exceeded, please try again later.",
            headers={"Retry-After": "1"},
        )
    return None


Handler = Callable[[Request, Backend, str], Awaitable[Response]]


def api_endpoint(
    name: str, *, limit: Callable[[Backend], float | None] | None = None
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """An API endpoint: key check, then the rate ``limit`` (seconds to wait, or ``None``), then
    the injected HTTP faults, then ``handler(request, backend, request_id)``.

    Refusals are raised as :class:`ApiError` and rendered by the app's one handler.
    """

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            backend: Backend = request.app.state.backend
            rid = request.state.request_id = request_id()
            request.state.endpoint = name
            require_key(backend, request)
            if limit is not None:
                wait = limit(backend)
                if wait is not None:
                    backend.count(f"{name}:rate_limited")
                    raise rate_limited(wait)
            fault = injected_http_fault(backend)
            if fault is not None:
                backend.count(f"fault:http{fault.status}")
                raise fault
            return await handler(request, backend, rid)

        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


async def abort_connection(request: Request) -> None:
    """Drop the TCP connection without sending a response (uvicorn); else raise."""
    receive = request.receive
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        for _ in range(3):  # let uvicorn notice (connection_lost) before we return
            await asyncio.sleep(0)
        return
    raise ConnectionAbortedError("drop_after_commit")  # pragma: no cover - non-uvicorn servers


@api_endpoint("enrollment", limit=Backend.allow_enrollment)
async def customization(request: Request, backend: Backend, rid: str) -> Response:
    """``POST {base}/services/audio/tts/customization``."""
    action, data = parse_envelope(await read_json(request, MAX_BODY_BYTES, "enrollment"))
    headers = {k.lower(): v for k, v in request.headers.items()}
    client = getattr(request.app.state, "http_client", None)
    try:
        output = await run_action(backend, action, data, headers, client=client)
    except DropConnection:
        await abort_connection(request)
        return Response(status_code=500)  # never sent: the connection is gone
    backend.count(f"enrollment:{action}")
    return JSONResponse(
        {"output": output, "usage": {"count": 1}, "request_id": rid},
        headers={"x-request-id": rid},
    )


@api_endpoint("upload_policy", limit=Backend.allow_upload_policy)
async def upload_policy(request: Request, backend: Backend, rid: str) -> Response:
    """``GET {base}/uploads?action=getPolicy&model=M``: the policy under ``data``."""
    backend.record("upload_policy", {"method": request.method, **wire_view(request)})
    if request.query_params.get("action") != "getPolicy":
        raise ApiError(400, "InvalidParameter", "Unsupported action; use action=getPolicy.")
    model = request.query_params.get("model")
    if not model:
        raise ApiError(400, "InvalidParameter", "Missing required parameter: model.")
    upload_host = str(request.base_url).rstrip("/") + OSS_PATH
    data = backend.issue_upload_policy(model, upload_host)
    backend.count("upload_policy")
    return JSONResponse({"request_id": rid, "data": data}, headers={"x-request-id": rid})


@api_endpoint("http_synthesis")
async def http_synthesis(request: Request, backend: Backend, rid: str) -> Response:
    """``POST {base}/services/audio/tts/SpeechSynthesizer`` (see ``http_tts.py``)."""
    from .http_tts import synthesize

    return await synthesize(request, rid)


# -- admin ---------------------------------------------------------------------------------------


def _is_loopback(conn: HTTPConnection) -> bool:
    client = conn.client
    if client is None:
        return False
    return client.host == "testclient" or is_loopback(client.host)


def _admin(
    handler: Callable[[Request, Backend], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if not _is_loopback(request):
            return JSONResponse(
                {"code": "AccessDenied", "message": "The admin API answers loopback clients only."},
                status_code=403,
            )
        return await handler(request, request.app.state.backend)

    return endpoint


async def _health(request: Request, backend: Backend) -> Response:
    return JSONResponse({"ok": True, "region": backend.config.region})


async def _state(request: Request, backend: Backend) -> Response:
    return JSONResponse(backend.snapshot())


async def _config(request: Request, backend: Backend) -> Response:
    if request.method == "POST":
        try:
            changes: Any = json.loads(await read_capped(request, 64 * 1024) or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of settings")
            backend.config.update(changes)
        except ValueError as exc:  # includes JSON errors and FaultSpecError
            raise invalid_parameter(str(exc)) from None
    return JSONResponse(backend.config.to_dict())


async def _reset(request: Request, backend: Backend) -> Response:
    backend.reset(config=request.query_params.get("config", "true").lower() != "false")
    return JSONResponse({"ok": True})


async def _settle(request: Request, backend: Backend) -> Response:
    try:
        args: Any = json.loads(await read_capped(request, 64 * 1024) or b"{}")
        if not isinstance(args, dict):
            raise ValueError("the body must be a JSON object")
        voice_id = args.get("voice_id")
        if voice_id is not None and not isinstance(voice_id, str):
            raise ValueError("voice_id must be a string")
        changed = backend.settle(voice_id, status=str(args.get("status", "OK")))
    except ValueError as exc:
        raise invalid_parameter(str(exc)) from None
    return JSONResponse({"ok": True, "changed": changed})


async def _requests(request: Request, backend: Backend) -> Response:
    return JSONResponse(backend.recorded(request.query_params.get("endpoint")))


async def _sample(request: Request, backend: Backend) -> Response:
    from importlib import resources

    name = request.path_params["name"]
    if name != "reference_en.wav":
        return JSONResponse({"code": "NotFound", "message": "no such sample"}, status_code=404)
    data = resources.files("cosyvoice_clone").joinpath("data").joinpath(name).read_bytes()
    return Response(data, media_type="audio/wav")


# -- synthesis -----------------------------------------------------------------------------------


async def inference(websocket: WebSocket) -> None:
    """Hand the WebSocket to the synthesis endpoint (``tts.py``), if it is installed."""
    try:
        from . import tts
    except ModuleNotFoundError as exc:  # the synthesis side is not there yet
        if exc.name != f"{__package__}.tts":
            raise
        await websocket.close(
            code=status.WS_1011_INTERNAL_ERROR, reason="speech synthesis is not available"
        )
        return
    await tts.inference_endpoint(websocket)


def routes() -> list[BaseRoute]:
    """Every route of the emulator (the app's state holds the backend they serve)."""
    return [
        Route(f"{API_PREFIX}/services/audio/tts/customization", customization, methods=["POST"]),
        Route(f"{API_PREFIX}/services/audio/tts/customization/", customization, methods=["POST"]),
        Route(
            f"{API_PREFIX}/services/audio/tts/SpeechSynthesizer", http_synthesis, methods=["POST"]
        ),
        Route(f"{API_PREFIX}/uploads", upload_policy, methods=["GET"]),
        Route(f"{API_PREFIX}/uploads/", upload_policy, methods=["GET"]),
        Route(OSS_PATH, oss_post, methods=["POST"]),
        Route(OSS_PATH + "/", oss_post, methods=["POST"]),
        Route(OSS_PATH + "/{key:path}", oss_get, methods=["GET"]),
        WebSocketRoute(WEBSOCKET_PATH, inference),
        WebSocketRoute(WEBSOCKET_PATH + "/", inference),
        Route(f"{ADMIN_PREFIX}/health", _admin(_health), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/state", _admin(_state), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/config", _admin(_config), methods=["GET", "POST"]),
        Route(f"{ADMIN_PREFIX}/reset", _admin(_reset), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/settle", _admin(_settle), methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/requests", _admin(_requests), methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/samples/{{name}}", _admin(_sample), methods=["GET"]),
    ]


def create_app(backend: Backend, *, middleware: Sequence[Middleware] = ()) -> Starlette:
    """The ASGI app serving ``backend``, wrapped in ``middleware`` (outermost first)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from .fetch import new_client

        async with new_client() as client:
            app.state.http_client = client
            try:
                yield
            finally:
                app.state.http_client = None

    app = Starlette(
        routes=routes(),
        middleware=list(middleware),
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error_handler,
            Exception: _internal_error_handler,
        },
    )
    app.state.backend = backend
    # security hook (issue 22): Host and Origin checks (DNS rebinding, cross-site pages)
    from ..server.security import Protection, install

    install(app, Protection(speech_server=False))
    return app
