"""Sample check speed: `check_sample` on a 60 s 48 kHz stereo WAV vs a bare soundfile decode.

Both run in the same process, interleaved run by run (so a busy machine slows both alike),
after a warm-up; prints the medians and the ratio:

    python benchmarks/check_speed.py [--runs 21]

Goal: the whole check (read, decode, every measurement, the judgement) within 3x of
`soundfile.read` alone.
"""

from __future__ import annotations

import argparse
import io
import statistics
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
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "sample-60s-48k-stereo.wav"
    make_sample(path)

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
    for _ in range(args.runs):
        for name, fn in cases.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    base = medians["soundfile.read (baseline)"]
    rows = [(name, f"{t * 1000:.1f} ms", f"{t / base:.2f}x") for name, t in medians.items()]
    size = path.stat().st_size / 1048576
    print_table(
        f"60 s 48 kHz stereo 16-bit WAV ({size:.1f} MB), median of {args.runs} interleaved runs",
        rows,
        ("what", "median", "vs soundfile.read"),
    )
    ratio = medians["check_sample (whole check)"] / base
    verdict = "meets" if ratio <= 3.0 else "misses"
    print(f"\nwhole check / bare decode = {ratio:.2f}x ({verdict} the 3x goal)")


if __name__ == "__main__":
    main()
