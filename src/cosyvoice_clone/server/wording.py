"""What to do next, worded for the server's users: apps calling the HTTP API, and people on
the studio page.

The library says what can be done next as a structured :class:`~..errors.NextStep` (a kind and
named arguments); its default wording names CLI commands and flags, which mean nothing to an
app calling ``/v1/audio/speech`` or to someone pressing the studio's buttons. Each kind is
worded here once per audience; a kind with no wording here gets no hint (the message still
says what is wrong).
"""

from __future__ import annotations

from enum import Enum

from ..errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    ModelMismatchError,
    NextStep,
    StepKind,
)


class Audience(Enum):
    """Who reads the answer."""

    API = "api"
    """An app calling the OpenAI-compatible HTTP API."""
    STUDIO = "studio"
    """A person on the studio page."""


_CHECK = "check it in the studio (/) to see what is wrong and repair it"
_STUDIO_CHECK = "Check (step 2) shows why; Fix repairs what can be repaired"
_ACCOUNT = "the server's DashScope key"

_API: dict[StepKind, str] = {
    StepKind.CHECK_SAMPLE: _CHECK,
    StepKind.SKIP_CHECK: _CHECK,
    StepKind.CHECK_KEY: f"{_ACCOUNT} is refused: its owner must check the key and its region",
    StepKind.CHECK_ACCESS: f"{_ACCOUNT} has no access to this model or workspace in this region",
    StepKind.CHECK_MODEL_ACCESS: f"{_ACCOUNT} has no access to this model in this region",
    StepKind.ACTIVATE_MODEL: "the model is not activated for the server's account",
    StepKind.TOP_UP: "the server's account is in arrears",
    StepKind.LIST_VOICES: "GET /v1/audio/voices lists the voices that exist",
    StepKind.FREE_SLOTS: "every voice slot of the account is used: delete voices no longer "
    "needed (DELETE in the studio's voice list)",
    StepKind.SLOW_DOWN: "slow down, then try again",
    StepKind.USE_SUPPORTED_FORMAT: "use a WAV (16-bit), MP3 or M4A sample",
    StepKind.PUBLIC_URL: "the service could not download the sample: give a public URL or "
    "upload the file",
    StepKind.LONGER_SAMPLE: "the sample needs at least 5 s of continuous clear speech",
    StepKind.NOT_SILENT: "the sample is silent",
    StepKind.DECODABLE_SAMPLE: "use a WAV, MP3 or M4A sample",
    StepKind.HIGHER_RATE: "the sample rate must be at least 16 kHz",
    StepKind.RETRY_LATER: "a failure on the service's side; try again later",
    StepKind.FULL_VOICE_ID: "send the full voice id (GET /v1/audio/voices lists them)",
    StepKind.PICK_MODEL: "send model {model}, or an OpenAI model name (tts-1, "
    "gpt-4o-mini-tts) for the voice's own model",
    StepKind.WAIT_FOR_VOICE: "try again once it is OK (deploying usually takes under a minute; "
    "GET /v1/audio/voices shows its status)",
    StepKind.CLONE_AGAIN: "clone again with another sample (the studio at / checks it first)",
    StepKind.USE_UPLOAD: "give the sample at a public http(s) URL",
}

_STUDIO: dict[StepKind, str] = {
    StepKind.CHECK_SAMPLE: _STUDIO_CHECK,
    StepKind.SKIP_CHECK: _STUDIO_CHECK,
    StepKind.CHECK_KEY: "the server's DashScope key is refused: check the key and its region, "
    "then start the server again",
    StepKind.CHECK_ACCESS: "the server's key has no access to this model here; pick another "
    "target model",
    StepKind.CHECK_MODEL_ACCESS: "the server's key has no access to this target model here; "
    "pick another one",
    StepKind.ACTIVATE_MODEL: "activate the model in the Model Studio console",
    StepKind.TOP_UP: "the account is in arrears; top it up in the console",
    StepKind.LIST_VOICES: "Refresh the voice list (step 5) to see the voices that exist",
    StepKind.FREE_SLOTS: "every voice slot is used: Delete voices you no longer need (step 5)",
    StepKind.SLOW_DOWN: "wait a moment, then try again",
    StepKind.USE_SUPPORTED_FORMAT: "use a WAV, MP3 or M4A sample; " + _STUDIO_CHECK,
    StepKind.PUBLIC_URL: "the service could not download the sample: give a public URL, or "
    "upload or record it instead",
    StepKind.LONGER_SAMPLE: "record at least 5 s of continuous clear speech (10–20 s is best)",
    StepKind.NOT_SILENT: "the sample is silent: record again closer to the microphone",
    StepKind.DECODABLE_SAMPLE: "use a WAV, MP3 or M4A sample; " + _STUDIO_CHECK,
    StepKind.HIGHER_RATE: "the sample rate must be at least 16 kHz; " + _STUDIO_CHECK,
    StepKind.RETRY_LATER: "a failure on the service's side; try again later",
    StepKind.FULL_VOICE_ID: "choose the voice by its full id in the voice list (step 5)",
    StepKind.PICK_MODEL: "this voice speaks with {model}",
    StepKind.WAIT_FOR_VOICE: "it cannot speak until it is OK: Refresh the voice list (step 5) "
    "in a minute",
    StepKind.CLONE_AGAIN: "clone again with another sample (Check it first, step 2)",
    StepKind.USE_UPLOAD: "give the sample at a public http(s) URL",
}

_WORDING = {Audience.API: _API, Audience.STUDIO: _STUDIO}


def describe(step: NextStep, audience: Audience) -> str | None:
    """The wording of ``step`` for ``audience`` (``None``: nothing useful to say there)."""
    words = _WORDING[audience].get(step.kind)
    if words is None:
        return None
    return words.format_map({"model": "MODEL", "voice_id": "the voice", **dict(step.args)})


def hint_for(err: CosyVoiceCloneError, audience: Audience) -> str | None:
    """What ``audience`` can do about ``err``: its ``next_step`` worded for them; else the
    values a refused field allows; else, for a model mismatch, how to get the voice's own."""
    if err.next_step is not None:
        return describe(err.next_step, audience)
    if isinstance(err, InvalidRequestError) and err.allowed:
        return f"use one of: {err.allowed}"
    if isinstance(err, ModelMismatchError) and audience is Audience.API:
        return "send an OpenAI model name (tts-1, gpt-4o-mini-tts) for the voice's own model"
    return None
