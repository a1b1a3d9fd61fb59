"""The MCP server: the whole voice workflow for agents (``cosyvoice-clone mcp``).

Seven tools, on the same code as the CLI::

    voice_clone    the skill's normalized request (+ a local path for the sample), wait, force
    check_sample   preflight a sample before spending a voice slot
    list_voices    voices on the service, with what the local registry knows
    get_voice      one voice
    wait_voice     poll a voice until it is OK
    synthesize     text -> an audio file (path, duration, format); the model guard applies
    delete_voice   delete a voice (needs ``confirm: true``)

Layers: :data:`TOOLS` holds each tool's name, description and JSON schemas; :class:`VoiceTools`
runs the operations (plain dicts in and out, no MCP in it); :func:`build_server` wires both into
an ``mcp`` low-level server (the official SDK, 2.x) that validates the arguments against the
schema and turns every failure into a tool error carrying ``code``, ``message``, ``hint`` and
``request_id`` — never a crash of the server, never the API key. :func:`serve_stdio` serves it on
stdin/stdout; logs go to stderr only.

``mcp`` is an optional dependency (``pip install 'cosyvoice-clone[mcp]'``): it, the client and
the audio stack are imported inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__, catalog
from .errors import CosyVoiceCloneError, InvalidRequestError

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

    from .client import AsyncCosyVoice
    from .config import Settings

logger = logging.getLogger("cosyvoice_clone.mcp")

SERVER_NAME = "cosyvoice-clone"
INSTALL_HINT = "install it with: pip install 'cosyvoice-clone[mcp]'"
DEFAULT_WAIT_TIMEOUT = 300.0
MAX_WAIT_TIMEOUT = 3600.0

INSTRUCTIONS = (
    "Clone voices with Alibaba Cloud CosyVoice and speak with them. Typical flow: check_sample "
    "(verdict pass/warn/fail) -> voice_clone (wait=true returns once the voice is OK) -> "
    "synthesize with the voice_id (the model must be the voice's target_model; leave `model` "
    "out to use it) -> delete_voice with confirm=true when done. Each voice_clone uses one of "
    f"{catalog.VOICE_QUOTA} voice slots; an identical repeated clone reuses the existing voice "
    "(reused=true), so never 'retry' with force=true. Errors come back as tool errors with "
    "code, message, hint and request_id: follow the hint."
)


class ConfirmationRequiredError(InvalidRequestError):
    """A destructive tool was called without ``confirm: true``."""

    code = "confirmation_required"


def _confirmation_required(voice_id: Any, value: Any) -> ConfirmationRequiredError:
    return ConfirmationRequiredError(
        f"refusing to delete {voice_id} without confirmation (confirm must be true)",
        field="confirm",
        value=value,
        allowed="true",
        hint="deleting cannot be undone: the voice is gone and its slot freed; call "
        "delete_voice again with confirm=true if that is what the user wants",
    )


# -- schemas --------------------------------------------------------------------------------


def _languages() -> list[str]:
    seen: list[str] = []
    for model in catalog.TARGET_MODELS.values():
        for lang in model.language_hints:
            if lang not in seen:
                seen.append(lang)
    return seen


def _models_doc() -> str:
    parts = []
    for m in catalog.TARGET_MODELS.values():
        extras = []
        if not m.language_hints:
            extras.append("no language hints")
        if m.max_prompt_audio_length:
            extras.append("max_prompt_audio_length/enable_preprocess")
        parts.append(f"{m.name} (clone in {', '.join(m.clone_regions)}; {'; '.join(extras)})")
    return "; ".join(parts)


_NULLABLE_STR: dict[str, Any] = {"type": ["string", "null"]}
_PREFIX: dict[str, Any] = {
    "type": "string",
    "pattern": f"^[A-Za-z0-9]{{1,{catalog.PREFIX_MAX_LENGTH}}}$",
    "description": (
        f"Required. 1–{catalog.PREFIX_MAX_LENGTH} ASCII letters or digits (lowercase "
        "recommended); it becomes part of the voice_id."
    ),
}
_VOICE_ID: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": (
        "A voice_id as returned by voice_clone or list_voices, "
        "e.g. cosyvoice-v3.5-plus-myvoice-<32 hex>."
    ),
}
_TARGET_MODEL: dict[str, Any] = {
    "type": "string",
    "enum": list(catalog.TARGET_MODELS),
    "default": catalog.DEFAULT_TARGET_MODEL,
    "description": (
        "The synthesis model the voice is bound to (it can speak only with this model). "
        + _models_doc()
    ),
}
_VOICE_OUT: dict[str, Any] = {
    "type": "object",
    "description": "A voice as the service reports it, with what the local registry knows.",
    "properties": {
        "voice_id": {"type": "string"},
        "status": {
            **_NULLABLE_STR,
            "description": "DEPLOYING (not usable yet), OK (ready) or UNDEPLOYED (rejected).",
        },
        "target_model": _NULLABLE_STR,
        "gmt_create": _NULLABLE_STR,
        "gmt_modified": _NULLABLE_STR,
    },
    "required": ["voice_id", "status", "target_model"],
}


def _object(
    properties: dict[str, Any], required: list[str] | None = None, *, closed: bool = True
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


VOICE_CLONE_INPUT = _object(
    {
        "prefix": _PREFIX,
        "voice_sample_url": {
            "type": "string",
            "minLength": 1,
            "description": (
                "Required. The reference recording: a public http(s) URL, an oss:// URL, or a "
                "path to a file on the machine running this server (absolute, or relative to "
                "its working directory; uploaded for you, cn-beijing only). "
                "WAV (16-bit), MP3 or M4A; 10–20 s of one speaker's clear speech, at least "
                f"{catalog.SAMPLE_MIN_SPEECH_SECONDS:g} s continuous, at least "
                f"{catalog.SAMPLE_MIN_RATE // 1000} kHz, at most "
                f"{catalog.SAMPLE_MAX_SECONDS:g} s and 10 MB. Run check_sample first."
            ),
        },
        "target_model": _TARGET_MODEL,
        "model": {
            "type": "string",
            "const": catalog.ENROLLMENT_MODEL,
            "description": f"Optional; fixed to {catalog.ENROLLMENT_MODEL!r}.",
        },
        "language_hints": {
            "type": "array",
            "items": {"type": "string", "enum": _languages()},
            "description": (
                "Optional language of the sample, e.g. ['zh'] or ['en']; only the first item "
                "is used. cosyvoice-v2 takes none (dropped with a warning)."
            ),
        },
        "max_prompt_audio_length": {
            "type": "number",
            "minimum": catalog.MAX_PROMPT_AUDIO_LENGTH_RANGE[0],
            "maximum": catalog.MAX_PROMPT_AUDIO_LENGTH_RANGE[1],
            "description": (
                "Optional seconds of the sample the voice uses; only for cosyvoice-v3.5-plus, "
                "cosyvoice-v3.5-flash and cosyvoice-v3-flash."
            ),
        },
        "enable_preprocess": {
            "type": "boolean",
            "description": (
                "Optional: let the service denoise the sample; same models as "
                "max_prompt_audio_length."
            ),
        },
        "wait": {
            "type": "boolean",
            "default": True,
            "description": (
                f"Wait (up to {DEFAULT_WAIT_TIMEOUT:g} s) until the voice is OK before "
                "returning. With false, call wait_voice before synthesize."
            ),
        },
        "force": {
            "type": "boolean",
            "default": False,
            "description": (
                "Create a new voice even if an identical clone already exists (uses another "
                "slot). Leave false: an identical request returns the existing voice."
            ),
        },
    },
    ["prefix", "voice_sample_url"],
)

VOICE_CLONE_OUTPUT = _object(
    {
        "voice_id": {"type": "string"},
        "request_id": _NULLABLE_STR,
        "usage": {
            "type": ["object", "null"],
            "properties": {"count": {"type": "integer"}},
        },
        "status": {
            **_NULLABLE_STR,
            "description": "OK when ready; DEPLOYING if wait=false (or still deploying).",
        },
        "target_model": {"type": "string"},
        "reused": {
            "type": "boolean",
            "description": "True when an existing identical voice was returned (no slot used).",
        },
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
    ["voice_id", "request_id", "usage", "status", "target_model", "reused"],
    closed=False,
)

CHECK_SAMPLE_INPUT = _object(
    {
        "source": {
            "type": "string",
            "minLength": 1,
            "description": "A local file path or an http(s) URL of the reference recording.",
        },
        "target_model": {
            **_TARGET_MODEL,
            "description": "Judge the sample for this target model (default "
            f"{catalog.DEFAULT_TARGET_MODEL}).",
        },
    },
    ["source"],
)

CHECK_SAMPLE_OUTPUT = _object(
    {
        "verdict": {
            "type": "string",
            "enum": ["pass", "warn", "fail"],
            "description": "fail: cloning would be rejected or sound wrong; fix it first.",
        },
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "severity": {"type": "string"},
                    "message": {"type": "string"},
                    "service_code": _NULLABLE_STR,
                },
                "required": ["code", "severity", "message"],
            },
        },
        "measurements": {"type": "object"},
        "target_model": {"type": "string"},
        "service_code": {
            **_NULLABLE_STR,
            "description": "The Audio.* error the service would most likely answer, if any.",
        },
    },
    ["verdict", "problems", "measurements"],
    closed=False,
)

LIST_VOICES_INPUT = _object(
    {
        "prefix": {
            **_PREFIX,
            "description": "Only voices whose voice_id was made with this prefix.",
        },
    }
)

LIST_VOICES_OUTPUT = _object(
    {
        "voices": {"type": "array", "items": _VOICE_OUT},
        "count": {"type": "integer"},
    },
    ["voices", "count"],
    closed=False,
)

VOICE_ID_INPUT = _object({"voice_id": _VOICE_ID}, ["voice_id"])

WAIT_VOICE_INPUT = _object(
    {
        "voice_id": _VOICE_ID,
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_WAIT_TIMEOUT,
            "default": DEFAULT_WAIT_TIMEOUT,
            "description": "Seconds to wait at most; a timeout is an error (code voice_not_ready).",
        },
    },
    ["voice_id"],
)

DELETE_VOICE_INPUT = _object(
    {
        "voice_id": _VOICE_ID,
        "confirm": {
            "type": "boolean",
            "description": (
                "Must be true: deleting cannot be undone (the voice is gone, its slot freed)."
            ),
        },
    },
    ["voice_id", "confirm"],
)

DELETE_VOICE_OUTPUT = _object(
    {
        "voice_id": {"type": "string"},
        "deleted": {"type": "boolean"},
        "request_id": _NULLABLE_STR,
    },
    ["voice_id", "deleted"],
    closed=False,
)

SYNTHESIZE_INPUT = _object(
    {
        "voice": {
            "type": "string",
            "minLength": 1,
            "description": (
                "The voice_id to speak with (or the prefix of a voice this machine cloned, if "
                "only one matches)."
            ),
        },
        "text": {
            "type": "string",
            "minLength": 1,
            "description": "What to say. Long texts are split at sentence boundaries for you.",
        },
        "out": {
            "type": "string",
            "minLength": 1,
            "description": (
                "File path to write the audio to (absolute recommended; the format follows the "
                "extension unless `format` is given; folders are created). Default: a new file "
                "under the server's output directory. An existing file is replaced."
            ),
        },
        "format": {
            "type": "string",
            "enum": list(catalog.AUDIO_FORMATS),
            "description": "Audio format (default: from `out`'s extension, else wav).",
        },
        "sample_rate": {
            "type": "integer",
            "enum": list(catalog.SAMPLE_RATES),
            "description": f"Hz (default {catalog.DEFAULT_SAMPLE_RATE}; opus: 8k/16k/24k/48k).",
        },
        "volume": {"type": "integer", "minimum": 0, "maximum": 100, "description": "0–100 (50)."},
        "rate": {"type": "number", "minimum": 0.5, "maximum": 2.0, "description": "Speed (1.0)."},
        "pitch": {"type": "number", "minimum": 0.5, "maximum": 2.0, "description": "Pitch (1.0)."},
        "instruction": {
            "type": "string",
            "description": "Optional style or dialect instruction (models that support it).",
        },
        "language_hint": {
            "type": "string",
            "enum": _languages(),
            "description": "Optional language of the text.",
        },
        "model": {
            **_TARGET_MODEL,
            "description": (
                "Synthesis model. Leave it out: the voice's own target_model is used. Any other "
                "model is refused (error model_mismatch) because a voice only speaks with the "
                "model it was cloned for."
            ),
        },
    },
    ["voice", "text"],
)
SYNTHESIZE_INPUT["properties"]["model"].pop("default", None)

SYNTHESIZE_OUTPUT = _object(
    {
        "path": {"type": "string", "description": "Absolute path of the audio file written."},
        "format": {"type": "string"},
        "sample_rate": {"type": "integer"},
        "duration_s": {"type": ["number", "null"]},
        "bytes": {"type": ["integer", "null"]},
        "voice_id": {"type": "string"},
        "model": {"type": "string"},
        "characters": {"type": ["integer", "null"]},
    },
    ["path", "format", "sample_rate", "duration_s", "voice_id", "model"],
    closed=False,
)


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what an agent sees (name, description, schemas, hints)."""

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None = None
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "voice_clone",
        "Clone a voice",
        "Enroll a cloned voice from a reference recording (CosyVoice voice enrollment, the "
        "skill's normalized cosyvoice.voice_clone request). voice_sample_url may be a local "
        "file path. Returns voice_id, request_id, usage, status, target_model and reused. "
        "Uses one voice slot unless an identical clone exists (then reused=true). With "
        "wait=true (default) it returns once the voice is OK and ready for synthesize.",
        VOICE_CLONE_INPUT,
        VOICE_CLONE_OUTPUT,
        idempotent=True,
    ),
    ToolSpec(
        "check_sample",
        "Check a reference sample",
        "Preflight a reference recording (local path or http(s) URL) before cloning: verdict "
        "pass/warn/fail, problems (each with a code, a message and the service error it would "
        "cause) and measurements (duration, sample rate, speech, pauses, loudness, SNR). "
        "Nothing is sent to the service.",
        CHECK_SAMPLE_INPUT,
        CHECK_SAMPLE_OUTPUT,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        "list_voices",
        "List voices",
        "List the cloned voices of the account (all pages), optionally only one prefix, with "
        "status (DEPLOYING/OK/UNDEPLOYED) and target_model.",
        LIST_VOICES_INPUT,
        LIST_VOICES_OUTPUT,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        "get_voice",
        "Show a voice",
        "Get one voice: status, target_model, creation and modification times.",
        VOICE_ID_INPUT,
        _VOICE_OUT,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        "wait_voice",
        "Wait for a voice",
        "Poll a voice until its status is OK (ready to speak) and return it. UNDEPLOYED is an "
        "error (voice_rejected: the sample failed review); running out of time is an error "
        "(voice_not_ready).",
        WAIT_VOICE_INPUT,
        _VOICE_OUT,
        read_only=True,
        idempotent=True,
    ),
    ToolSpec(
        "synthesize",
        "Speak with a voice",
        "Synthesize text with a cloned voice into an audio file and return its absolute path, "
        "format, sample rate and duration. The synthesis model must be the voice's "
        "target_model (used by default); a mismatch is refused before anything is sent.",
        SYNTHESIZE_INPUT,
        SYNTHESIZE_OUTPUT,
    ),
    ToolSpec(
        "delete_voice",
        "Delete a voice",
        "Delete a cloned voice and free its slot. Irreversible: requires confirm=true; without "
        "it the call is refused (error confirmation_required) and nothing is deleted.",
        DELETE_VOICE_INPUT,
        DELETE_VOICE_OUTPUT,
        destructive=True,
        idempotent=True,
    ),
)
TOOLS_BY_NAME: dict[str, ToolSpec] = {t.name: t for t in TOOLS}


# -- argument validation --------------------------------------------------------------------


@functools.cache
def _validator(tool: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(TOOLS_BY_NAME[tool].input_schema)


def validate_arguments(spec: ToolSpec, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``arguments`` against the tool's input schema; the first problem is an error.

    Raises :class:`InvalidRequestError` naming the field, what was given and what is allowed.
    """
    args = dict(arguments or {})
    if spec.destructive and args.get("confirm") is not True:
        raise _confirmation_required(args.get("voice_id", "the voice"), args.get("confirm"))
    errors = sorted(
        _validator(spec.name).iter_errors(args),
        key=lambda e: ([str(p) for p in e.path], str(e.validator)),
    )
    if not errors:
        return args
    err = errors[0]
    path = [str(p) for p in err.absolute_path]
    props = spec.input_schema.get("properties", {})
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else None
        field_name = missing or "arguments"
        doc = props.get(field_name, {}).get("description", "")
        raise InvalidRequestError(
            f"missing required argument {field_name!r}" + (f": {doc}" if doc else ""),
            field=field_name,
            hint=f"{spec.name} requires: " + ", ".join(spec.input_schema.get("required", [])),
        )
    if err.validator == "additionalProperties":
        unknown = sorted(set(args) - set(props))
        name = unknown[0] if unknown else "arguments"
        raise InvalidRequestError(
            f"unknown argument {name!r}",
            field=name,
            hint=f"{spec.name} takes: " + ", ".join(props),
        )
    field_name = path[0] if path else "arguments"
    schema = props.get(field_name, {})
    allowed = _allowed(schema)
    value = json.dumps(err.instance, ensure_ascii=False)
    if len(value) > 80:
        value = value[:77] + "..."
    where = ".".join(path) if path else field_name
    raise InvalidRequestError(
        f"invalid {where} {value}: {allowed or err.message}",
        field=field_name,
        value=err.instance,
        allowed=allowed,
        hint=schema.get("description"),
    )


def _allowed(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "const" in schema:
        return f"must be {schema['const']!r}"
    kind = schema.get("type")
    parts = []
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        inner = _allowed(schema["items"])
        parts.append("a list" + (f" of {inner}" if inner else ""))
    elif kind:
        parts.append(f"a {kind}" if isinstance(kind, str) else "/".join(kind))
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    hi = schema.get("maximum")
    if "minimum" in schema and hi is not None:
        parts.append(f"in [{schema['minimum']}, {hi}]")
    elif "exclusiveMinimum" in schema and hi is not None:
        parts.append(f"in ({schema['exclusiveMinimum']}, {hi}]")
    elif schema.get("minLength"):
        parts.append("not empty")
    return " ".join(parts)


# -- results --------------------------------------------------------------------------------


def error_payload(err: BaseException, secrets: tuple[str | None, ...] = ()) -> dict[str, Any]:
    """``{"ok": false, "error": {code, message, hint, http_status, api_code, request_id}}``.

    Any exception becomes this shape; every string in it is redacted.
    """
    from .config import redact

    if isinstance(err, CosyVoiceCloneError):
        data = err.to_dict()
    else:
        data = {
            "code": "internal",
            "message": f"{type(err).__name__}: {err}",
            "hint": "an unexpected failure in the server; the server keeps running, try again "
            "or report it with the server's stderr",
            "http_status": None,
            "api_code": None,
            "request_id": None,
        }
    clean = {k: redact(v, *secrets) if isinstance(v, str) else v for k, v in data.items()}
    return {"ok": False, "error": clean}


MCP_HINTS: dict[str, str] = {
    "model_mismatch": "leave `model` out: the voice's own target_model is used; a voice only "
    "speaks with the model it was cloned for",
    "voice_not_ready": "call wait_voice again (timeout up to 3600 s), or look later with get_voice",
    "sample_rejected": "check_sample shows what is wrong; record a cleaner sample, or repair it "
    "with `cosyvoice-clone check SAMPLE --fix OUT.wav` and clone OUT.wav",
}
"""Hints for agents where the library's hint names a CLI option the tools don't have."""


def _for_agents(payload: dict[str, Any]) -> dict[str, Any]:
    error = payload["error"]
    if error.get("code") in MCP_HINTS and "--" in (error.get("hint") or ""):
        error["hint"] = MCP_HINTS[error["code"]]
    return payload


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


# -- the operations -------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class Progress:
    """Progress of one tool call, reported to the client as MCP progress notifications.

    The client modules call back synchronously (from the event loop or a worker thread);
    :meth:`report` schedules the notification on the server's loop, at most one every
    :attr:`interval` seconds (plus the final one), always increasing. It is a no-op for a
    client that did not ask for progress.
    """

    interval = 0.5

    def __init__(self, send: Callable[[float, float | None, str | None], Awaitable[None]]) -> None:
        import asyncio

        self._send = send
        self._loop = asyncio.get_running_loop()
        self._tasks: set[Any] = set()
        self._last_sent = 0.0
        self._last_value = -math.inf

    def report(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Report ``progress`` (of ``total``), with a short message; thread-safe."""
        now = time.monotonic()
        final = total is not None and progress >= total
        if progress <= self._last_value or (not final and now - self._last_sent < self.interval):
            return
        self._last_value, self._last_sent = progress, now
        self._loop.call_soon_threadsafe(self._spawn, progress, total, message)

    def _spawn(self, progress: float, total: float | None, message: str | None) -> None:
        task = self._loop.create_task(self._safe_send(progress, total, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 1.0) -> None:
        """Let the notifications already reported go out (before the call's result does)."""
        import asyncio

        await asyncio.sleep(0)  # run the _spawn callbacks already queued
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def _safe_send(self, progress: float, total: float | None, message: str | None) -> None:
        try:
            await self._send(progress, total, message)
        except Exception as exc:  # a lost notification must never fail the call
            logger.debug("progress notification not sent: %s", exc)


ToolHandler = Callable[[dict[str, Any], "Progress | None"], Awaitable[dict[str, Any]]]


def _status_reporter(
    progress: Progress | None, timeout: float
) -> Callable[[str, str | None, float], None] | None:
    """An ``on_status(voice_id, status, elapsed)`` callback feeding ``progress``."""
    if progress is None:
        return None

    def on_status(voice_id: str, status: str | None, elapsed: float) -> None:
        progress.report(
            round(min(elapsed, timeout), 3),
            timeout,
            f"voice {voice_id} is {status or 'unknown'} after {elapsed:.1f} s",
        )

    return on_status


def _text_reporter(progress: Progress | None) -> Callable[[int, int], None] | None:
    """An ``on_progress(done, total)`` callback (characters spoken) feeding ``progress``."""
    if progress is None:
        return None

    def on_progress(done: int, total: int) -> None:
        progress.report(float(done), float(total), f"{done}/{total} characters spoken")

    return on_progress


class VoiceTools:
    """The operations behind the tools: dict arguments in, JSON-able dicts out.

    Errors are raised from :mod:`cosyvoice_clone.errors`; the server turns them into tool
    errors. Service operations go through one lazily created
    :class:`cosyvoice_clone.client.AsyncCosyVoice` (the same client as the CLI's).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: AsyncCosyVoice | None = None

    @property
    def secrets(self) -> tuple[str | None, ...]:
        """What must never appear in output: the API key in use."""
        key = self.settings.api_key
        return (key.value,) if key is not None else ()

    def client(self) -> AsyncCosyVoice:
        """The async client (created on first use; raises if there is no API key)."""
        if self._client is None:
            from .client import AsyncCosyVoice

            self._client = AsyncCosyVoice(settings=self.settings)
        return self._client

    async def aclose(self) -> None:
        """Close the client if one was created."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def handler(self, name: str) -> ToolHandler:
        """The coroutine function implementing tool ``name``: ``(args, progress)``."""
        handler: ToolHandler = getattr(self, name)
        return handler

    # -- tools --------------------------------------------------------------------------------

    async def voice_clone(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``voice_clone``: validate, check a local sample, dedupe, upload, create, wait."""
        result = await self.client().clone(
            prefix=args["prefix"],
            sample=str(args["voice_sample_url"]).strip(),
            target_model=args.get("target_model"),
            language_hints=args.get("language_hints"),
            max_prompt_audio_length=args.get("max_prompt_audio_length"),
            enable_preprocess=args.get("enable_preprocess"),
            wait=bool(args.get("wait", True)),
            timeout=DEFAULT_WAIT_TIMEOUT,
            force=bool(args.get("force", False)),
            on_status=_status_reporter(progress, DEFAULT_WAIT_TIMEOUT),
        )
        data = _as_dict(result)
        data.pop("ok", None)
        data.pop("check", None)  # the full preflight report: call check_sample to see it
        usage = data.get("usage")
        data["usage"] = usage if isinstance(usage, Mapping) else None
        data["reused"] = bool(data.get("reused", False))
        data["warnings"] = list(data.get("warnings") or [])
        return data

    async def check_sample(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``check_sample`` (local, nothing is sent to the service)."""
        import anyio.to_thread

        from .audio import check_sample

        source = str(args["source"]).strip()
        target = args.get("target_model")
        report = await anyio.to_thread.run_sync(lambda: check_sample(source, target))
        return dict(report.to_dict())

    async def list_voices(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``list_voices``."""
        voices = await self.client().voices.list(prefix=args.get("prefix"))
        items = [_voice_dict(v) for v in voices]
        return {"voices": items, "count": len(items)}

    async def get_voice(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``get_voice``."""
        return _voice_dict(await self.client().voices.show(args["voice_id"]))

    async def wait_voice(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``wait_voice``: poll until OK, then return the voice."""
        timeout = float(args.get("timeout", DEFAULT_WAIT_TIMEOUT))
        client = self.client()
        started = time.monotonic()
        await client.wait(
            args["voice_id"], timeout=timeout, on_status=_status_reporter(progress, timeout)
        )
        waited = time.monotonic() - started
        data = _voice_dict(await client.voices.show(args["voice_id"]))
        data["waited_s"] = round(waited, 3)
        return data

    async def delete_voice(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``delete_voice`` (refused unless ``confirm`` is true)."""
        voice_id = args["voice_id"]
        if args.get("confirm") is not True:
            raise _confirmation_required(voice_id, args.get("confirm"))
        result = await self.client().voices.delete(voice_id)
        data = _as_dict(result) if result is not None else {}
        return {
            "voice_id": voice_id,
            "deleted": bool(data.get("deleted", True)),
            "request_id": data.get("request_id"),
        }

    async def synthesize(
        self, args: dict[str, Any], progress: Progress | None = None
    ) -> dict[str, Any]:
        """Tool ``synthesize``: the model guard applies before anything is sent or written."""
        from .synthesis import guard_model

        client = self.client()
        record = client.voices.resolve(args["voice"])  # a voice id or a unique prefix
        model = guard_model(record.voice_id, args.get("model"), target_model=record.target_model)
        fmt = args.get("format")
        out = args.get("out")
        path = Path(out).expanduser() if out else self._default_out(record.voice_id, args, fmt)
        if not path.is_absolute():
            path = Path.cwd() / path
        _writable(path)
        fields: dict[str, Any] = {"format": fmt or _format_of(path)}
        for name in ("sample_rate", "volume", "rate", "pitch", "instruction"):
            if args.get(name) is not None:
                fields[name] = args[name]
        if args.get("language_hint"):
            fields["language_hints"] = (args["language_hint"],)
        result = await client.speak(
            args["text"],
            path,
            voice=record.voice_id,
            model=model,
            on_progress=_text_reporter(progress),
            **fields,
        )
        data = _as_dict(result)
        duration = _finite(data.get("duration"))
        return {
            "path": str(Path(str(data.get("path") or path)).resolve()),
            "format": data.get("format") or fields["format"],
            "sample_rate": data.get("sample_rate"),
            "duration_s": round(duration, 3) if duration is not None else None,
            "bytes": data.get("bytes"),
            "voice_id": record.voice_id,
            "model": data.get("model") or model,
            "characters": data.get("characters"),
            "parts": data.get("parts"),
            "request_ids": data.get("request_ids") or [],
            "time_to_first_audio_s": data.get("time_to_first_audio"),
        }

    def _default_out(self, voice_id: str, args: Mapping[str, Any], fmt: str | None) -> Path:
        """A new file under ``<output dir>/speech/`` named after the voice, time and text."""
        import hashlib

        digest = hashlib.sha256(str(args.get("text")).encode("utf-8")).hexdigest()[:8]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        voice = "".join(c if c.isalnum() or c in "-_" else "_" for c in voice_id)[:80]
        base = Path(self.settings.output_dir).expanduser() / "speech"
        return base / f"{voice}-{stamp}-{digest}.{fmt or 'wav'}"


def _writable(path: Path) -> None:
    """Refuse an output path that is a folder or whose folder cannot be created."""
    if path.is_dir():
        raise InvalidRequestError(
            f"out {path} is a folder", field="out", hint="pass a file path, e.g. hello.wav"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write to {path.parent}: {exc.strerror or exc}",
            field="out",
            value=str(path),
            hint="pass an `out` path in a writable folder",
        ) from None


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in catalog.AUDIO_FORMATS else "wav"


def _as_dict(value: Any) -> dict[str, Any]:
    """A client result as a dict (``to_dict()``, a mapping, or a dataclass)."""
    if isinstance(value, Mapping):
        return dict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        data = to_dict()
        if isinstance(data, Mapping):
            return dict(data)
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"unexpected result type {type(value).__name__}")


def _voice_dict(voice: Any) -> dict[str, Any]:
    data = _as_dict(voice)
    data.setdefault("status", None)
    if not data.get("target_model"):
        data["target_model"] = catalog.model_from_voice_id(str(data.get("voice_id", "")))
    return data


# -- the server -----------------------------------------------------------------------------


def tool_definitions() -> list[Any]:
    """The tools as ``mcp_types.Tool`` objects."""
    import mcp_types as types

    return [
        types.Tool(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            input_schema=spec.input_schema,
            output_schema=spec.output_schema,
            annotations=types.ToolAnnotations(
                title=spec.title,
                read_only_hint=spec.read_only,
                destructive_hint=spec.destructive,
                idempotent_hint=spec.idempotent,
                open_world_hint=spec.open_world,
            ),
        )
        for spec in TOOLS
    ]


async def call_tool(
    tools: VoiceTools,
    name: str,
    arguments: Mapping[str, Any] | None,
    progress: Progress | None = None,
) -> Any:
    """Run one tool call and return a ``CallToolResult`` (failures as ``is_error`` results)."""
    import mcp_types as types
    from mcp.shared.exceptions import MCPError

    spec = TOOLS_BY_NAME.get(name)
    if spec is None:
        raise MCPError(
            code=types.INVALID_PARAMS,
            message=f"unknown tool {name!r}; tools: " + ", ".join(TOOLS_BY_NAME),
        )
    started = time.monotonic()
    try:
        args = validate_arguments(spec, arguments)
        try:
            data = await tools.handler(name)(args, progress)
        finally:
            if progress is not None:
                await progress.drain()
    except Exception as exc:  # every failure becomes a tool error; the server keeps serving
        payload = _for_agents(error_payload(exc, tools.secrets))
        if isinstance(exc, CosyVoiceCloneError):
            logger.info("tool %s failed: %s", name, payload["error"]["code"])
        else:
            logger.error("tool %s crashed: %s", name, payload["error"]["message"])
            logger.debug("traceback", exc_info=True)
        return types.CallToolResult(
            content=[types.TextContent(text=_json_text(payload))],
            structured_content=payload,
            is_error=True,
        )
    logger.info("tool %s ok in %.2f s", name, time.monotonic() - started)
    from .config import redact

    text = redact(_json_text(data), *tools.secrets)
    return types.CallToolResult(
        content=[types.TextContent(text=text)],
        structured_content=json.loads(text),
    )


def build_server(settings: Settings) -> Server[VoiceTools]:
    """An MCP low-level server exposing :data:`TOOLS` on ``settings``."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    import mcp_types as types
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server

    @asynccontextmanager
    async def lifespan(_: Server[VoiceTools]) -> AsyncIterator[VoiceTools]:
        tools = VoiceTools(settings)
        try:
            yield tools
        finally:
            await tools.aclose()

    async def on_list_tools(
        ctx: ServerRequestContext[VoiceTools], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tool_definitions())

    async def on_call_tool(
        ctx: ServerRequestContext[VoiceTools], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        # A no-op unless the client sent a progress token with the call.
        progress = Progress(ctx.session.report_progress)
        result: types.CallToolResult = await call_tool(
            ctx.lifespan_context, params.name, params.arguments, progress
        )
        return result

    return Server(
        SERVER_NAME,
        version=__version__,
        title="CosyVoice voice cloning",
        description="Clone voices with Alibaba Cloud CosyVoice and speak with them.",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


class _RedactingFilter(logging.Filter):
    """Masks the API key (and anything key-shaped) in every log record."""

    def __init__(self, secrets: tuple[str | None, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        from .config import redact

        text = record.getMessage()
        if record.exc_info:  # tracebacks too: an exception message may quote anything
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg = redact(text, *self.secrets)
        record.args = None
        return True


def configure_logging(settings: Settings, level: int = logging.WARNING) -> None:
    """Send logs to stderr (never stdout: it carries the protocol), with the key masked."""
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("cosyvoice-clone mcp: %(levelname)s %(message)s"))
    key = settings.api_key
    handler.addFilter(_RedactingFilter((key.value,) if key is not None else ()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "websockets", "uvicorn", "mcp"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


async def serve_stdio(settings: Settings) -> None:
    """Serve the tools over stdin/stdout until the client closes stdin."""
    from mcp.server.stdio import stdio_server

    server = build_server(settings)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def require_sdk() -> None:
    """Raise :class:`~cosyvoice_clone.errors.ConfigError` if the ``mcp`` SDK is missing."""
    from .errors import ConfigError

    try:
        import mcp.server.lowlevel  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the MCP server needs the optional 'mcp' package", hint=INSTALL_HINT
        ) from None


__all__ = [
    "TOOLS",
    "ConfirmationRequiredError",
    "Progress",
    "ToolSpec",
    "VoiceTools",
    "build_server",
    "call_tool",
    "error_payload",
    "serve_stdio",
    "tool_definitions",
    "validate_arguments",
]
