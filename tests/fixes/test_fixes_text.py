"""Item 18 of issue 23: malformed SSML and control characters are refused before sending."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError

VOICE = "longxiaochun_v2"


def tts_tasks(emulator: RunningEmulator) -> int:
    """run-task messages the emulator received (one per synthesis task)."""
    entries = emulator.backend.recorded("websocket").get("websocket", [])
    return sum(1 for e in entries if e["message"]["header"]["action"] == "run-task")


BAD_SSML = [
    ('<speak>hello <break time="1s">', "not well-formed XML"),
    ("no root at all", "not well-formed XML"),
    ("<p>hi</p>", "root element is <p>, not <speak>"),
    ('<!DOCTYPE x [<!ENTITY a "b">]><speak>&a;</speak>', "DOCTYPE"),
]


@pytest.mark.parametrize(("text", "message"), BAD_SSML)
def test_cli_malformed_ssml_refused(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path, text: str, message: str
) -> None:
    out = tmp_path / "a.wav"
    res = cli("speak", "--voice", VOICE, "--ssml", "--text", text, "--out", str(out))
    assert res.exit_code == 2, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) <= 3
    assert not out.exists() and tts_tasks(cosyvoice_emulator_env) == 0


def test_ssml_error_names_line_and_column(lib: Callable[..., CosyVoice], tmp_path: Path) -> None:
    with lib() as cv, pytest.raises(InvalidRequestError, match=r"at line 2, column \d+"):
        cv.speak("<speak>\nhi <break></speak>", tmp_path / "a.wav", voice=VOICE, ssml=True)


def test_well_formed_ssml_still_speaks(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    with lib() as cv:
        result = cv.speak('<speak>hi <break time="200ms"/> there</speak>', tmp_path / "a.wav",
                          voice=VOICE, ssml=True)  # fmt: skip
    assert Path(result.path).stat().st_size > 44 and tts_tasks(cosyvoice_emulator) == 1


@pytest.mark.parametrize("text", ["hi\x00there", "a\x07b", "esc \x1b[31m", "del\x7f"])
def test_library_control_characters_refused(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator, tmp_path: Path, text: str
) -> None:
    with lib() as cv, pytest.raises(InvalidRequestError, match="control character U\\+00"):
        cv.speak(text, tmp_path / "a.wav", voice=VOICE)
    assert tts_tasks(cosyvoice_emulator) == 0 and not (tmp_path / "a.wav").exists()


def test_cli_text_file_with_nul(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    text = tmp_path / "nul.txt"
    text.write_bytes(b"hello\x00world\x07bell\n")
    res = cli("speak", "--voice", VOICE, "--text-file", str(text), "--out", str(tmp_path / "a.wav"))
    assert res.exit_code == 2, res.stderr
    assert "U+0000 (NUL) at character 6 (line 1, column 6)" in res.stderr
    assert tts_tasks(cosyvoice_emulator_env) == 0


def test_tabs_line_ends_and_form_feeds_are_fine(
    lib: Callable[..., CosyVoice], tmp_path: Path
) -> None:
    with lib() as cv:
        result = cv.speak("one\ttwo\r\nthree\fpage two.", tmp_path / "a.wav", voice=VOICE)
    assert Path(result.path).stat().st_size > 44


def test_batch_row_with_nul_is_invalid(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    manifest = tmp_path / "m.jsonl"
    rows = [{"id": "ok", "voice": VOICE, "text": "你好。"},
            {"id": "bad", "voice": VOICE, "text": "a\u0000b"}]  # fmt: skip
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = cli("batch", str(manifest))
    assert res.exit_code == 1, res.stderr
    assert (tmp_path / "ok.wav").exists() and not (tmp_path / "bad.wav").exists()
    assert "control character U+0000" in res.stderr


def test_library_stream_speech_refuses_a_nul(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator
) -> None:
    with lib() as cv, pytest.raises(InvalidRequestError, match="U\\+0000 \\(NUL\\)"):
        cv.stream_speech("hi\x00there", voice=VOICE)
    assert tts_tasks(cosyvoice_emulator) == 0
