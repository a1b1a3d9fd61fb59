"""OpenAI's custom voices on CosyVoice: ``POST /v1/audio/voices`` and
``DELETE /v1/audio/voices/{voice_id}`` (routed in :mod:`.app`; ``GET /v1/audio/voices`` is the
discovery list of :mod:`.speech_api`).

- ``audio_sample`` (the default ``type``: the ``openai`` package omits it) + ``consent`` + ``name``
  -> a CosyVoice clone through the library (:meth:`~cosyvoice_clone.client.AsyncCosyVoice.clone`:
  the sample check, dedupe, the registry); the consent must exist here, and records the voice.
- ``type=prompt`` + ``prompt`` (+ ``script_hint``, the preview text) -> a voice design.

The target model is ``model`` (a form field; ``extra_body={"model": ...}`` in the SDK) when it is
a CosyVoice model, else the server's ``--voice-model`` (default cosyvoice-v3.5-plus). The
``name`` becomes the voice's CosyVoice prefix, so it must be one: 1 to 10 ASCII letters and
digits (else a 400 that says so; nothing is renamed behind the caller's back).

The request waits up to ``--voice-wait`` seconds for the voice to be OK; a voice still deploying
then is answered as it is (``"status": "DEPLOYING"``): it speaks once OK. The answer is OpenAI's
``audio.voice`` (``id`` = the CosyVoice voice id, ``name``, ``type``, ``prompt``,
``created_at``) plus ``status``, ``model``, ``consent``. The same request again returns the same
voice (the library's dedupe), so the SDK's retries never make a second one.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import catalog
from ..client import keep_upload
from ..errors import CosyVoiceCloneError, OperationTimeoutError
from ..models import VoiceRecord
from .consents_api import ConsentsAPI, form_file, form_text, missing, read_form, refused
from .plumbing import REQUEST_ID_HEADER, Doors, answer_for
from .protocol import APIError
from .wording import Audience

log = logging.getLogger("cosyvoice_clone.server.startup")

_PREFIX = re.compile(rf"^[A-Za-z0-9]{{1,{catalog.PREFIX_MAX_LENGTH}}}$")
VOICE_TYPES = ("audio_sample", "prompt")
SAMPLES_DIR = "openai-samples"
"""Where uploaded samples are kept under the home (named by their SHA-256: the same file is the
same path, so the library's dedupe finds an earlier clone of it)."""


def check_name(name: str) -> str:
    """``name`` as a CosyVoice prefix, or a 400 that says why it cannot be one."""
    if _PREFIX.match(name):
        return name
    bad = sorted({ch for ch in name if not (ch.isascii() and ch.isalnum())})
    why = (
        f"it has {len(name)} characters" if len(name) > catalog.PREFIX_MAX_LENGTH and not bad
        else "it contains " + ", ".join(repr(ch) for ch in bad[:5])
    )  # fmt: skip
    raise APIError(
        400,
        f"name {name!r} cannot be a CosyVoice voice prefix ({why}): use 1 to "
        f"{catalog.PREFIX_MAX_LENGTH} ASCII letters and digits, e.g. 'myvoice'",
        param="name",
        code="invalid_name",
    )


def _epoch(iso: str | None) -> int:
    if iso:
        try:
            return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(time.time())


def _request_id(request_id: str | None) -> dict[str, str]:
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


class VoicesAPI:
    """The custom-voice handlers over the shared :class:`~.plumbing.Doors`."""

    def __init__(self, doors: Doors, consents: ConsentsAPI) -> None:
        self.doors = doors
        self.client = doors.client
        self.consents = consents.store
        self.samples = Path(doors.client.settings.home) / SAMPLES_DIR

    def _model(self, asked: str | None) -> str:
        if asked and asked in catalog.synthesis_models():
            return asked
        return self.doors.config.voice_model  # OpenAI's "auto", dated snapshots, nothing

    async def create(self, request: Request) -> Response:
        self.doors.authorize(request)
        form = await read_form(request)
        kind = form_text(form, "type") or "audio_sample"
        if kind not in VOICE_TYPES:
            raise APIError(400, f"type must be audio_sample or prompt, not {kind!r}",
                           param="type", code="invalid_value")  # fmt: skip
        name = check_name(form_text(form, "name", required=True) or "")
        model = self._model(form_text(form, "model"))
        if kind == "prompt":
            return await self._design(form, name, model)
        consent_id = form_text(form, "consent", required=True) or ""
        data, filename = await form_file(form, "audio_sample")
        try:
            consent = await run_in_threadpool(self.consents.get, consent_id)
        except CosyVoiceCloneError as err:
            raise refused(err, "audio_sample") from None
        path = await run_in_threadpool(keep_upload, self.samples, data, filename)
        try:
            self._name_free(name, model, lambda r: r.sample_source == str(path))
            result = await self.client.clone(prefix=name, sample=path, target_model=model)
        except (CosyVoiceCloneError, APIError) as err:
            await run_in_threadpool(self._forget, path)  # nothing kept for a refused sample
            if isinstance(err, APIError):
                raise
            raise refused(err, "audio_sample") from None
        await run_in_threadpool(self.consents.link, consent.id, result.voice_id)  # the voice exists
        try:
            status = await self._wait(result.voice_id, result.status)
        except CosyVoiceCloneError as err:
            raise refused(err, "audio_sample") from None
        voice = self._voice(result.voice_id, name, "audio_sample", None, status, model)
        voice["consent"] = consent.id
        voice["reused"] = result.reused
        return JSONResponse(voice, headers=_request_id(result.request_id))

    async def _design(self, form: Any, name: str, model: str) -> Response:
        prompt = form_text(form, "prompt", required=True) or ""
        raw_hint = form.get("script_hint")
        hint = form_text(form, "script_hint")
        if raw_hint is not None and hint is None:
            raise APIError(400, "script_hint must not be blank", param="script_hint",
                           code="invalid_value")  # fmt: skip

        def same(record: VoiceRecord) -> bool:
            options = record.options or {}
            return options.get("voice_prompt") == prompt and (
                hint is None or options.get("preview_text") == hint
            )

        self._name_free(name, model, same)
        try:
            result = await self.client.design(
                prefix=name, prompt=prompt, preview_text=hint, target_model=model
            )
            status = await self._wait(result.voice_id, result.status)
        except CosyVoiceCloneError as err:
            answer = answer_for(err, Audience.API)
            if answer.param in ("voice_prompt", "prompt"):
                answer.param = "prompt"
            elif answer.param == "preview_text":
                answer.param = "script_hint"
            raise answer from None
        voice = self._voice(result.voice_id, name, "prompt", prompt, status, model)
        voice["reused"] = result.reused
        return JSONResponse(voice, headers=_request_id(result.request_id))

    def _forget(self, path: Path) -> None:
        """Remove a kept upload no registered voice was made from."""
        records = self.client.registry.list(include_deleted=True)
        if not any(r.sample_source == str(path) for r in records):
            path.unlink(missing_ok=True)

    def _name_free(self, name: str, model: str, same: Callable[[VoiceRecord], bool]) -> None:
        """Refuse (409) a name another live voice has: the name is how apps speak with it, so
        a second voice under it would make it ambiguous. The same request again is fine (it
        returns that voice)."""
        registry = self.client.registry
        for record in registry.list(prefix=name, endpoint=self.client.endpoint):
            if record.status == catalog.VoiceStatus.UNDEPLOYED:
                continue
            if record.target_model == model and same(record):
                continue
            raise APIError(
                409,
                f"a voice named {name!r} exists already ({record.voice_id}): pick another "
                "name, or delete that voice first (DELETE /v1/audio/voices/ID)",
                param="name",
                code="name_taken",
                headers={"x-should-retry": "false"},
            )

    async def _wait(self, voice_id: str, status: str | None) -> str:
        """Wait up to ``voice_wait`` for OK; a voice still deploying is answered as it is."""
        if status == catalog.VoiceStatus.OK or self.doors.config.voice_wait <= 0:
            return str(status or catalog.VoiceStatus.DEPLOYING)
        try:
            return str(await self.client.wait(voice_id, timeout=self.doors.config.voice_wait))
        except OperationTimeoutError:
            return str(catalog.VoiceStatus.DEPLOYING)

    def _voice(self, voice_id: str, name: str, kind: str, prompt: str | None, status: str,
               model: str) -> dict[str, Any]:  # fmt: skip
        record = self.client.registry.get(voice_id)
        voice: dict[str, Any] = {
            "id": voice_id,
            "object": "audio.voice",
            "name": name,
            "type": kind,
            "created_at": _epoch(record.created_at if record else None),
            "status": status,
            "model": model,
        }
        if prompt is not None:
            voice["prompt"] = prompt
        return voice

    async def delete(self, request: Request) -> Response:
        self.doors.authorize(request)
        voice_id = request.path_params["voice_id"]
        try:
            deleted = await self.client.voices.delete(voice_id)
        except CosyVoiceCloneError as err:
            raise answer_for(err, Audience.API) from None
        return JSONResponse({"id": deleted.voice_id, "object": "audio.voice.deleted",
                             "deleted": True})  # fmt: skip


async def warn_unresolved_aliases(doors: Doors) -> None:
    """At start: a warning for each ``--voice-alias`` (and ``--default-voice``) target that does
    not name a voice (nothing is sent)."""
    config = doors.config
    targets = [(f"--voice-alias {a}={t}", t) for a, t in config.aliases.items()]
    if config.default_voice:
        targets.append((f"--default-voice {config.default_voice}", config.default_voice))
    for option, target in targets:
        try:
            await run_in_threadpool(doors.client.voices.resolve, target)
        except CosyVoiceCloneError as err:
            log.warning("%s: %s (requests for it will be refused)", option, err.message)


__all__ = ["VoicesAPI", "check_name", "missing", "warn_unresolved_aliases"]
