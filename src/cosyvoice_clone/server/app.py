"""The OpenAI-compatible speech API as a Starlette app (``create_app``).

Routes: ``POST /v1/audio/speech``, ``GET /v1/models``, ``GET /v1/audio/voices``, ``GET
/healthz``, and the voice studio: the page at ``/`` and its API under ``/studio/``
(:mod:`.studio`). Every failure is an :class:`~.protocol.APIError` rendered by one handler in
OpenAI's shape; library errors are mapped in :func:`library_error`.

Many clients at once: at most ``max_queue`` speech requests are admitted (waiting or speaking);
beyond that a request gets 429 with ``Retry-After``. Admitted requests reach the service in
arrival order through the library's process-wide submission limiter (3 tasks/s per model), so
none is refused by the service's own rate limit and none jumps the queue.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import catalog
from ..errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    ModelMismatchError,
    NotFoundError,
    RateLimitError,
    TimeoutError,
    VoiceDeployingError,
    VoiceRejectedError,
)
from ..synthesis.streaming import CONTENT_TYPES, SpeechChunks
from .library import SpeechLibrary, is_unknown_voice
from .protocol import OPENAI_MODELS, APIError, SpeechRequest, model_list, parse_speech, sse_event
from .security import Protection, default_protection, install  # security hook (issue 22)

access_log = logging.getLogger("cosyvoice_clone.server.access")
REQUEST_ID_HEADER = "X-DashScope-Request-Id"


@dataclass
class ServerConfig:
    """What ``cosyvoice-clone serve`` was started with."""

    api_keys: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    """OpenAI voice name (``alloy``) -> a voice id, registry prefix or system voice."""
    max_queue: int = 64
    """Speech requests admitted at once (waiting for the service or speaking)."""


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


# --------------------------------------------------------------------------- errors


_PARAMS = {"rate": "speed", "format": "response_format", "text": "input", "instruction":
           "instructions"}  # fmt: skip


def library_error(err: CosyVoiceCloneError) -> APIError:
    """The OpenAI-shaped answer for a library error (the one mapping)."""
    message = str(err)
    headers = {REQUEST_ID_HEADER: err.request_id} if err.request_id else {}
    if isinstance(err, ModelMismatchError):
        return APIError(400, message, param="model", code=err.code, headers=headers)
    if isinstance(err, InvalidRequestError):
        if is_unknown_voice(err):
            return APIError(404, message, param="voice", code="voice_not_found", headers=headers)
        param = _PARAMS.get(err.field or "", err.field)
        if param == "speed":
            message = f"speed maps to CosyVoice's rate: {message}"
        return APIError(400, message, param=param, code=err.code, headers=headers)
    if isinstance(err, (VoiceDeployingError, VoiceRejectedError)):
        return APIError(409, message, param="voice", code=err.code, headers=headers)
    if isinstance(err, NotFoundError):
        return APIError(404, message, param="voice", code="voice_not_found", headers=headers)
    if isinstance(err, RateLimitError):
        return APIError(429, message, type="rate_limit_error", code=err.code,
                        headers={**headers, "Retry-After": "1"})  # fmt: skip
    if isinstance(err, TimeoutError):
        return APIError(504, message, type="api_error", code=err.code, headers=headers)
    return APIError(502, message, type="api_error", code=err.code, headers=headers)


async def _render_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


# --------------------------------------------------------------------------- access log


@dataclass
class AccessEntry:
    """One access log line: what was asked and how it went; never the key or the text."""

    method: str
    path: str
    started: float = field(default_factory=time.monotonic)
    status: int = 200
    voice: str | None = None
    model: str | None = None
    characters: int | None = None
    format: str | None = None
    first_audio_ms: float | None = None
    request_id: str | None = None
    error: str | None = None

    def write(self) -> None:
        data = {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "voice": self.voice,
            "model": self.model,
            "characters": self.characters,
            "format": self.format,
            "first_audio_ms": self.first_audio_ms,
            "total_ms": round((time.monotonic() - self.started) * 1000, 1),
            "request_id": self.request_id,
        }
        if self.error:
            data["error"] = self.error
        access_log.info(json.dumps(data, ensure_ascii=False))


# --------------------------------------------------------------------------- the app


class SpeechServer:
    """The handlers, sharing the library, the config and the admission count."""

    def __init__(self, library: SpeechLibrary, config: ServerConfig) -> None:
        self.library = library
        self.config = config
        self.admission = Admission(config.max_queue)

    def authorize(self, request: Request) -> None:
        if not self.config.api_keys:
            return
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not any(
            hmac.compare_digest(key.encode(), k.encode()) for k in self.config.api_keys
        ):
            raise APIError(
                401,
                "invalid or missing API key: send `Authorization: Bearer KEY` with a key given "
                "to `cosyvoice-clone serve --api-key`",
                code="invalid_api_key",
            )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "region": self.library.region,
                "queue": {"active": self.admission.active, "limit": self.admission.limit},
            }
        )

    async def models(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(model_list([*OPENAI_MODELS, *self.library.models()]))

    async def voices(self, request: Request) -> Response:
        self.authorize(request)
        try:
            listed = await self.library.voices()
        except CosyVoiceCloneError as err:
            raise library_error(err) from None
        voices = [
            {
                "id": v.voice_id,
                "name": v.prefix or v.voice_id,
                "status": v.status,
                "model": v.target_model,
            }
            for v in listed
        ]
        aliases = [
            {"id": alias, "name": alias, "alias_of": target, "status": None, "model": None}
            for alias, target in self.config.aliases.items()
        ]
        system = [
            {
                "id": v.name,
                "name": v.label,
                "status": "OK",
                "model": v.default_model,
                "models": list(v.models),
                "system": True,
            }
            for v in self.library.system_voices()
        ]
        everything = aliases + voices + system
        return JSONResponse({"object": "list", "data": everything, "voices": everything})

    async def speech(self, request: Request) -> Response:
        entry = AccessEntry(request.method, request.url.path)
        try:
            self.authorize(request)
            req = parse_speech(await request.body(), self.library.formats())
            entry.voice, entry.model, entry.format = req.voice, req.model, req.response_format
            entry.characters = len(req.input)
            self.admission.enter()
        except APIError as err:
            entry.status = err.status
            entry.write()
            raise
        try:
            return await self._speak(req, entry)
        except BaseException as exc:
            self.admission.leave()
            if isinstance(exc, CosyVoiceCloneError):
                exc = library_error(exc)
            entry.status = exc.status if isinstance(exc, APIError) else 500
            entry.error = exc.code if isinstance(exc, APIError) else type(exc).__name__
            entry.write()
            raise exc from None

    @staticmethod
    async def first_audio(chunks: SpeechChunks) -> tuple[bytes, AsyncIterator[bytes]]:
        """The first audio and the rest: the answer's status is decided by the first audio (or
        the first failure, after which the chunks are closed)."""
        audio = chunks.__aiter__()
        try:
            first = await audio.__anext__()
        except StopAsyncIteration:
            first = b""
        except BaseException:
            await chunks.aclose()
            raise
        return first, audio

    async def _speak(self, req: SpeechRequest, entry: AccessEntry) -> Response:
        name = self.config.aliases.get(req.voice, req.voice)
        voice = await self.library.resolve_voice(name, req.cosyvoice_model)
        entry.voice = voice.voice_id
        chunks = self.library.speech(
            req.input,
            voice,
            model=req.cosyvoice_model,
            output_format=req.response_format,
            rate=req.speed,
            instruction=req.instructions,
        )
        entry.model = chunks.model
        first, audio = await self.first_audio(chunks)
        entry.first_audio_ms = round((time.monotonic() - entry.started) * 1000, 1)
        request_ids = chunks.request_ids
        entry.request_id = request_ids[0] if request_ids else None
        headers = {REQUEST_ID_HEADER: entry.request_id} if entry.request_id else {}

        done = False

        async def body() -> AsyncIterator[bytes]:
            nonlocal done
            try:
                async for data in _relay(first, audio, req.stream_format):
                    yield data
                if req.stream_format == "sse":
                    tokens = chunks.characters or len(req.input)
                    usage = {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}
                    yield sse_event({"type": "speech.audio.done", "usage": usage})
                entry.characters = chunks.characters or entry.characters
            except CosyVoiceCloneError as err:
                failed = library_error(err)
                entry.status, entry.error = failed.status, failed.code
                if req.stream_format != "sse":
                    raise  # the client sees a broken (incomplete) stream, not a short file
                yield sse_event({"type": "error", **failed.body()})
            done = True

        async def finish() -> None:
            if not done and entry.status == 200:
                entry.status, entry.error = 499, "client_disconnected"
            await chunks.aclose()  # cancels the tasks on the service if the client left
            self.admission.leave()
            entry.write()

        media = "text/event-stream" if req.stream_format == "sse" else CONTENT_TYPES[
            req.response_format]  # fmt: skip
        return _Streaming(body(), finish, media_type=media, headers=headers)


class _Streaming(StreamingResponse):
    """A streamed answer whose cleanup runs however it ends (done, failed, client gone)."""

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


async def _relay(
    first: bytes, rest: AsyncIterator[bytes], stream_format: str
) -> AsyncIterator[bytes]:
    def wrap(data: bytes) -> bytes:
        if stream_format == "sse":
            audio = base64.b64encode(data).decode()
            return sse_event({"type": "speech.audio.delta", "audio": audio})
        return data

    if first:
        yield wrap(first)
    async for data in rest:
        yield wrap(data)


def create_app(
    library: SpeechLibrary,
    config: ServerConfig | None = None,
    protection: Protection | None = None,  # security hook (issue 22)
) -> Starlette:
    """The ASGI app serving ``library`` (closed when the app shuts down), behind the local
    server's protections (:mod:`.security`; by default for a loopback server)."""
    server = SpeechServer(library, config or ServerConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await library.aclose()

    handler: Callable[[Request, Exception], Awaitable[Response]] = _render_error
    from .studio import Studio

    studio = Studio(server)
    app = Starlette(
        routes=[
            Route("/v1/audio/speech", server.speech, methods=["POST"]),
            Route("/v1/models", server.models, methods=["GET"]),
            Route("/v1/audio/voices", server.voices, methods=["GET"]),
            Route("/healthz", server.healthz, methods=["GET"]),
            *studio.routes(),
        ],
        lifespan=lifespan,
        exception_handlers={APIError: handler},
    )
    app.state.server = server
    app.state.studio = studio
    # security hook (issue 22): Host/Origin checks, studio token, limits, redaction
    install(app, protection or default_protection(library.settings, server.config.api_keys))
    return app
