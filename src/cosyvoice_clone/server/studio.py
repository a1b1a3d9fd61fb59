"""The voice studio's handlers: the page at ``/`` and its JSON API under ``/studio/api``
(routed in :mod:`.app`, which lists every route).

The page (``static/``: plain HTML, CSS and ES modules) records or uploads a sample, checks and
repairs it, clones it (or designs a voice from a description, with its preview), auditions
the voice and manages voices. Every operation is one call on the client
(:class:`~cosyvoice_clone.client.AsyncCosyVoice`); this module only parses, keeps what the
browser sent (:mod:`.studio_state`), and renders the library's results (``to_dict()``). Errors
come in the server's one error shape, whose ``param`` names the page control that caused them
and whose hint says which button to press (:mod:`.wording`).

Long work (cloning, designing, a new sample) runs as a job whose events the page follows with
``EventSource``; job ids and speech tokens are unguessable, so the URLs the browser opens without
headers (``<audio src>``, ``EventSource``) need no key once the POST that made them was allowed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from .. import catalog
from ..audio.waveform import waveform
from ..catalog import VoiceStatus
from ..client import AsyncAudioStream
from ..errors import CosyVoiceCloneError
from .plumbing import (
    Doors,
    SelfCleaningStream,
    aac_available,
    answer_for,
    call,
    invalid,
    number_field,
    read_json,
    text_field,
)
from .protocol import APIError, sse_event
from .security import UPLOAD_MAX_BYTES, studio_page  # security hook (issue 22)
from .studio_state import Job, Jobs, Kept, SampleStore, SpeechOrder
from .wording import Audience

STATIC_DIR = Path(__file__).parent / "static"
KEPT_SPEECH = 32
"""Auditions kept in memory for replay and download."""
KEPT_PREVIEWS = 16
"""Design previews kept in memory for the page's player."""
PENDING_SECONDS = 60.0
"""An audition whose URL is not opened within this time is stopped (its slot freed)."""
STUDIO = Audience.STUDIO


class Studio:
    """The studio's handlers over the shared :class:`~.plumbing.Doors`."""

    def __init__(self, doors: Doors) -> None:
        self.doors = doors
        self.client = doors.client
        self.samples = SampleStore(self.client.settings.home / "studio" / "samples")
        self.jobs = Jobs()
        self.speech: Kept[SpeechOrder] = Kept(KEPT_SPEECH)
        self.previews: Kept[tuple[bytes, str]] = Kept(KEPT_PREVIEWS)
        self._timers: set[asyncio.Task[None]] = set()

    # -- page and config --------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return studio_page(request, STATIC_DIR / "index.html")  # type: ignore[no-any-return]

    async def config(self, request: Request) -> Response:
        self.doors.authorize(request)
        region = self.client.region
        return JSONResponse(
            {
                "region": region,
                "default_target_model": catalog.DEFAULT_TARGET_MODEL,
                "target_models": [
                    {
                        "name": m.name,
                        "language_hints": list(m.language_hints),
                        "max_prompt_audio_length": m.max_prompt_audio_length,
                        "enable_preprocess": m.enable_preprocess,
                        "instruction": m.name in catalog.INSTRUCTION_MODELS,
                    }
                    for m in map(catalog.target_model, catalog.clone_models_in(region))
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
                "formats": [f for f in catalog.STREAM_FORMATS if f != "aac" or aac_available()],
                "voice_statuses": {status.name.lower(): status.value for status in VoiceStatus},
                "design": {
                    "target_models": catalog.design_models_in(region),
                    "prompt_max_chars": catalog.VOICE_PROMPT_MAX_CHARS,
                    "preview_text_max_chars": catalog.PREVIEW_TEXT_MAX_CHARS,
                    "languages": list(catalog.DESIGN_LANGUAGES),
                    "regions": list(catalog.DESIGN_REGIONS),
                },
            }
        )

    # -- samples ----------------------------------------------------------------------------

    async def add_sample(self, request: Request) -> Response:
        self.doors.authorize(request)
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > UPLOAD_MAX_BYTES:
                raise APIError(413, f"the file is larger than {UPLOAD_MAX_BYTES // 2**20} MiB; "
                               f"a sample needs at most {catalog.SAMPLE_MAX_BYTES // 2**20} MiB",
                               param="sample", code="sample_too_large")  # fmt: skip
        if not data:
            raise invalid("the file is empty", "sample")
        name = request.query_params.get("name") or "sample.wav"
        sample = await asyncio.to_thread(self.samples.add_bytes, bytes(data), name)
        return JSONResponse({"sample": sample.to_dict()}, status_code=201)

    async def add_url(self, request: Request) -> Response:
        self.doors.authorize(request)
        url = text_field(await read_json(request), "url")
        if not url:
            raise invalid("give the sample's URL", "url")
        if not url.lower().startswith(("http://", "https://", "oss://")):
            raise invalid("the URL must start with http://, https:// or oss://", "url")
        return JSONResponse({"sample": self.samples.add_url(url).to_dict()}, status_code=201)

    async def sample_audio(self, request: Request) -> Response:
        sample = self.samples.get(request.path_params["sample_id"])
        if sample.is_url:
            raise APIError(404, "this sample is a URL: open it there", param="sample")
        return FileResponse(sample.source, filename=sample.name)

    async def check(self, request: Request) -> Response:
        self.doors.authorize(request)
        body = await read_json(request)
        sample = self.samples.get(request.path_params["sample_id"])
        target = text_field(body, "target_model")
        report = await call(self.client.check_sample(sample.source, target_model=target), STUDIO)
        drawn = await asyncio.to_thread(waveform, report)
        return JSONResponse(
            {"sample": sample.to_dict(), "report": report.to_dict(), "waveform": drawn.to_dict()}
        )

    async def fix(self, request: Request) -> Response:
        self.doors.authorize(request)
        body = await read_json(request)
        sample = self.samples.get(request.path_params["sample_id"])
        out = self.samples.fixed_path(sample)
        out.unlink(missing_ok=True)  # the repair never overwrites; a new fix replaces the last
        target = text_field(body, "target_model")
        result = await call(self.client.fix_sample(sample.source, out, target_model=target),
                            STUDIO)  # fmt: skip
        answer: dict[str, Any] = {"fix": result.to_dict(), "sample": None}
        if result.written and result.after is not None:
            drawn = await asyncio.to_thread(waveform, result.after)
            fixed = await asyncio.to_thread(self.samples.add_fixed, sample, out)
            answer.update(sample=fixed.to_dict(), report=result.after.to_dict(),
                          waveform=drawn.to_dict())  # fmt: skip
        answer["fix"]["output"] = None  # a path on the server: of no use to the page
        return JSONResponse(answer)

    # -- cloning and design -----------------------------------------------------------------

    async def clone(self, request: Request) -> Response:
        self.doors.authorize(request)
        body = await read_json(request)
        sample_id = text_field(body, "sample_id")
        if not sample_id:
            raise invalid("record, upload or give a URL for a sample first", "sample")
        sample = self.samples.get(sample_id)
        hint = text_field(body, "language_hint")
        preprocess = body.get("enable_preprocess")
        if preprocess is not None and not isinstance(preprocess, bool):
            raise invalid("enable_preprocess must be true or false", "enable_preprocess")
        prefix = text_field(body, "prefix") or ""
        target = text_field(body, "target_model")
        longest = number_field(body, "max_prompt_audio_length")
        force = body.get("force") is True

        async def work(job: Job) -> dict[str, Any]:
            job.status("uploading", message="checking the sample, uploading it, creating the voice")
            result = await self.client.clone(
                prefix=prefix, sample=sample.source, target_model=target,
                language_hints=[hint] if hint else None, max_prompt_audio_length=longest,
                enable_preprocess=preprocess, force=force,
            )  # fmt: skip
            job.status(result.status or VoiceStatus.DEPLOYING, voice_id=result.voice_id,
                       reused=result.reused)  # fmt: skip
            if result.status != VoiceStatus.OK:
                status = await self.client.wait(result.voice_id, on_status=job.on_status)
                result = replace(result, status=status)
            return {"clone": result.to_dict()}

        return self._start(work)

    async def design(self, request: Request) -> Response:
        self.doors.authorize(request)
        body = await read_json(request)
        prompt = body.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise invalid("the voice description must be text", "voice_prompt")
        prefix = text_field(body, "prefix") or ""
        preview_text = text_field(body, "preview_text")
        target = text_field(body, "target_model")
        language = text_field(body, "language")
        force = body.get("force") is True

        async def work(job: Job) -> dict[str, Any]:
            job.status("designing", message="designing the voice and its preview")
            result = await self.client.design(
                prefix=prefix, prompt=prompt or "", preview_text=preview_text,
                target_model=target, language=language, force=force,
            )  # fmt: skip
            preview_url = self._keep_preview(result.preview, result.preview_format)
            job.status(result.status or VoiceStatus.DEPLOYING, voice_id=result.voice_id,
                       reused=result.reused, preview_url=preview_url,
                       preview_text=result.preview_text)  # fmt: skip
            if result.status != VoiceStatus.OK:
                status = await self.client.wait(result.voice_id, on_status=job.on_status)
                result = replace(result, status=status)
            return {"design": result.to_dict(), "preview_url": preview_url}

        return self._start(work)

    def _keep_preview(self, audio: bytes | None, fmt: str | None) -> str | None:
        if not audio:
            return None
        media = catalog.MIME_TYPES.get(fmt or "", "application/octet-stream")
        token, _ = self.previews.add((audio, media))
        return f"/studio/api/previews/{token}"

    async def preview(self, request: Request) -> Response:
        kept = self.previews.get(request.path_params["token"])
        if kept is None:
            raise APIError(404, "this preview has expired: design again to hear it",
                           param="design", code="preview_not_found")  # fmt: skip
        return Response(kept[0], media_type=kept[1])

    # -- jobs -------------------------------------------------------------------------------

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
                job.emit({"type": "error", **answer_for(err, STUDIO).body()})
            except APIError as err:
                job.emit({"type": "error", **err.body()})
            except Exception as exc:  # never leave the page waiting
                message = f"unexpected failure: {type(exc).__name__}: {exc}"
                job.emit({"type": "error", "error": {"message": message, "param": None}})

        self.jobs.add(job)
        job.task = asyncio.create_task(run())
        url = f"/studio/api/jobs/{job.id}/events"
        return JSONResponse({"job": job.id, "events": url}, status_code=202)

    # -- voices -----------------------------------------------------------------------------

    async def voices(self, request: Request) -> Response:
        self.doors.authorize(request)
        prefix = (request.query_params.get("prefix") or "").strip() or None
        voices = await call(self.client.voices.list(prefix), STUDIO)
        return JSONResponse({"voices": [voice.to_dict() for voice in voices]})

    async def show_voice(self, request: Request) -> Response:
        self.doors.authorize(request)
        voice = await call(self.client.voices.show(request.path_params["voice"]), STUDIO)
        return JSONResponse({"voice": voice.to_dict()})

    async def delete_voice(self, request: Request) -> Response:
        self.doors.authorize(request)
        result = await call(self.client.voices.delete(request.path_params["voice"]), STUDIO)
        return JSONResponse(result.to_dict())

    async def update_sample(self, request: Request) -> Response:
        self.doors.authorize(request)
        body = await read_json(request)
        sample_id = text_field(body, "sample_id")
        if not sample_id:
            raise invalid("record, upload or give a URL for the new sample first", "sample")
        sample = self.samples.get(sample_id)
        voice = request.path_params["voice"]

        async def work(job: Job) -> dict[str, Any]:
            job.status("uploading", message="checking the new sample, uploading it")
            updated = await self.client.voices.update(
                voice, sample.source, wait=True, on_status=job.on_status
            )
            return {"voice": updated.to_dict()}

        return self._start(work)

    # -- audition ---------------------------------------------------------------------------

    async def order_speech(self, request: Request) -> Response:
        """Take an audition: the library speaks it now (refusals answer this POST, before any
        audio), and the page plays it from the URL returned."""
        self.doors.authorize(request)
        body = await read_json(request)
        name = text_field(body, "voice")
        if not name:
            raise invalid("choose a voice to speak with", "voice")
        text = body.get("text")
        if not isinstance(text, str):  # an empty one is the library's to refuse (every door)
            raise invalid("type something to say", "text")
        fmt = text_field(body, "format") or "mp3"
        volume = number_field(body, "volume")
        if volume is not None and not volume.is_integer():
            raise invalid("volume is a whole number (0 to 100)", "volume")
        rate, pitch = number_field(body, "rate"), number_field(body, "pitch")
        order = SpeechOrder(
            voice=name, text=text, format=fmt, rate=1.0 if rate is None else rate,
            pitch=1.0 if pitch is None else pitch, volume=50 if volume is None else int(volume),
            instruction=text_field(body, "instruction"),
        )  # fmt: skip
        order.pending = await self._open(order)
        token, dropped = self.speech.add(order)
        for old in dropped:
            await self._release(old)
        self._expire_later(order)
        url = f"/studio/api/speech/{token}"
        return JSONResponse({"audio_url": url, "download_url": f"{url}?download=1",
                             "voice_id": order.pending.voice, "format": fmt})  # fmt: skip

    async def speak(self, request: Request) -> Response:
        order = self.speech.get(request.path_params["token"])
        if order is None:
            raise APIError(404, "this audition has expired: press Speak again", param="text",
                           code="speech_not_found")  # fmt: skip
        headers = {}
        if request.query_params.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="audition.{order.format}"'
        media = catalog.MIME_TYPES[order.format]
        if order.audio is not None:
            return Response(order.audio, media_type=media, headers=headers)
        stream, order.pending = order.pending, None  # the first listener takes the open stream
        if stream is None:
            stream = await self._open(order)

        async def body() -> AsyncIterator[bytes]:
            parts = []
            async for data in stream:
                parts.append(data)
                yield data
            order.audio = b"".join(parts)

        async def finish() -> None:
            await stream.aclose()
            self.doors.admission.leave()

        return SelfCleaningStream(body(), finish, media_type=media, headers=headers)

    async def _open(self, order: SpeechOrder) -> AsyncAudioStream:
        """Admit and start speaking ``order`` (the library's checks first); on success the
        caller owns the admission until the stream is closed."""
        self.doors.admission.enter()
        try:
            return await self.client.stream_speech(
                order.text, voice=order.voice, format=order.format, rate=order.rate,
                pitch=order.pitch, volume=order.volume, instruction=order.instruction,
                concurrency=self.doors.config.concurrency, retries=self.doors.config.retries,
            )  # fmt: skip
        except BaseException as exc:
            self.doors.admission.leave()
            if isinstance(exc, CosyVoiceCloneError):
                raise answer_for(exc, STUDIO) from None
            raise

    async def _release(self, order: SpeechOrder) -> None:
        """Stop an audition nobody listened to (its admission is freed)."""
        stream, order.pending = order.pending, None
        if stream is not None:
            await stream.aclose()
            self.doors.admission.leave()

    def _expire_later(self, order: SpeechOrder) -> None:
        async def expire() -> None:
            await asyncio.sleep(PENDING_SECONDS)
            await self._release(order)

        timer = asyncio.create_task(expire())
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def aclose(self) -> None:
        """Stop what is still pending (the app's shutdown)."""
        for timer in list(self._timers):
            timer.cancel()
        for order in self.speech.values():
            await self._release(order)
