"""The OpenAI-compatible handlers: ``POST /v1/audio/speech``, ``GET /v1/models``,
``GET /v1/models/{id}``, ``GET /v1/audio/models``, ``GET /v1/audio/voices``, ``GET /healthz``
(routed in :mod:`.app`).

Each parses OpenAI's request (:mod:`.protocol`), makes one call on the client
(:meth:`~cosyvoice_clone.client.AsyncCosyVoice.stream_speech`, ``voices.list``,
``voices.system``) and renders the typed result. OpenAI's leniencies are kept, each said in a
header: ``speed`` 0.25-4.0 clamped to CosyVoice's 0.5-2.0, ``instructions`` ignored on
``tts-1``/``tts-1-hd`` (and with an OpenAI model on a voice whose model takes none),
``--default-voice`` for OpenAI's names and unknown names (never for a CosyVoice voice id). Many
clients at once: at most ``max_queue`` speech requests are admitted (waiting or speaking);
beyond that a request gets 429 with ``Retry-After``. Admitted requests reach the service in
arrival order through the library's submission limiter (3 tasks/s per model).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import catalog
from ..client import AsyncAudioStream
from ..errors import CosyVoiceCloneError, InvalidRequestError, UnknownVoiceError
from .access import AccessEntry, entry_of
from .plumbing import (
    REQUEST_ID_HEADER,
    Doors,
    SelfCleaningStream,
    aac_available,
    answer_for,
    call,
)
from .protocol import (
    NO_INSTRUCTION_MODELS,
    OPENAI_MODELS,
    OPENAI_SAMPLE_RATE,
    OPENAI_VOICES,
    SERVICE_RATE_RANGE,
    APIError,
    SpeechRequest,
    clamp_speed,
    is_openai_model,
    model_list,
    model_object,
    parse_speech,
    sse_event,
)
from .wording import Audience


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

    @staticmethod
    def model_names() -> list[str]:
        return [*OPENAI_MODELS, *catalog.synthesis_models()]

    async def models(self, request: Request) -> Response:
        """``GET /v1/models`` and ``GET /v1/audio/models`` (Open WebUI reads ``models``)."""
        self.doors.authorize(request, discovery=True)
        return JSONResponse(model_list(self.model_names()))

    async def model(self, request: Request) -> Response:
        """``GET /v1/models/{model}``."""
        self.doors.authorize(request, discovery=True)
        name = request.path_params["model"]
        if name not in self.model_names():
            raise APIError(404, f"the model {name!r} does not exist here: GET /v1/models lists "
                           "them", param="model", code="model_not_found")  # fmt: skip
        return JSONResponse(model_object(name))

    async def voices(self, request: Request) -> Response:
        self.doors.authorize(request, discovery=True)
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
        entry = entry_of(request.scope)
        self.doors.authorize(request)
        req = parse_speech(await request.body())
        entry.voice, entry.model, entry.format = req.voice, req.model, req.response_format
        entry.characters, entry.stream_format = len(req.input), req.stream_format
        formats = speech_formats()
        if req.response_format not in formats:
            why = " (aac needs PyAV on the server)" if req.response_format == "aac" else ""
            raise APIError(400, f"unsupported response_format {req.response_format!r}{why}: "
                           f"use one of {', '.join(formats)}", param="response_format",
                           code="invalid_request")  # fmt: skip  # the library's code
        self.doors.admission.enter()
        try:
            return await self._speak(req, entry)
        except BaseException as exc:
            self.doors.admission.leave()
            if isinstance(exc, CosyVoiceCloneError):
                exc = answer_for(exc, Audience.API)
            raise exc from None

    async def _open(self, req: SpeechRequest, entry: AccessEntry, headers: dict[str, str]
                    ) -> AsyncAudioStream:  # fmt: skip
        """The stream, with OpenAI's leniencies: speed clamped, instructions ignored where
        OpenAI ignores them, the default voice for OpenAI names and unknown names."""
        config = self.doors.config
        voice = config.aliases.get(req.voice, req.voice)
        rate = clamp_speed(req.speed)
        if rate != req.speed:
            low, high = SERVICE_RATE_RANGE
            headers["X-CosyVoice-Speed-Clamped"] = f"{rate} (asked {req.speed}; CosyVoice "
            headers["X-CosyVoice-Speed-Clamped"] += f"speaks at {low} to {high})"
            entry.notes.append(f"speed {req.speed} -> {rate}")
        instruction = req.instructions
        if instruction and req.model in NO_INSTRUCTION_MODELS:
            instruction = None
            headers["X-CosyVoice-Instructions-Ignored"] = f"{req.model} takes no instructions"
            entry.notes.append("instructions ignored")
        fallback = config.default_voice
        if fallback and voice in OPENAI_VOICES and voice not in config.aliases:
            voice = self._fall_back(req.voice, fallback, headers, entry)
            fallback = None
        while True:
            try:
                return await self.client.stream_speech(
                    req.input, voice=voice, model=req.cosyvoice_model,
                    format=req.response_format, sample_rate=OPENAI_SAMPLE_RATE, rate=rate,
                    instruction=instruction, concurrency=config.concurrency,
                    retries=config.retries,
                )  # fmt: skip  # returns once the first audio arrived
            except UnknownVoiceError:
                if not fallback or looks_like_voice_id(voice):
                    raise  # a CosyVoice voice id is never swapped for another
                voice = self._fall_back(voice, fallback, headers, entry)
                fallback = None
            except InvalidRequestError as err:
                lacks = err.field == "instruction" and err.allowed is not None
                if not (lacks and instruction and is_openai_model(req.model)):
                    raise
                instruction = None  # refused before anything was sent
                headers["X-CosyVoice-Instructions-Ignored"] = "the voice's model takes none"
                entry.notes.append("instructions ignored")

    @staticmethod
    def _fall_back(asked: str, default: str, headers: dict[str, str], entry: AccessEntry) -> str:
        shown = asked.encode("ascii", "replace").decode()
        headers["X-CosyVoice-Default-Voice"] = f"{shown} is not a voice here: spoke {default}"
        entry.notes.append(f"default voice for {asked}")
        return default

    async def _speak(self, req: SpeechRequest, entry: AccessEntry) -> Response:
        headers: dict[str, str] = {}
        stream = await self._open(req, entry, headers)
        entry.voice, entry.model = stream.voice, stream.model
        entry.mark_first_audio()
        request_ids = stream.request_ids
        entry.request_id = request_ids[0] if request_ids else None
        if entry.request_id:
            headers[REQUEST_ID_HEADER] = entry.request_id
        headers["X-CosyVoice-Voice"] = stream.voice
        headers["X-CosyVoice-Model"] = stream.model
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

        media = "text/event-stream" if req.stream_format == "sse" else stream.media_type
        return SelfCleaningStream(body(), finish, media_type=media, headers=headers)


def looks_like_voice_id(name: str) -> bool:
    """Whether ``name`` is shaped like a CosyVoice voice id (``cosyvoice-v3.5-plus-...``)."""
    return any(name.startswith(f"{model}-") for model in catalog.synthesis_models())


def speech_formats() -> list[str]:
    """OpenAI's ``response_format`` values this server can produce (aac only with PyAV)."""
    return [f for f in ("mp3", "opus", "aac", "flac", "wav", "pcm")
            if f != "aac" or aac_available()]  # fmt: skip


async def _relay(stream: AsyncAudioStream, stream_format: str) -> AsyncIterator[bytes]:
    async for data in stream:
        if stream_format == "sse":
            audio = base64.b64encode(data).decode()
            yield sse_event({"type": "speech.audio.delta", "audio": audio})
        else:
            yield data
