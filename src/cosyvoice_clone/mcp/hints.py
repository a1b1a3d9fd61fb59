"""What to do next, worded for MCP users: tool names and their arguments, never CLI flags.

The library says what to do next as a structured :class:`~cosyvoice_clone.errors.NextStep`
(a :class:`~cosyvoice_clone.errors.StepKind` and named arguments); the CLI words it with its
flags (:func:`cosyvoice_clone.errors.describe`), this module with the MCP tools. An error without
a next step keeps its own hint.
"""

from __future__ import annotations

from .. import catalog
from ..config import ENV_API_KEY, ENV_REGION
from ..errors import CosyVoiceCloneError, NextStep, StepKind
from .schemas import MAX_WAIT_TIMEOUT

_CHECK = "call check_sample on {sample} to see what is wrong, then clone a cleaner recording"
_SAMPLE_SHORT = (
    f"the sample needs at least {catalog.SAMPLE_MIN_SPEECH_SECONDS:g} s of continuous clear "
    f"speech ({catalog.SAMPLE_RECOMMENDED_SECONDS[0]:g}–{catalog.SAMPLE_RECOMMENDED_SECONDS[1]:g}"
    " s is best)"
)

MCP_WORDING: dict[StepKind, str] = {
    StepKind.CHECK_SAMPLE: _CHECK,
    StepKind.SKIP_CHECK: _CHECK + " (voice_clone refuses a sample that fails check_sample, "
    "before any voice slot is used)",
    StepKind.CHECK_KEY: f"check {ENV_API_KEY} in the server's environment; keys are per region "
    "(a Beijing key fails on Singapore and vice versa): run the server in the region of the key "
    f"({ENV_REGION})",
    StepKind.CHECK_ACCESS: "this key has no access to the model or workspace; the model may not "
    "be offered in the server's region (region rules: docs/protocol.md)",
    StepKind.CHECK_MODEL_ACCESS: "this key has no access to the target model, or the model is "
    "not offered in the server's region (region rules: docs/protocol.md); pick another "
    f"target_model, or run the server with {ENV_REGION}=cn-beijing and a Beijing key",
    StepKind.ACTIVATE_MODEL: "the model is not activated for this account; activate it in the "
    "Model Studio console",
    StepKind.TOP_UP: "the account is in arrears; top it up in the console",
    StepKind.LIST_VOICES: "no such voice; list_voices shows the cloned voices that exist, "
    "list_system_voices the system voices",
    StepKind.FREE_SLOTS: "every voice slot is used; delete voices no longer needed with "
    "delete_voice (confirm=true; list_voices shows them)",
    StepKind.SLOW_DOWN: "the service is throttling: wait a little, make fewer calls at once, "
    "then try again",
    StepKind.USE_SUPPORTED_FORMAT: "use a WAV (16-bit), MP3 or M4A sample; " + _CHECK,
    StepKind.PUBLIC_URL: "the service could not download the sample: voice_sample_url must be a "
    "public http(s) URL, or a local file path (uploaded for you)",
    StepKind.LONGER_SAMPLE: _SAMPLE_SHORT + "; " + _CHECK,
    StepKind.NOT_SILENT: "the sample is silent; " + _CHECK,
    StepKind.DECODABLE_SAMPLE: "the sample could not be decoded; use WAV, MP3 or M4A; " + _CHECK,
    StepKind.HIGHER_RATE: f"the sample rate must be at least {catalog.SAMPLE_MIN_RATE // 1000} "
    "kHz; " + _CHECK,
    StepKind.CHECK_FIELD: "the service refused an argument (the message names it); if it names "
    "the target model or region, cloning for that model is not offered in the server's region "
    "(region rules: docs/protocol.md; cn-beijing clones every target model)",
    StepKind.RETRY_LATER: "a service-side failure; try again later",
    StepKind.SYNC_VOICES: "list_voices shows {voice_id} once the service lists it",
    StepKind.FULL_VOICE_ID: "pass the full voice_id as `voice` (list_voices with "
    "prefix={prefix} shows them)",
    StepKind.PICK_MODEL: "leave `model` out: the voice's own model is used ({model}); a voice "
    "only speaks with the model it was made for",
    StepKind.WAIT_FOR_VOICE: "call wait_voice on {voice_id} again (timeout up to "
    f"{MAX_WAIT_TIMEOUT:g} s), or look later with get_voice",
    StepKind.CLONE_AGAIN: "the sample did not pass the service's review: free the slot with "
    "delete_voice on {voice_id} (confirm=true) and call voice_clone again with a cleaner "
    "sample (check_sample first)",
    StepKind.NARROW_PRUNE: "list_voices shows the voices; delete the ones no longer needed one "
    "by one with delete_voice (confirm=true)",
    StepKind.USE_UPLOAD: "put the sample at a public http(s) URL, or pass a local file path as "
    "voice_sample_url",
}
"""The MCP wording of every kind of next step (placeholders: the step's arguments)."""

_PLACEHOLDERS = {
    "sample": "the sample",
    "prefix": "the prefix",
    "model": "its target_model",
    "voice_id": "the voice",
}


def word(step: NextStep) -> str:
    """The MCP wording of ``step``."""
    return MCP_WORDING[step.kind].format_map({**_PLACEHOLDERS, **dict(step.args)})


def mcp_hint(err: CosyVoiceCloneError) -> str | None:
    """The hint an MCP user gets for ``err``: its next step in tool words, else its own hint."""
    step = err.next_step
    return err.hint if step is None else word(step)


__all__ = ["MCP_WORDING", "mcp_hint", "word"]
