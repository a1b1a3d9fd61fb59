"""Items 2 and 12 of issue 23: every option is validated before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixes_helpers import SAMPLE, posts

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError

PROMPT = "A cheerful child, speaking fast"


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf])
def test_design_bad_timeout_spends_no_slot(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator, timeout: float
) -> None:
    with lib() as cv, pytest.raises(InvalidRequestError, match="--timeout"):
        cv.design(prefix="kid", prompt=PROMPT, wait=True, timeout=timeout)
    assert cosyvoice_emulator.backend.store.voice_count() == 0
    assert posts(cosyvoice_emulator) == 0


def test_design_timeout_refused_also_for_a_reused_design(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator
) -> None:
    with lib() as cv:
        first = cv.design(prefix="kid", prompt=PROMPT)
        with pytest.raises(InvalidRequestError, match="--timeout"):
            cv.design(prefix="kid", prompt=PROMPT, wait=True, timeout=-1)
    assert cosyvoice_emulator.backend.store.voice_count() == 1
    assert first.voice_id


def test_update_bad_timeout_sends_no_update(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator
) -> None:
    with lib() as cv:
        voice = cv.clone(prefix="upd", sample=SAMPLE)
        before = posts(cosyvoice_emulator)
        assert before > 0  # the clone itself was counted
        uploads = cosyvoice_emulator.backend.store.upload_count()
        with pytest.raises(InvalidRequestError, match="--timeout"):
            cv.voices.update(voice.voice_id, SAMPLE, wait=True, timeout=0)
    assert posts(cosyvoice_emulator) == before
    assert cosyvoice_emulator.backend.store.upload_count() == uploads


def test_cli_design_timeout_zero_exit_2_no_voice(
    cli: Any, cosyvoice_emulator_env: RunningEmulator
) -> None:
    res = cli("design", "--prefix", "kid", "--prompt", PROMPT, "--timeout", "0")
    assert res.exit_code == 2, res.stderr
    assert "--timeout" in res.stderr and "Traceback" not in res.stderr
    assert cosyvoice_emulator_env.backend.store.voice_count() == 0


def test_design_preview_extension_contradicting_format_refused(
    lib: Callable[..., CosyVoice], cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "p.mp3"
    with lib() as cv, pytest.raises(InvalidRequestError, match=r"p\.mp3 names a mp3 file"):
        cv.design(prefix="kid", prompt=PROMPT, preview_out=out, response_format="wav")
    assert not out.exists()
    assert cosyvoice_emulator.backend.store.voice_count() == 0


def test_design_preview_unknown_extension_with_format_accepted(
    lib: Callable[..., CosyVoice], tmp_path: Path
) -> None:
    out = tmp_path / "preview.bin"
    with lib() as cv:
        result = cv.design(prefix="kid", prompt=PROMPT, preview_out=out, response_format="wav")
    assert out.read_bytes()[:4] == b"RIFF" and result.preview_format == "wav"


def test_cli_design_preview_mismatch_exit_2(
    cli: Any, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "p.mp3"
    res = cli("design", "--prefix", "kid", "--prompt", PROMPT, "--preview-out", str(out),
              "--format", "wav", "--no-wait")  # fmt: skip
    assert res.exit_code == 2, res.stderr
    assert "names a mp3 file but the format is wav" in res.stderr
    assert not out.exists() and cosyvoice_emulator_env.backend.store.voice_count() == 0
