"""Items 23 and 13 (library half) of issue 23: `fix` says what it measured; the files the
library writes (fix, plot) refuse a missing folder unless ``mkdir=True``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fixes_helpers import SAMPLE

from cosyvoice_clone import audio
from cosyvoice_clone.errors import InvalidRequestError


def test_fix_states_the_loudness_it_measured(tmp_path: Path) -> None:
    result = audio.fix_sample(SAMPLE, tmp_path / "fixed.wav")
    assert result.written and result.after is not None
    [step] = [s for s in result.steps if "loudness" in s]
    stated = float(re.search(r"loudness to (-?\d+(?:\.\d+)?) LUFS", step).group(1))  # type: ignore[union-attr]
    measured = audio.check_sample(tmp_path / "fixed.wav").measurements["loudness_lufs"]
    assert abs(stated - measured) <= 0.1, (step, measured)
    assert abs(result.after.measurements["loudness_lufs"] - measured) <= 0.1
    if abs(measured - -20) > 0.5:  # held back: the step says why
        assert "peak ceiling" in step and "target -20 LUFS" in step


def test_fix_refuses_a_missing_folder_unless_mkdir(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "fixed.wav"
    with pytest.raises(InvalidRequestError, match="does not exist"):
        audio.fix_sample(SAMPLE, out)
    assert not (tmp_path / "no").exists()
    assert audio.fix_sample(SAMPLE, out, mkdir=True).written and out.stat().st_size > 44


def test_plot_refuses_a_missing_folder_unless_mkdir(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from cosyvoice_clone.audio.plot import plot_report

    report = audio.check_sample(SAMPLE)
    out = tmp_path / "no2" / "plot.png"
    with pytest.raises(InvalidRequestError, match="does not exist"):
        plot_report(report, out)
    assert not (tmp_path / "no2").exists()
    assert plot_report(report, out, mkdir=True).read_bytes()[:4] == b"\x89PNG"
