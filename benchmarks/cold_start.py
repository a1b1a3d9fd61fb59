"""Cold start: `cosyvoice-clone --help` and `prepare` vs importing the official SDK.

Runs each command several times side by side and prints median wall times and ratios:

    python benchmarks/cold_start.py [--runs 15]

Goal: the CLI starts at least 4x faster than `import dashscope.audio.tts_v2`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import median_wall, print_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    out = Path(tempfile.mkdtemp()) / "request.json"
    env = {**os.environ, "COSYVOICE_CLONE_OUTPUT_DIR": str(out.parent)}
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "import dashscope.audio.tts_v2": [py, "-c", "import dashscope.audio.tts_v2"],
        "cosyvoice-clone --help": [py, "-m", "cosyvoice_clone", "--help"],
        "cosyvoice-clone prepare": [
            py, "-m", "cosyvoice_clone", "prepare", "--prefix", "bench",
            "--voice-sample-url", "https://example.com/v.wav", "--output", str(out),
        ],
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
    for name in ("cosyvoice-clone --help", "cosyvoice-clone prepare"):
        ratio = sdk / times[name]
        verdict = "meets" if ratio >= 4 else "misses"
        print(f"{name}: {ratio:.2f}x faster than importing the SDK ({verdict} the 4x goal)")


if __name__ == "__main__":
    main()
