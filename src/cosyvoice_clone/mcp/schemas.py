"""The MCP tools as agents see them: names, descriptions, JSON schemas (checked by
:mod:`.validation`).

No MCP SDK and no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import catalog
from ..audio.files import format_size
from ..extras import install_hint

SERVER_NAME = "cosyvoice-clone"
INSTALL_HINT = f"install it with: {install_hint('mcp')}"
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
                f"{catalog.SAMPLE_MAX_SECONDS:g} s and {format_size(catalog.SAMPLE_MAX_BYTES)}. "
                "Run check_sample first."
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
                f"Wait (up to {catalog.DEFAULT_WAIT_TIMEOUT:g} s) until the voice is OK before "
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

VOICE_DESIGN_INPUT = _object(
    {
        "prefix": _PREFIX,
        "voice_prompt": {
            "type": "string",
            "minLength": 1,
            "maxLength": catalog.VOICE_PROMPT_MAX_CHARS,
            "description": (
                "Required. The voice described in Chinese or English (at most "
                f"{catalog.VOICE_PROMPT_MAX_CHARS} characters): gender, age, pitch, pace, "
                "emotion, timbre, use; e.g. 'A calm middle-aged male announcer, deep and "
                "magnetic, steady pace'."
            ),
        },
        "preview_text": {
            "type": "string",
            "minLength": 1,
            "maxLength": catalog.PREVIEW_TEXT_MAX_CHARS,
            "description": (
                "Optional. What the preview says, Chinese or English (at most "
                f"{catalog.PREVIEW_TEXT_MAX_CHARS} characters); a short greeting by default."
            ),
        },
        "target_model": {
            "type": "string",
            "enum": list(catalog.DESIGN_MODELS),
            "default": catalog.DEFAULT_TARGET_MODEL,
            "description": (
                "The synthesis model the voice is bound to (it speaks only with this model). "
                "Voice design is offered in cn-beijing only."
            ),
        },
        "language_hints": {
            "type": "array",
            "items": {"type": "string", "enum": list(catalog.DESIGN_LANGUAGES)},
            "description": "Optional ['zh'] or ['en'], matching the preview text.",
        },
        "sample_rate": {
            "type": "integer",
            "enum": list(catalog.DESIGN_SAMPLE_RATES),
            "description": f"Preview sample rate (default {catalog.DEFAULT_DESIGN_SAMPLE_RATE}).",
        },
        "response_format": {
            "type": "string",
            "enum": list(catalog.DESIGN_RESPONSE_FORMATS),
            "description": (f"Preview format (default {catalog.DEFAULT_DESIGN_RESPONSE_FORMAT})."),
        },
        "wait": {
            "type": "boolean",
            "default": True,
            "description": (
                f"Wait (up to {catalog.DEFAULT_WAIT_TIMEOUT:g} s) until the voice is OK."
            ),
        },
        "force": {
            "type": "boolean",
            "default": False,
            "description": "Design again even if an identical design exists. Leave false.",
        },
    },
    ["prefix", "voice_prompt"],
)

VOICE_DESIGN_OUTPUT = _object(
    {
        "voice_id": {"type": "string"},
        "request_id": _NULLABLE_STR,
        "status": _NULLABLE_STR,
        "target_model": {"type": "string"},
        "reused": {"type": "boolean"},
        "preview": {
            "type": "object",
            "description": "The spoken preview: format, sample_rate, bytes and the file path.",
        },
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
    ["voice_id", "request_id", "status", "target_model", "reused", "preview"],
    closed=False,
)

CHECK_SAMPLE_INPUT = _object(
    {
        "sample": {
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
    ["sample"],
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

LIST_SYSTEM_VOICES_INPUT = _object(
    {
        "model": {
            "type": "string",
            "enum": catalog.synthesis_models(),
            "description": "Only the system voices this synthesis model speaks.",
        },
    }
)

_SYSTEM_VOICE_OUT: dict[str, Any] = {
    "type": "object",
    "description": "A preset voice of the service, from the catalog (with its source).",
    "properties": {
        "name": {"type": "string", "description": "The value to pass as synthesize's voice."},
        "models": {"type": "array", "items": {"type": "string"}},
        "default_model": {"type": "string"},
        "languages": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "models", "default_model"],
}

LIST_SYSTEM_VOICES_OUTPUT = _object(
    {
        "voices": {"type": "array", "items": _SYSTEM_VOICE_OUT},
        "count": {"type": "integer"},
    },
    ["voices", "count"],
    closed=False,
)

VOICE_ID_INPUT = _object({"voice": _VOICE_ID}, ["voice"])

WAIT_VOICE_INPUT = _object(
    {
        "voice": _VOICE_ID,
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_WAIT_TIMEOUT,
            "default": catalog.DEFAULT_WAIT_TIMEOUT,
            "description": "Seconds to wait at most; a timeout is an error (code voice_not_ready).",
        },
    },
    ["voice"],
)

DELETE_VOICE_INPUT = _object(
    {
        "voice": _VOICE_ID,
        "confirm": {
            "type": "boolean",
            "description": (
                "Must be true: deleting cannot be undone (the voice is gone, its slot freed)."
            ),
        },
    },
    ["voice", "confirm"],
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

INLINE_MAX_WEIGHT = 1_000
"""Longest text (service weight) whose audio ``synthesize`` returns inline (about a minute of
speech: up to ~3 MB of 22 kHz WAV before base64)."""

SYNTHESIZE_INPUT = _object(
    {
        "voice": {
            "type": "string",
            "minLength": 1,
            "description": (
                "The voice_id to speak with (or the prefix of a voice this machine cloned, if "
                "only one matches), or a system voice name from list_system_voices (e.g. "
                "longxiaochun_v2; no model needed)."
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
                "File path to write the audio to (absolute recommended; a missing folder is "
                "refused unless mkdir=true). "
                "The format is the extension's ("
                + ", ".join(f".{fmt}" for fmt in catalog.AUDIO_FORMATS)
                + ") unless `format` is given: a name without an audio extension needs "
                "`format`, and a `format` the extension contradicts is refused. Default: a new "
                "file under the server's output directory. An existing file is replaced "
                "(`replaced` says so), never a registered voice's reference sample."
            ),
        },
        "mkdir": {
            "type": "boolean",
            "default": False,
            "description": "Create the missing folders of `out` (default false: refused).",
        },
        "format": {
            "type": "string",
            "enum": list(catalog.AUDIO_FORMATS),
            "description": "Audio format (default: `out`'s extension; wav without `out`).",
        },
        "sample_rate": {
            "type": "integer",
            "enum": list(catalog.SAMPLE_RATES),
            "description": (
                f"Hz (default {catalog.default_sample_rate('wav')}; opus: "
                + "/".join(str(rate) for rate in catalog.OPUS_SAMPLE_RATES)
                + f", default {catalog.default_sample_rate('opus')})."
            ),
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
            "type": "string",
            "enum": catalog.synthesis_models(),
            "description": (
                "Synthesis model. Leave it out: the voice's own target_model is used (a system "
                "voice: its default model). Any other model is refused (error model_mismatch) "
                "because a voice only speaks with the model it was cloned for (a system voice: "
                "the models list_system_voices gives)."
            ),
        },
        "inline_audio": {
            "type": "boolean",
            "default": False,
            "description": (
                "Also return the audio itself as an MCP audio content block (base64), for hosts "
                f"that cannot read local files. Short texts only (up to {INLINE_MAX_WEIGHT} "
                "characters, CJK counting 2); the file is written either way."
            ),
        },
    },
    ["voice", "text"],
)

SYNTHESIZE_OUTPUT = _object(
    {
        "path": {"type": "string", "description": "Absolute path of the audio file written."},
        "format": {"type": "string"},
        "sample_rate": {"type": "integer"},
        "duration": {"type": ["number", "null"], "description": "Seconds of audio."},
        "bytes": {"type": ["integer", "null"]},
        "voice": {"type": "string"},
        "model": {"type": "string"},
        "characters": {"type": ["integer", "null"]},
        "inline_audio": {
            "type": ["object", "null"],
            "description": "With inline_audio: the audio content block's mime_type and bytes.",
        },
        "replaced": {"type": "boolean", "description": "An existing file was overwritten."},
    },
    ["path", "format", "sample_rate", "duration", "voice", "model"],
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
        "voice_design",
        "Design a voice",
        "Create a voice from a text description instead of a recording (CosyVoice voice "
        "design, the normalized cosyvoice.voice_design request; cn-beijing). Returns voice_id, "
        "status, target_model, reused and the preview (its audio file's path). The voice then "
        "works like a cloned one with synthesize. An identical design returns the existing "
        "voice (reused=true).",
        VOICE_DESIGN_INPUT,
        VOICE_DESIGN_OUTPUT,
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
        "list_system_voices",
        "List system voices",
        "List the service's preset voices known to this tool (name, the models that speak it, "
        "default_model, languages, source). Pass a name as synthesize's voice; no cloning "
        "needed. Nothing is sent to the service.",
        LIST_SYSTEM_VOICES_INPUT,
        LIST_SYSTEM_VOICES_OUTPUT,
        read_only=True,
        idempotent=True,
        open_world=False,
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
        "Synthesize text with a cloned voice or a system voice into an audio file and return "
        "its absolute path, format, sample rate and duration. The synthesis model must be the "
        "voice's target_model (used by default); a mismatch is refused before anything is "
        "sent.",
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


__all__ = [
    "INLINE_MAX_WEIGHT",
    "INSTRUCTIONS",
    "MAX_WAIT_TIMEOUT",
    "SERVER_NAME",
    "TOOLS",
    "TOOLS_BY_NAME",
    "ToolSpec",
]
