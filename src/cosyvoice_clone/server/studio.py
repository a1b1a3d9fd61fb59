"""The voice studio: the page at ``/`` and its JSON API under ``/studio/api``.

The page (``static/``: plain HTML, CSS and ES modules) records or uploads a sample, checks and
repairs it, clones it (or designs a voice from a description, with its preview), auditions
the voice and manages voices. Every operation is one call
through :class:`~.library.SpeechLibrary`; this module only parses, stores what the browser
sent, and renders the library's results (``to_dict()``).

Routes (JSON unless said otherwise; errors in the server's one error shape, whose ``param`` names
the page control that caused them):

    GET    /                                  the page
    GET    /studio/static/...                 its scripts and styles
    GET    /studio/api/config                 region, clonable models and what each supports
    POST   /studio/api/samples?name=FILE      raw audio body -> a stored sample
    POST   /studio/api/samples/url            {"url"} -> a sample by URL
    GET    /studio/api/samples/{id}/audio     the stored audio (playback)
    POST   /studio/api/samples/{id}/check     {"target_model"} -> report + waveform
    POST   /studio/api/samples/{id}/fix       {"target_model"} -> repair + the new sample
    POST   /studio/api/clones                 clone options -> a job (202)
    POST   /studio/api/designs                design options -> a job (202)
    GET    /studio/api/previews/{token}       a designed voice's preview audio
    GET    /studio/api/jobs/{id}/events       the job's progress as server-sent events
    GET    /studio/api/voices?prefix=P        the voices
    GET    /studio/api/voices/{voice}         one voice
    DELETE /studio/api/voices/{voice}         delete it
    POST   /studio/api/voices/{voice}/sample  {"sample_id"} -> a job (new sample, wait for OK)
    POST   /studio/api/speech                 speech options -> URLs to listen and download
    GET    /studio/api/speech/{token}         the audio, streamed as it is synthesised

Long work (cloning, designing, a new sample) runs as a job whose events the page follows with
``EventSource``; job ids and speech tokens are unguessable, so the URLs the browser opens without
headers (``<audio src>``, ``EventSource``) need no key once the POST that made them was allowed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .. import catalog
from ..errors import (
    BadSampleError,
    CosyVoiceCloneError,
    InvalidRequestError,
    ModelMismatchError,
    NotFoundError,
    SampleRejectedError,
    VoiceDeployingError,
    VoiceRejectedError,
)
from ..synthesis.streaming import CONTENT_TYPES, SpeechChunks
from .library import SpeakingVoice
from .protocol import APIError, sse_event

if TYPE_CHECKING:
    from .app import SpeechServer

STATIC_DIR = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 4 * catalog.SAMPLE_MAX_BYTES
"""What the studio accepts from the browser; the check says what the service accepts."""
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")
_SAFE_NAME = re.compile(r"[^\w.-]+")
_KEPT_SPEECH = 32
"""Finished syntheses kept in memory for replay and download."""
_KEPT_PREVIEWS = 16
"""Design previews kept in memory for the page's player."""


# --------------------------------------------------------------------------- errors


def studio_error(err: CosyVoiceCloneError) -> APIError:
    """The library error as the server renders it, ``param`` naming the control to blame."""
    from .app import library_error

    base = library_error(err)
    param: str | None = None
    if isinstance(err, (SampleRejectedError, BadSampleError)):
        param = "sample"
    elif isinstance(err, ModelMismatchError):
        param = "voice"
    elif isinstance(err, InvalidRequestError):
        param = err.field
    elif isinstance(err, (NotFoundError, VoiceDeployingError, VoiceRejectedError)):
        param = "voice"
    if param == "voice_id":
        param = "voice"
    # The library's hints name CLI commands and server paths; the page says what to press.
    message = err.message
    if isinstance(err, SampleRejectedError):
        message += " — Check (step 2) shows why; Fix repairs what can be repaired"
    return APIError(base.status, message, type=base.type, param=param, code=err.code,
                    headers=base.headers)  # fmt: skip


def _invalid(message: str, param: str, status: int = 400) -> APIError:
    return APIError(status, message, param=param, code="invalid_value")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise APIError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise APIError(400, "the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(f"{name} must be text", name)
    return value.strip() or None


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _invalid(f"{name} must be a number, not {value!r}", name) from None


# --------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """A sample the browser gave: a stored file or a URL."""

    id: str
    name: str
    source: str
    """A local path or an http(s) URL: what the library is given."""
    size: int | None = None
    fixed_from: str | None = None

    @property
    def is_url(self) -> bool:
        return self.source.lower().startswith(("http://", "https://"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "url": self.source if self.is_url else f"/studio/api/samples/{self.id}/audio",
            "fixed_from": self.fixed_from,
        }


class SampleStore:
    """Samples under ``<home>/studio/samples/<hash of the content>/<the browser's file name>``
    (the registry shows that name as the voice's sample)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._samples: dict[str, Sample] = {}

    def add_bytes(self, data: bytes, filename: str) -> Sample:
        name = _SAFE_NAME.sub("_", Path(filename or "sample").name).strip("._") or "sample"
        if not _SUFFIX.match(Path(name).suffix.lower()):
            name += ".bin"
        sample_id = hashlib.sha256(data).hexdigest()[:16]
        folder = self.root / sample_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return self._keep(Sample(sample_id, name, str(path), len(data)))

    def add_url(self, url: str) -> Sample:
        sample_id = "u" + hashlib.sha256(url.encode()).hexdigest()[:15]
        return self._keep(Sample(sample_id, url.rsplit("/", 1)[-1] or url, url))

    def fixed_path(self, sample: Sample) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f"{sample.id}.fixing.wav"

    def add_fixed(self, original: Sample, path: Path) -> Sample:
        stem = Path(original.name).stem or "sample"
        fixed = self.add_bytes(path.read_bytes(), f"{stem}.fixed.wav")
        path.unlink(missing_ok=True)
        return self._keep(replace(fixed, fixed_from=original.id))

    def get(self, sample_id: str) -> Sample:
        sample = self._samples.get(sample_id)
        if sample is None:
            raise APIError(404, "unknown sample: record, upload or give a URL first",
                           param="sample", code="sample_not_found")  # fmt: skip
        return sample

    def _keep(self, sample: Sample) -> Sample:
        self._samples[sample.id] = sample
        return sample


# --------------------------------------------------------------------------- jobs


class Job:
    """Long work whose events the page follows (SSE); the last event is ``done`` or
    ``error``."""

    def __init__(self) -> None:
        self.id = secrets.token_urlsafe(16)
        self.events: list[dict[str, Any]] = []
        self.finished = False
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.finished = self.finished or event["type"] in ("done", "error")
        self._changed.set()
        self._changed = asyncio.Event()

    def status(self, status: str, **fields: Any) -> None:
        self.emit({"type": "status", "status": status, **fields})

    def on_status(self, voice_id: str, status: str | None, elapsed: float) -> None:
        """The library's wait callback: each poll's status, pushed to the page."""
        self.status(status or "unknown", voice_id=voice_id, elapsed_s=round(elapsed, 1))

    async def follow(self) -> AsyncIterator[dict[str, Any]]:
        sent = 0
        while True:
            changed = self._changed
            while sent < len(self.events):
                sent += 1
                yield self.events[sent - 1]
            if self.finished:
                return
            await changed.wait()


# --------------------------------------------------------------------------- speech


@dataclass
class SpeechOrder:
    """An audition the page asked for: validated, spoken when its URL is opened."""

    voice: str
    target_model: str | None
    text: str
    format: str
    rate: float
    pitch: float
    volume: int
    instruction: str | None
    audio: bytes | None = None
    """The whole audio once a stream of it has finished (replays and downloads)."""
    created: float = field(default_factory=time.monotonic)


# --------------------------------------------------------------------------- the studio


class Studio:
    """The studio's handlers over the server's library."""

    def __init__(self, server: SpeechServer) -> None:
        self.server = server
        self.library = server.library
        self.samples = SampleStore(self.library.settings.home / "studio" / "samples")
        self.jobs: dict[str, Job] = {}
        self.speech: OrderedDict[str, SpeechOrder] = OrderedDict()
        self.previews: OrderedDict[str, tuple[bytes, str]] = OrderedDict()

    # -- page and config --------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        from .security import studio_page  # security hook (issue 22): the page's launch token

        return studio_page(request, STATIC_DIR / "index.html")  # type: ignore[no-any-return]

    async def config(self, request: Request) -> Response:
        self.server.authorize(request)
        models = self.library.clone_models()
        instruction = self.library.instruction_models()
        return JSONResponse(
            {
                "region": self.library.region,
                "default_target_model": catalog.DEFAULT_TARGET_MODEL,
                "target_models": [
                    {
                        "name": m.name,
                        "language_hints": list(m.language_hints),
                        "max_prompt_audio_length": m.max_prompt_audio_length,
                        "enable_preprocess": m.enable_preprocess,
                        "instruction": m.name in instruction,
                    }
                    for m in models
                ],
                "default_language_hint": catalog.DEFAULT_LANGUAGE_HINT,
                "prefix_max_length": catalog.PREFIX_MAX_LENGTH,
                "max_prompt_audio_length": {
                    "range": list(catalog.MAX_PROMPT_AUDIO_LENGTH_RANGE),
                    "default": catalog.DEFAULT_MAX_PROMPT_AUDIO_LENGTH,
                },
                "sample": {
                    "recommended_s": list(catalog.SAMPLE_RECOMMENDED_SECONDS),
                    "max_s": catalog.SAMPLE_MAX_SECONDS,
                    "min_speech_s": catalog.SAMPLE_MIN_SPEECH_SECONDS,
                    "max_pause_s": catalog.SAMPLE_MAX_PAUSE_SECONDS,
                },
                "formats": [f for f in self.library.formats() if f in CONTENT_TYPES],
                "design": {
                    "target_models": self.library.design_models(),
                    **self.library.design_limits(),
                },
            }
        )

    # -- samples ----------------------------------------------------------------------------

    async def add_sample(self, request: Request) -> Response:
        self.server.authorize(request)
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_UPLOAD_BYTES:
                raise APIError(413, f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MiB; "
                               "a sample needs at most 10 MiB", param="sample",
                               code="sample_too_large")  # fmt: skip
        if not data:
            raise _invalid("the file is empty", "sample")
        name = request.query_params.get("name") or "sample.wav"
        sample = await asyncio.to_thread(self.samples.add_bytes, bytes(data), name)
        return JSONResponse({"sample": sample.to_dict()}, status_code=201)

    async def add_url(self, request: Request) -> Response:
        self.server.authorize(request)
        url = _text(await _json(request), "url")
        if not url:
            raise _invalid("give the sample's URL", "url")
        if not url.lower().startswith(("http://", "https://", "oss://")):
            raise _invalid("the URL must start with http://, https:// or oss://", "url")
        return JSONResponse({"sample": self.samples.add_url(url).to_dict()}, status_code=201)

    async def sample_audio(self, request: Request) -> Response:
        sample = self.samples.get(request.path_params["sample_id"])
        if sample.is_url:
            raise APIError(404, "this sample is a URL: open it there", param="sample")
        return FileResponse(sample.source, filename=sample.name)

    async def check(self, request: Request) -> Response:
        self.server.authorize(request)
        body = await _json(request)
        sample = self.samples.get(request.path_params["sample_id"])
        checked = await self._call(self.library.check(sample.source, _text(body, "target_model")))
        return JSONResponse({"sample": sample.to_dict(), **checked.to_dict()})

    async def fix(self, request: Request) -> Response:
        self.server.authorize(request)
        body = await _json(request)
        sample = self.samples.get(request.path_params["sample_id"])
        out = self.samples.fixed_path(sample)
        out.unlink(missing_ok=True)  # the repair never overwrites; a new fix replaces the last
        result, checked = await self._call(
            self.library.fix(sample.source, out, _text(body, "target_model"))
        )
        answer: dict[str, Any] = {"fix": result.to_dict(), "sample": None}
        if result.written and checked is not None:
            fixed = await asyncio.to_thread(self.samples.add_fixed, sample, out)
            answer.update({"sample": fixed.to_dict(), **checked.to_dict()})
        answer["fix"]["output"] = None  # a path on the server: of no use to the page
        return JSONResponse(answer)

    # -- cloning ----------------------------------------------------------------------------

    async def clone(self, request: Request) -> Response:
        self.server.authorize(request)
        body = await _json(request)
        sample_id = _text(body, "sample_id")
        if not sample_id:
            raise _invalid("record, upload or give a URL for a sample first", "sample")
        sample = self.samples.get(sample_id)
        hint = _text(body, "language_hint")
        preprocess = body.get("enable_preprocess")
        if preprocess is not None and not isinstance(preprocess, bool):
            raise _invalid("enable_preprocess must be true or false", "enable_preprocess")
        options: dict[str, Any] = {
            "prefix": _text(body, "prefix") or "",
            "sample": sample.source,
            "target_model": _text(body, "target_model"),
            "language_hints": [hint] if hint else None,
            "max_prompt_audio_length": _number(body, "max_prompt_audio_length"),
            "enable_preprocess": preprocess,
            "force": body.get("force") is True,
        }

        async def work(job: Job) -> dict[str, Any]:
            job.status("uploading", message="checking the sample, uploading it, creating the voice")
            result = await self.library.clone(**options)
            job.status(result.status or "DEPLOYING", voice_id=result.voice_id,
                       reused=result.reused)  # fmt: skip
            if result.status != "OK":
                status = await self.library.wait(result.voice_id, on_status=job.on_status)
                result = replace(result, status=status)
            return {"clone": result.to_dict()}

        return self._start(work)

    # -- design -----------------------------------------------------------------------------

    async def design(self, request: Request) -> Response:
        self.server.authorize(request)
        body = await _json(request)
        prompt = body.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise _invalid("the voice description must be text", "voice_prompt")
        options: dict[str, Any] = {
            "prefix": _text(body, "prefix") or "",
            "prompt": prompt or "",
            "preview_text": _text(body, "preview_text"),
            "target_model": _text(body, "target_model"),
            "language": _text(body, "language"),
            "force": body.get("force") is True,
        }

        async def work(job: Job) -> dict[str, Any]:
            job.status("designing", message="designing the voice and its preview")
            result = await self.library.design(**options)
            preview_url = self._keep_preview(result.preview, result.preview_format)
            job.status(result.status or "DEPLOYING", voice_id=result.voice_id,
                       reused=result.reused, preview_url=preview_url,
                       preview_text=result.preview_text)  # fmt: skip
            if result.status != "OK":
                status = await self.library.wait(result.voice_id, on_status=job.on_status)
                result = replace(result, status=status)
            return {"design": result.to_dict(), "preview_url": preview_url}

        return self._start(work)

    def _keep_preview(self, audio: bytes | None, fmt: str | None) -> str | None:
        if not audio:
            return None
        token = secrets.token_urlsafe(16)
        self.previews[token] = (audio, CONTENT_TYPES.get(fmt or "", "application/octet-stream"))
        while len(self.previews) > _KEPT_PREVIEWS:
            self.previews.popitem(last=False)
        return f"/studio/api/previews/{token}"

    async def preview(self, request: Request) -> Response:
        kept = self.previews.get(request.path_params["token"])
        if kept is None:
            raise APIError(404, "this preview has expired: design again to hear it",
                           param="design", code="preview_not_found")  # fmt: skip
        return Response(kept[0], media_type=kept[1])

    async def job_events(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            raise APIError(404, "unknown job", code="job_not_found")

        async def events() -> AsyncIterator[bytes]:
            async for event in job.follow():
                yield sse_event(event)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})  # fmt: skip

    def _start(self, work: Callable[[Job], Awaitable[dict[str, Any]]]) -> Response:
        job = Job()

        async def run() -> None:
            try:
                job.emit({"type": "done", **await work(job)})
            except CosyVoiceCloneError as err:
                job.emit({"type": "error", **studio_error(err).body()})
            except APIError as err:
                job.emit({"type": "error", **err.body()})
            except Exception as exc:  # never leave the page waiting
                message = f"unexpected failure: {type(exc).__name__}: {exc}"
                job.emit({"type": "error", "error": {"message": message, "param": None}})

        self._forget_finished_jobs()
        self.jobs[job.id] = job
        job.task = asyncio.create_task(run())
        url = f"/studio/api/jobs/{job.id}/events"
        return JSONResponse({"job": job.id, "events": url}, status_code=202)

    def _forget_finished_jobs(self, keep: int = 64) -> None:
        finished = [k for k, j in self.jobs.items() if j.finished]
        for key in finished[: max(0, len(finished) - keep)]:
            del self.jobs[key]

    # -- voices -----------------------------------------------------------------------------

    async def voices(self, request: Request) -> Response:
        self.server.authorize(request)
        prefix = (request.query_params.get("prefix") or "").strip() or None
        voices = await self._call(self.library.voices(prefix))
        return JSONResponse({"voices": [voice.to_dict() for voice in voices]})

    async def show_voice(self, request: Request) -> Response:
        self.server.authorize(request)
        voice = await self._call(self.library.show_voice(request.path_params["voice"]))
        return JSONResponse({"voice": voice.to_dict()})

    async def delete_voice(self, request: Request) -> Response:
        self.server.authorize(request)
        result = await self._call(self.library.delete_voice(request.path_params["voice"]))
        return JSONResponse(result.to_dict())

    async def update_sample(self, request: Request) -> Response:
        self.server.authorize(request)
        body = await _json(request)
        sample_id = _text(body, "sample_id")
        if not sample_id:
            raise _invalid("record, upload or give a URL for the new sample first", "sample")
        sample = self.samples.get(sample_id)
        voice = request.path_params["voice"]

        async def work(job: Job) -> dict[str, Any]:
            job.status("uploading", message="checking the new sample, uploading it")
            updated = await self.library.update_voice(voice, sample.source, job.on_status)
            return {"voice": updated.to_dict()}

        return self._start(work)

    # -- audition ---------------------------------------------------------------------------

    async def order_speech(self, request: Request) -> Response:
        self.server.authorize(request)
        body = await _json(request)
        name = _text(body, "voice")
        if not name:
            raise _invalid("choose a voice to speak with", "voice")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _invalid("type something to say", "text")
        fmt = _text(body, "format") or "mp3"
        if fmt not in CONTENT_TYPES:
            raise _invalid(f"choose one of {', '.join(CONTENT_TYPES)}", "format")
        volume = _number(body, "volume")
        if volume is not None and not volume.is_integer():
            raise _invalid("volume is a whole number (0 to 100)", "volume")
        voice = await self._call(self.library.resolve_voice(name, None))
        order = SpeechOrder(
            voice=voice.voice_id,
            target_model=voice.target_model,
            text=text,
            format=fmt,
            rate=_number(body, "rate") or 1.0,
            pitch=_number(body, "pitch") or 1.0,
            volume=50 if volume is None else int(volume),
            instruction=_text(body, "instruction"),
        )
        chunks = self._open(order)  # validates everything; nothing is sent until iterated
        await chunks.aclose()
        token = secrets.token_urlsafe(16)
        self.speech[token] = order
        while len(self.speech) > _KEPT_SPEECH:
            self.speech.popitem(last=False)
        url = f"/studio/api/speech/{token}"
        return JSONResponse({"audio_url": url, "download_url": f"{url}?download=1",
                             "voice_id": voice.voice_id, "format": fmt})  # fmt: skip

    async def speak(self, request: Request) -> Response:
        order = self.speech.get(request.path_params["token"])
        if order is None:
            raise APIError(404, "this audition has expired: press Speak again", param="text",
                           code="speech_not_found")  # fmt: skip
        headers = {}
        if request.query_params.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="audition.{order.format}"'
        media = CONTENT_TYPES[order.format]
        if order.audio is not None:
            return Response(order.audio, media_type=media, headers=headers)
        self.server.admission.enter()
        try:
            chunks = self._open(order)
            first, rest = await self.server.first_audio(chunks)
        except BaseException as exc:
            self.server.admission.leave()
            if isinstance(exc, CosyVoiceCloneError):
                raise studio_error(exc) from None
            raise

        async def body() -> AsyncIterator[bytes]:
            parts = [first]
            yield first
            async for data in rest:
                parts.append(data)
                yield data
            order.audio = b"".join(parts)

        async def finish() -> None:
            await chunks.aclose()
            self.server.admission.leave()

        from .app import _Streaming

        return _Streaming(body(), finish, media_type=media, headers=headers)

    def _open(self, order: SpeechOrder) -> SpeechChunks:
        try:
            return self.library.speech(
                order.text,
                SpeakingVoice(order.voice, order.target_model),
                model=None,
                output_format=order.format,
                rate=order.rate,
                instruction=order.instruction,
                volume=order.volume,
                pitch=order.pitch,
            )
        except CosyVoiceCloneError as err:
            raise studio_error(err) from None

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    async def _call(call: Awaitable[Any]) -> Any:
        try:
            return await call
        except CosyVoiceCloneError as err:
            raise studio_error(err) from None

    def routes(self) -> list[BaseRoute]:
        api = "/studio/api"
        return [
            Route("/", self.page, methods=["GET"]),
            Mount("/studio/static", app=StaticFiles(directory=STATIC_DIR), name="studio-static"),
            Route(f"{api}/config", self.config, methods=["GET"]),
            Route(f"{api}/samples", self.add_sample, methods=["POST"]),
            Route(f"{api}/samples/url", self.add_url, methods=["POST"]),
            Route(f"{api}/samples/{{sample_id}}/audio", self.sample_audio, methods=["GET"]),
            Route(f"{api}/samples/{{sample_id}}/check", self.check, methods=["POST"]),
            Route(f"{api}/samples/{{sample_id}}/fix", self.fix, methods=["POST"]),
            Route(f"{api}/clones", self.clone, methods=["POST"]),
            Route(f"{api}/designs", self.design, methods=["POST"]),
            Route(f"{api}/previews/{{token}}", self.preview, methods=["GET"]),
            Route(f"{api}/jobs/{{job_id}}/events", self.job_events, methods=["GET"]),
            Route(f"{api}/voices", self.voices, methods=["GET"]),
            Route(f"{api}/voices/{{voice}}", self.show_voice, methods=["GET"]),
            Route(f"{api}/voices/{{voice}}", self.delete_voice, methods=["DELETE"]),
            Route(f"{api}/voices/{{voice}}/sample", self.update_sample, methods=["POST"]),
            Route(f"{api}/speech", self.order_speech, methods=["POST"]),
            Route(f"{api}/speech/{{token}}", self.speak, methods=["GET"]),
        ]
