"""Small shared helpers for the benchmark scripts (timing and table printing)."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Sequence


def median_wall(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time in seconds of running ``cmd`` ``runs`` times (after one warm-up)."""
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def print_table(title: str, rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """Print a plain aligned table."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    print(title)
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
