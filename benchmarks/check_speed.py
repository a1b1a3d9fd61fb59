"""Sample check speed, in process and as whole processes, against a bare soundfile decode.

1. In process: `check_sample` on a 60 s 48 kHz stereo WAV vs `soundfile.read` of it,
   interleaved run by run after a warm-up. Goal: within 3x.
2. Whole processes, as a user runs them: `cosyvoice-clone check FILE` vs
   `python -c "import soundfile; soundfile.read(FILE)"`, interleaved run by run, for the
   shipped 15 s reference sample and the 60 s file. Goal: within 2x (imports included).

    python benchmarks/check_speed.py [--runs 21] [--process-runs 11]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import print_table
from cosyvoice_clone.audio import check_sample
from cosyvoice_clone.audio.decode import decode
from cosyvoice_clone.audio.measure import analyse


def make_sample(path: Path) -> None:
    """60 s of real speech (the shipped reference, repeated), 48 kHz, stereo, 16-bit."""
    data = resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()
    x, rate = sf.read(io.BytesIO(data), dtype="float32")
    y = soxr.resample(x, rate, 48000)
    y = np.tile(y, int(np.ceil(60 * 48000 / len(y))))[: 60 * 48000]
    sf.write(path, np.stack([y, 0.7 * y], axis=1), 48000, subtype="PCM_16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--process-runs", type=int, default=11)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "sample-60s-48k-stereo.wav"
    make_sample(path)
    in_process(path, args.runs)
    print()
    reference = path.with_name("reference_en.wav")
    reference.write_bytes(
        resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()
    )
    whole_process([reference, path], args.process_runs)


def in_process(path: Path, runs: int) -> None:
    """Median of ``runs`` interleaved in-process runs of the check and its parts."""

    def bare() -> None:
        sf.read(path)

    def check() -> None:
        check_sample(path)

    def decode_only() -> None:
        decode(path)

    def measure_only() -> None:
        analyse(decoded)

    decoded = decode(path)
    cases = {
        "soundfile.read (baseline)": bare,
        "check_sample (whole check)": check,
        "  of which: decode (float32)": decode_only,
        "  of which: measurements": measure_only,
    }
    for fn in cases.values():  # warm-up: imports, caches
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    base = medians["soundfile.read (baseline)"]
    rows = [(name, f"{t * 1000:.1f} ms", f"{t / base:.2f}x") for name, t in medians.items()]
    size = path.stat().st_size / 1048576
    print_table(
        f"60 s 48 kHz stereo 16-bit WAV ({size:.1f} MB), median of {runs} interleaved runs",
        rows,
        ("what", "median", "vs soundfile.read"),
    )
    ratio = medians["check_sample (whole check)"] / base
    verdict = "meets" if ratio <= 3.0 else "misses"
    print(f"\nwhole check / bare decode = {ratio:.2f}x ({verdict} the 3x goal)")


def cli_command() -> list[str]:
    """How a user starts the tool: the console script beside this Python, else ``-m``."""
    script = Path(sys.executable).with_name("cosyvoice-clone")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cosyvoice_clone"]


def whole_process(files: list[Path], runs: int) -> None:
    """`cosyvoice-clone check FILE` vs a bare decode, each a fresh process, interleaved."""
    rows = []
    ratios = []
    for path in files:
        cases = {
            "bare decode": [
                sys.executable,
                "-c",
                f"import soundfile; soundfile.read({str(path)!r})",
            ],
            "check": [*cli_command(), "check", str(path)],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for cmd in cases.values():  # warm-up: file cache, .pyc files
            subprocess.run(cmd, capture_output=True, check=False)
        for _ in range(runs):
            for name, cmd in cases.items():
                started = time.perf_counter()
                subprocess.run(cmd, capture_output=True, check=False)
                times[name].append(time.perf_counter() - started)
        bare = statistics.median(times["bare decode"])
        check = statistics.median(times["check"])
        ratios.append(check / bare)
        rows.append(
            (path.name, f"{bare * 1000:.0f} ms", f"{check * 1000:.0f} ms", f"{check / bare:.2f}x")
        )
    print_table(
        f"whole processes, median of {runs} interleaved runs",
        rows,
        ("file", "python -c 'soundfile.read(F)'", "cosyvoice-clone check F", "ratio"),
    )
    worst = max(ratios)
    verdict = "meets" if worst <= 2.0 else "misses"
    print(f"\nwhole process: check / bare decode = {worst:.2f}x at worst ({verdict} the 2x goal)")


if __name__ == "__main__":
    main()
