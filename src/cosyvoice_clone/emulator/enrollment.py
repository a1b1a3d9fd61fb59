"""The customization endpoint: parse the enrollment envelope and run its five actions.

``POST /api/v1/services/audio/tts/customization`` with
``{"model": "voice-enrollment", "input": {"action": ..., ...}, "parameters": {...}?}``.

Documented refusals of malformed requests (all JSON bodies ``{"request_id", "code", "message"}``):

- body not JSON, or not an object: 400 ``InvalidParameter``;
- ``model`` missing or not ``voice-enrollment``: 400 ``InvalidParameter``
  "url error, please check url!";
- ``input`` missing / not an object, ``action`` missing: 400 ``InvalidParameter``;
- unknown action: 400 ``InvalidParameter`` "Unsupported action: ...";
- body over the room for a 10 MB base64 sample (about 13.4 MB): 413 ``RequestTooLarge``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from .. import catalog
from .backend import Backend
from .design import design_traits
from .exceptions import ApiError, DropConnection, invalid_parameter
from .fetch import OSS_RESOLVE_HEADER, fetch_sample, sample_bytes_limit, sample_filename

if TYPE_CHECKING:
    import httpx

MAX_BODY_BYTES = sample_bytes_limit()
"""Room for a 10 MB sample sent as a base64 data URI (the service's own cap is not documented)."""


PARAMETERS_KEY = "\x00parameters"
"""Where :func:`parse_envelope` keeps the envelope's ``parameters`` (no wire field can be named
so)."""


def parse_envelope(payload: Any) -> tuple[str, dict[str, Any]]:
    """Check the parsed envelope; return ``(action, input)`` or raise :class:`ApiError`.

    A design's ``parameters`` object (the preview's format) is handed on inside the returned
    input under :data:`PARAMETERS_KEY`.
    """
    if not isinstance(payload, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    if payload.get("model") != catalog.ENROLLMENT_MODEL:
        # also ``qwen-voice-enrollment``: the sibling family is not emulated (not built, see
        # catalog.QWEN_VOICE_ENROLLMENT_FACT); it gets the answer of any other wrong model
        raise invalid_parameter("url error, please check url!")
    data = payload.get("input")
    if not isinstance(data, dict):
        raise invalid_parameter("Missing required parameter: input.")
    parameters = payload.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise invalid_parameter("parameters must be an object.")
    data = {**data, PARAMETERS_KEY: parameters or {}}
    action = data.get("action")
    if not isinstance(action, str) or not action:
        raise invalid_parameter("Missing required parameter: input.action.")
    if action not in ACTIONS:
        raise invalid_parameter(
            f"Unsupported action: {action[:64]}. Supported: {', '.join(ACTIONS)}."
        )
    return action, data


def _int_field(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise invalid_parameter(f"{name} must be an integer.")
    return value


async def _judged_sample(
    backend: Backend, url: Any, *, oss_resolve: bool, client: httpx.AsyncClient | None
) -> tuple[bytes, float | None]:
    sample = await fetch_sample(backend, url, oss_resolve=oss_resolve, client=client)
    pitch = await run_in_threadpool(backend.judge_sample, sample, sample_filename(str(url)))
    return sample, pitch


class _Context:
    """What an action needs besides its input: the backend, the OSS-resolve switch, a client."""

    def __init__(
        self, backend: Backend, oss_resolve: bool, client: httpx.AsyncClient | None
    ) -> None:
        self.backend = backend
        self.oss_resolve = oss_resolve
        self.client = client

    async def judged_sample(self, url: Any) -> tuple[bytes, float | None]:
        return await _judged_sample(
            self.backend, url, oss_resolve=self.oss_resolve, client=self.client
        )


def _design_voice(backend: Backend, data: dict[str, Any]) -> dict[str, Any]:
    """``create_voice`` with a ``voice_prompt``: a designed voice and its spoken preview.

    The voice's pitch and rate follow the description (:func:`.design.design_traits`); the
    preview is ``preview_text`` in that voice, as ``output.preview_audio`` = ``{"data": base64,
    "sample_rate", "response_format"}`` (docs/protocol.md "Voice design").
    """
    from .speech import render_clip

    spec = backend.check_design_request(data, data.get(PARAMETERS_KEY) or {})
    pitch, rate = design_traits(spec.voice_prompt)
    preview = render_clip(
        spec.preview_text, spec.response_format, spec.sample_rate, pitch_hz=pitch, rate=rate
    )
    voice = backend.create_voice(
        target_model=spec.target_model,
        prefix=spec.prefix,
        url="",
        sample=preview,
        pitch_hz=pitch,
        language_hint=spec.language_hint,
        voice_prompt=spec.voice_prompt,
        rate=rate,
    )
    if backend.fault("drop_after_commit"):
        backend.count("fault:drop_after_commit")
        raise DropConnection(voice.voice_id)
    return {
        "voice_id": voice.voice_id,
        "preview_audio": {
            "data": base64.b64encode(preview).decode("ascii"),
            "sample_rate": spec.sample_rate,
            "response_format": spec.response_format,
        },
    }


async def _create_voice(ctx: _Context, data: dict[str, Any]) -> dict[str, Any]:
    backend = ctx.backend
    if data.get("voice_prompt") is not None:
        return await run_in_threadpool(_design_voice, backend, data)
    target_model, prefix, hint = backend.check_clone_request(
        data.get("target_model"),
        data.get("prefix"),
        data.get("language_hints"),
        data.get("max_prompt_audio_length"),
        data.get("enable_preprocess"),
    )
    url = data.get("url")
    sample, pitch = await ctx.judged_sample(url)
    voice = backend.create_voice(
        target_model=target_model,
        prefix=prefix,
        url=str(url),
        sample=sample,
        pitch_hz=pitch,
        language_hint=hint,
    )
    if backend.config.create_delay > 0:
        await asyncio.sleep(backend.config.create_delay)
    if backend.fault("drop_after_commit"):
        backend.count("fault:drop_after_commit")
        raise DropConnection(voice.voice_id)
    return {"voice_id": voice.voice_id}


async def _list_voice(ctx: _Context, data: dict[str, Any]) -> dict[str, Any]:
    wanted = data.get("prefix")
    if wanted is not None and not isinstance(wanted, str):
        raise invalid_parameter("prefix must be a string.")
    voices = ctx.backend.list_voices(
        wanted or None,
        _int_field(data, "page_index", 0),
        _int_field(data, "page_size", 10),
    )
    return {"voice_list": [v.list_item() for v in voices]}


async def _query_voice(ctx: _Context, data: dict[str, Any]) -> dict[str, Any]:
    return ctx.backend.require_voice(data.get("voice_id")).query_output()


async def _update_voice(ctx: _Context, data: dict[str, Any]) -> dict[str, Any]:
    voice = ctx.backend.require_voice(data.get("voice_id"))
    url = data.get("url")
    sample, pitch = await ctx.judged_sample(url)
    ctx.backend.update_voice(voice.voice_id, url=str(url), sample=sample, pitch_hz=pitch)
    return {}


async def _delete_voice(ctx: _Context, data: dict[str, Any]) -> dict[str, Any]:
    voice_id = data.get("voice_id")
    if not isinstance(voice_id, str) or not voice_id:
        raise invalid_parameter("Missing required parameter: voice_id.")
    ctx.backend.delete_voice(voice_id)
    return {}


ACTIONS: dict[str, Callable[[_Context, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "create_voice": _create_voice,
    "list_voice": _list_voice,
    "query_voice": _query_voice,
    "update_voice": _update_voice,
    "delete_voice": _delete_voice,
}
"""The five enrollment actions, by their ``input.action`` name."""


async def run_action(
    backend: Backend,
    action: str,
    data: dict[str, Any],
    headers: dict[str, str],
    *,
    client: httpx.AsyncClient | None = None,
) -> dict[str, Any]:
    """Run one action; return its ``output`` object. Raises :class:`ApiError`.

    ``headers`` are the request headers with lower-case names; ``client`` downloads samples.
    """
    handler = ACTIONS.get(action)
    if handler is None:
        raise ApiError(400, "InvalidParameter", f"Unsupported action: {action[:64]}")
    oss_resolve = headers.get(OSS_RESOLVE_HEADER.lower(), "").strip().lower() == "enable"
    return await handler(_Context(backend, oss_resolve, client), data)
