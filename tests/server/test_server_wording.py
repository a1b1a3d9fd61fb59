"""The server words the library's next steps for its own users: HTTP callers and studio users
never read CLI commands or flags, and every kind a refusal of speech can carry is worded."""

from __future__ import annotations

import re

import pytest

from cosyvoice_clone.errors import (
    InvalidRequestError,
    ModelMismatchError,
    NextStep,
    StepKind,
    UnknownVoiceError,
    VoiceDeployingError,
)
from cosyvoice_clone.server.plumbing import answer_for
from cosyvoice_clone.server.wording import Audience, describe

CLI_WORDS = re.compile(r"cosyvoice-clone |(^|\s)--[a-z]|`")
ARGS = {"sample": "a.wav", "prefix": "myvoice", "model": "cosyvoice-v2", "voice_id": "v-1"}
SPEECH_KINDS = (StepKind.LIST_VOICES, StepKind.FULL_VOICE_ID, StepKind.PICK_MODEL,
                StepKind.WAIT_FOR_VOICE, StepKind.CLONE_AGAIN)  # fmt: skip
"""What a refused speech request can carry (the parity cases)."""


@pytest.mark.parametrize("audience", list(Audience))
@pytest.mark.parametrize("kind", list(StepKind))
def test_no_wording_names_a_cli_command_or_flag(kind: StepKind, audience: Audience) -> None:
    words = describe(NextStep.of(kind, **ARGS), audience)
    assert words is None or not CLI_WORDS.search(words), words
    if kind in SPEECH_KINDS:
        assert words, f"{kind} has no wording for {audience}"


def test_the_answer_carries_the_library_code_and_the_door_hint() -> None:
    err = UnknownVoiceError(
        "unknown voice 'x'", field="voice", hint="`cosyvoice-clone voices list` shows them",
        next_step=NextStep(StepKind.LIST_VOICES),
    )  # fmt: skip
    api, studio = answer_for(err, Audience.API), answer_for(err, Audience.STUDIO)
    assert (api.status, api.code, api.param) == (404, "unknown_voice", "voice")
    assert (studio.status, studio.code, studio.param) == (404, "unknown_voice", "voice")
    assert "GET /v1/audio/voices" in api.message and "Refresh" in studio.message
    assert "cosyvoice-clone" not in api.message + studio.message

    deploying = answer_for(VoiceDeployingError("not yet",
                                               next_step=NextStep.of(StepKind.WAIT_FOR_VOICE,
                                                                     voice_id="v-1")))  # fmt: skip
    assert deploying.status == 409 and deploying.code == "voice_deploying"


def test_a_refused_field_is_named_as_openai_names_it_and_its_values_listed() -> None:
    rate = InvalidRequestError("rate must be 0.5 to 2.0", field="rate", hint="use --rate 1.0")
    answer = answer_for(rate)
    assert answer.param == "speed" and "--rate" not in answer.message
    fmt = InvalidRequestError("unsupported format 'ogg'", field="format", allowed="mp3, wav")
    answer = answer_for(fmt)
    assert answer.param == "response_format" and answer.message.endswith("use one of: mp3, wav")
    mismatch = answer_for(ModelMismatchError("bound to v3.5", field="model", hint="use --model"))
    assert mismatch.param == "model" and "--model" not in mismatch.message
    assert answer_for(ModelMismatchError("bound", field="model"), Audience.STUDIO).param == "voice"
