"""Cold start: `--help`, `speak --help`, `prepare` and `check` vs importing the official SDK.

Runs each command several times side by side and prints median wall times and ratios:

    python benchmarks/cold_start.py [--runs 15]

Goal: the CLI starts at least 4x faster than `import dashscope.audio.tts_v2` (`check` decodes
and measures a 15 s sample as well, so it is shown against a bare soundfile decode instead).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median_wall, print_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    out = Path(tempfile.mkdtemp()) / "request.json"
    sample = out.with_name("reference_en.wav")
    sample.write_bytes(
        resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()
    )
    env = {**os.environ, "COSYVOICE_CLONE_OUTPUT_DIR": str(out.parent)}
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "import dashscope.audio.tts_v2": [py, "-c", "import dashscope.audio.tts_v2"],
        "cosyvoice-clone --help": [py, "-m", "cosyvoice_clone", "--help"],
        "cosyvoice-clone speak --help": [py, "-m", "cosyvoice_clone", "speak", "--help"],
        "cosyvoice-clone prepare": [
            py,
            "-m",
            "cosyvoice_clone",
            "prepare",
            "--prefix",
            "bench",
            "--voice-sample-url",
            "https://example.com/v.wav",
            "--output",
            str(out),
        ],
        "python -c 'soundfile.read(F)'": [
            py,
            "-c",
            f"import soundfile; soundfile.read({str(sample)!r})",
        ],
        "cosyvoice-clone check F": [py, "-m", "cosyvoice_clone", "check", str(sample)],
    }
    times = {name: median_wall(cmd, args.runs, env) for name, cmd in commands.items()}
    sdk = times["import dashscope.audio.tts_v2"]
    base = times["python -c pass"]
    rows = [
        (name, f"{t * 1000:.0f} ms", f"{t / base:.2f}x", f"{sdk / t:.2f}x")
        for name, t in times.items()
    ]
    print_table(
        f"median of {args.runs} runs each",
        rows,
        ("command", "wall", "vs bare python", "SDK import / this"),
    )
    for name in (
        "cosyvoice-clone --help",
        "cosyvoice-clone speak --help",
        "cosyvoice-clone prepare",
    ):
        ratio = sdk / times[name]
        verdict = "meets" if ratio >= 4 else "misses"
        print(f"{name}: {ratio:.2f}x faster than importing the SDK ({verdict} the 4x goal)")
    ratio = times["cosyvoice-clone check F"] / times["python -c 'soundfile.read(F)'"]
    verdict = "meets" if ratio <= 2 else "misses"
    print(f"cosyvoice-clone check F: {ratio:.2f}x a bare decode process ({verdict} the 2x goal)")


if __name__ == "__main__":
    main()
