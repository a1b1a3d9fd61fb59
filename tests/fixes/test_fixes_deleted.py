"""Item 11 of issue 23: a deleted voice, named by prefix or id, "was deleted (on DATE)"."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixes_helpers import SAMPLE

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import UnknownVoiceError

DATE = re.compile(r"was deleted \(on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)")


@pytest.fixture
def deleted(lib: Callable[..., CosyVoice]) -> str:
    with lib() as cv:
        voice = cv.clone(prefix="gone", sample=SAMPLE, wait=True)
        cv.voices.delete(voice.voice_id)
    return voice.voice_id


@pytest.mark.parametrize("name", ["gone", "id"])
def test_library_show_and_speak_say_deleted(
    lib: Callable[..., CosyVoice], deleted: str, tmp_path: Path, name: str
) -> None:
    voice = deleted if name == "id" else name
    with lib() as cv:
        with pytest.raises(UnknownVoiceError) as shown:
            cv.voices.show(voice)
        with pytest.raises(UnknownVoiceError) as spoken:
            cv.speak("hello", tmp_path / "a.wav", voice=voice)
    for err in (shown.value, spoken.value):
        assert DATE.search(str(err)) and deleted in str(err), err
        assert err.code == "voice_deleted"
    assert not (tmp_path / "a.wav").exists()


def test_library_show_by_id_deleted_elsewhere(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator
) -> None:
    with lib() as cv:
        voice = cv.clone(prefix="else", sample=SAMPLE)
        cosyvoice_emulator.backend.store.delete_voice(voice.voice_id)  # not through us
        with pytest.raises(UnknownVoiceError, match=DATE.pattern):
            cv.voices.show(voice.voice_id)
        assert cv.registry.get(voice.voice_id).deleted_at  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["gone", "id"])
def test_cli_show_and_speak_say_deleted(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, deleted: str, tmp_path: Path, name: str
) -> None:
    voice = deleted if name == "id" else name
    speak = ("speak", "--voice", voice, "--text", "hi", "--out", str(tmp_path / "a.wav"))
    for args in (("voices", "show", voice), speak):
        res = cli(*args)
        assert res.exit_code == 2, (args, res.stderr)
        assert DATE.search(res.stderr) and "Traceback" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) <= 3


def test_unknown_prefix_is_still_unknown(lib: Callable[..., CosyVoice]) -> None:
    with lib() as cv, pytest.raises(UnknownVoiceError, match="no registered voice has this"):
        cv.voices.show("never")
