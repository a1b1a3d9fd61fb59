"""The check without scipy: BS.1770 loudness against pyloudnorm, the typed report, the lean
import graph of `cosyvoice-clone check`, one size unit and the mode of written outputs."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import scipy.signal
import soundfile as sf
import soxr
from test_check_cli import _run  # the same CLI runner (tests/audio is on sys.path)

from cosyvoice_clone.audio import CheckReport, check_sample
from cosyvoice_clone.audio.files import format_size
from cosyvoice_clone.audio.loudness import k_weighted, k_weighting, loudness

RATES = (16000, 22050, 24000, 44100, 48000)


def _speech(rate: int) -> np.ndarray:
    data = resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()
    x, sr = sf.read(io.BytesIO(data), dtype="float64")
    return np.asarray(soxr.resample(x, sr, rate), dtype=np.float64)


def _coloured_noise(rate: int, exponent: float, seed: int) -> np.ndarray:
    """10 s of noise whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)."""
    rng = np.random.default_rng(seed)
    n = 10 * rate
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    spec = rng.standard_normal(len(freqs)) + 1j * rng.standard_normal(len(freqs))
    spec[0] = 0.0
    y = np.fft.irfft(spec / np.maximum(freqs, 1.0) ** (exponent / 2), n)
    return 0.05 * y / np.std(y)


SIGNALS = {
    "speech": _speech,
    "white": lambda r: _coloured_noise(r, 0, 1),
    "pink": lambda r: _coloured_noise(r, 1, 2),
    "brown": lambda r: _coloured_noise(r, 2, 3),
    "tone40hz": lambda r: 0.3 * np.sin(2 * np.pi * 40 * np.arange(5 * r) / r),
    "speech+hum": lambda r: (
        _speech(r) + 0.05 * np.sin(2 * np.pi * 50 * np.arange(len(_speech(r))) / r)
    ),
}


def test_k_weighting_at_48k_is_the_published_filter() -> None:
    """ITU-R BS.1770-4, Annex 1, Tables 1 and 2 (the 48 kHz coefficients)."""
    (shelf_b, shelf_a), (hp_b, hp_a) = k_weighting(48000)
    table1_b = (1.53512485958697, -2.69169618940638, 1.19839281085285)
    table1_a = (1.0, -1.69065929318241, 0.73248077421585)
    table2_b = (1.0, -2.0, 1.0)
    table2_a = (1.0, -1.99004745483398, 0.99007225036621)
    np.testing.assert_allclose(shelf_b, table1_b, atol=1e-8)
    np.testing.assert_allclose(shelf_a, table1_a, atol=1e-8)
    np.testing.assert_allclose(hp_b, table2_b, atol=1e-8)
    np.testing.assert_allclose(hp_a, table2_a, atol=1e-8)


@pytest.mark.parametrize("rate", RATES)
def test_k_weighted_equals_running_the_biquads(rate: int) -> None:
    x = _coloured_noise(rate, 1, 7)[: 3 * rate]
    expected = x
    for b, a in k_weighting(rate):
        expected = scipy.signal.lfilter(b, a, expected)
    np.testing.assert_allclose(k_weighted(x, rate), expected, atol=2e-5)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("signal", sorted(SIGNALS))
def test_loudness_within_0_1_lu_of_pyloudnorm(rate: int, signal: str) -> None:
    y = SIGNALS[signal](rate)
    ours = loudness(y, rate)
    assert ours is not None
    assert ours == pytest.approx(pyloudnorm.Meter(rate).integrated_loudness(y), abs=0.1)


def test_check_report_is_a_frozen_value(tmp_path: Path) -> None:
    path = tmp_path / "speech.wav"
    sf.write(path, _speech(24000), 24000)
    report = check_sample(path)
    assert isinstance(report, CheckReport)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.verdict = "fail"  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.measurements["duration_s"] = 0.0  # type: ignore[index]
    assert isinstance(report.problems, tuple)
    assert report.ok is (report.verdict != "fail")
    data = report.to_dict()
    assert list(data) == [
        "verdict", "problems", "measurements", "target_model", "source", "service_code",
    ]  # fmt: skip
    assert json.loads(json.dumps(data)) == data


def test_plain_check_loads_no_scipy_repair_or_plot(tmp_path: Path) -> None:
    """`cosyvoice-clone check FILE` imports only what the check needs."""
    path = tmp_path / "speech.wav"
    sf.write(path, _speech(22050), 22050)
    code = (
        "import json, sys\n"
        "from cosyvoice_clone.cli.main import run\n"
        "try:\n"
        f"    run(['check', {str(path)!r}])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('scipy', 'pyloudnorm', 'matplotlib', 'httpx') or m in "
        "('cosyvoice_clone.audio.repair', 'cosyvoice_clone.audio.plot', 'numpy.ma'))\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}


def test_format_size_uses_binary_units() -> None:
    assert format_size(0) == "0 bytes"
    assert format_size(1023) == "1023 bytes"
    assert format_size(1536) == "1.5 KiB"
    assert format_size(10 * 1024 * 1024) == "10 MiB"
    assert format_size(135_300_000) == "129 MiB"  # the file issue 17 saw as 135.3 / 129.07 "MB"


def test_sizes_are_shown_in_mib(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A sample over the 10 MiB limit: the report and the problem use one unit, with bytes."""
    path = tmp_path / "big.wav"
    rate = 48000
    y = np.tile(_speech(rate), 4)[: 56 * rate]
    sf.write(path, np.stack([y, y], axis=1), rate, subtype="PCM_16")
    size = path.stat().st_size
    assert size > 10 * 1024 * 1024
    rc, out, _ = _run(capsys, "check", str(path), "--json")
    assert rc == 1
    problem = next(p for p in json.loads(out)["problems"] if p["code"] == "file_too_large")
    assert f"file is {format_size(size)} ({size:,} bytes)" in problem["message"]
    assert "at most 10 MiB (10,485,760 bytes)" in problem["message"]
    rc, out, _ = _run(capsys, "check", str(path))
    assert rc == 1
    assert format_size(size) in out and " MB" not in out


@pytest.fixture()
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_022")
def test_fix_and_plot_outputs_get_mode_0644(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "stereo.wav"
    x = _speech(22050)
    sf.write(path, np.stack([x, 0.5 * x], axis=1), 22050)
    fixed, png = tmp_path / "fixed.wav", tmp_path / "plot.png"
    rc, _, _ = _run(capsys, "check", str(path), "--fix", str(fixed), "--plot", str(png))
    assert rc == 0
    assert fixed.stat().st_mode & 0o777 == 0o644
    assert png.stat().st_mode & 0o777 == 0o644
