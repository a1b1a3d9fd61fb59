"""The OpenAI-compatible handlers: ``POST /v1/audio/speech``, ``GET /v1/models``,
``GET /v1/audio/voices``, ``GET /healthz`` (routed in :mod:`.app`).

Each parses OpenAI's request (:mod:`.protocol`), makes one call on the client
(:meth:`~cosyvoice_clone.client.AsyncCosyVoice.stream_speech`, ``voices.list``,
``voices.system``) and renders the typed result. Many clients at once: at most ``max_queue``
speech requests are admitted (waiting or speaking); beyond that a request gets 429 with
``Retry-After``. Admitted requests reach the service in arrival order through the library's
submission limiter (3 tasks/s per model), so none is refused by the service's own rate limit.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import catalog
from ..client import AsyncAudioStream
from ..errors import CosyVoiceCloneError
from .plumbing import REQUEST_ID_HEADER, Doors, SelfCleaningStream, answer_for, call
from .protocol import (
    OPENAI_MODELS,
    OPENAI_SAMPLE_RATE,
    APIError,
    SpeechRequest,
    model_list,
    parse_speech,
    sse_event,
)
from .wording import Audience

access_log = logging.getLogger("cosyvoice_clone.server.access")


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


class SpeechAPI:
    """The OpenAI-shaped handlers over the shared :class:`~.plumbing.Doors`."""

    def __init__(self, doors: Doors) -> None:
        self.doors = doors
        self.client = doors.client

    async def healthz(self, request: Request) -> Response:
        admission = self.doors.admission
        return JSONResponse(
            {
                "status": "ok",
                "region": self.client.region,
                "queue": {"active": admission.active, "limit": admission.limit},
            }
        )

    async def models(self, request: Request) -> Response:
        self.doors.authorize(request)
        return JSONResponse(model_list([*OPENAI_MODELS, *catalog.synthesis_models()]))

    async def voices(self, request: Request) -> Response:
        self.doors.authorize(request)
        listed = await call(self.client.voices.list(), Audience.API)
        system = await self.client.voices.system()
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
            for alias, target in self.doors.config.aliases.items()
        ]
        presets = [
            {
                "id": v.name,
                "name": v.label,
                "status": catalog.VoiceStatus.OK,
                "model": v.default_model,
                "models": list(v.models),
                "system": True,
            }
            for v in system
        ]
        everything = aliases + voices + presets
        return JSONResponse({"object": "list", "data": everything, "voices": everything})

    async def speech(self, request: Request) -> Response:
        entry = AccessEntry(request.method, request.url.path)
        try:
            self.doors.authorize(request)
            req = parse_speech(await request.body())
            entry.voice, entry.model, entry.format = req.voice, req.model, req.response_format
            entry.characters = len(req.input)
            self.doors.admission.enter()
        except APIError as err:
            entry.status = err.status
            entry.write()
            raise
        try:
            return await self._speak(req, entry)
        except BaseException as exc:
            self.doors.admission.leave()
            if isinstance(exc, CosyVoiceCloneError):
                exc = answer_for(exc, Audience.API)
            entry.status = exc.status if isinstance(exc, APIError) else 500
            entry.error = exc.code if isinstance(exc, APIError) else type(exc).__name__
            entry.write()
            raise exc from None

    async def _speak(self, req: SpeechRequest, entry: AccessEntry) -> Response:
        config = self.doors.config
        stream = await self.client.stream_speech(
            req.input,
            voice=config.aliases.get(req.voice, req.voice),
            model=req.cosyvoice_model,
            format=req.response_format,
            sample_rate=OPENAI_SAMPLE_RATE,
            rate=req.speed,
            instruction=req.instructions,
            concurrency=config.concurrency,
            retries=config.retries,
        )  # returns once the first audio arrived: refusals were raised before any byte
        entry.voice, entry.model = stream.voice, stream.model
        entry.first_audio_ms = round((time.monotonic() - entry.started) * 1000, 1)
        request_ids = stream.request_ids
        entry.request_id = request_ids[0] if request_ids else None
        headers = {REQUEST_ID_HEADER: entry.request_id} if entry.request_id else {}
        done = False

        async def body() -> AsyncIterator[bytes]:
            nonlocal done
            try:
                async for data in _relay(stream, req.stream_format):
                    yield data
                if req.stream_format == "sse":
                    tokens = stream.characters or len(req.input)
                    usage = {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}
                    yield sse_event({"type": "speech.audio.done", "usage": usage})
                entry.characters = stream.characters or entry.characters
            except CosyVoiceCloneError as err:
                failed = answer_for(err, Audience.API)
                entry.status, entry.error = failed.status, failed.code
                if req.stream_format != "sse":
                    raise  # the client sees a broken (incomplete) stream, not a short file
                yield sse_event({"type": "error", **failed.body()})
            done = True

        async def finish() -> None:
            if not done and entry.status == 200:
                entry.status, entry.error = 499, "client_disconnected"
            await stream.aclose()  # cancels the tasks on the service if the client left
            self.doors.admission.leave()
            entry.write()

        media = "text/event-stream" if req.stream_format == "sse" else stream.media_type
        return SelfCleaningStream(body(), finish, media_type=media, headers=headers)


async def _relay(stream: AsyncAudioStream, stream_format: str) -> AsyncIterator[bytes]:
    async for data in stream:
        if stream_format == "sse":
            audio = base64.b64encode(data).decode()
            yield sse_event({"type": "speech.audio.delta", "audio": audio})
        else:
            yield data
