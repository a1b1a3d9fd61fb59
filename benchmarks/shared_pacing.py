"""What sharing one home across processes costs: pacing slots and deduplicated clones.

1. One pacing acquire (``SharedBudget.reserve`` / ``take``) through the home's flock'd file,
   against the same budget kept in memory (the baseline: no cross-process sharing), alone and
   with 4 processes hammering the same file.
2. 8 ``cosyvoice-clone clone`` processes cloning the same sample into one home (one create, 7
   reuses), against a single such process (the baseline), on an emulator process::

    python benchmarks/shared_pacing.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import EmulatorProcess, print_table
from cosyvoice_clone.pacing import SharedBudget

SAMPLE = Path(__file__).resolve().parents[1] / "src/cosyvoice_clone/data/reference_en.wav"


def per_call_us(budget: SharedBudget, method: str, calls: int) -> float:
    act = getattr(budget, method)
    for _ in range(200):
        act()
    started = time.perf_counter()
    for _ in range(calls):
        act()
    return (time.perf_counter() - started) / calls * 1e6


def frozen(path: Path | None) -> SharedBudget:
    """A 3-per-window budget on a clock that never moves (every call does the full work)."""
    return SharedBudget(3, 1.1, path=path, clock=lambda: 1000.0)


def _hammer(path: str, calls: int, queue: multiprocessing.Queue[float]) -> None:
    queue.put(per_call_us(frozen(Path(path)), "reserve", calls))


def contended_us(path: Path, calls: int, workers: int = 4) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[float] = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(str(path), calls, queue)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    return max(results)


def clone_wall(emulator: EmulatorProcess, processes: int, workdir: Path) -> tuple[float, int]:
    """Wall time of ``processes`` identical clones into one fresh home; creates seen."""
    emulator.reset()
    home = workdir / f"home-{processes}"
    shutil.rmtree(home, ignore_errors=True)
    env = {
        **os.environ,
        "DASHSCOPE_API_KEY": emulator.api_key,
        "DASHSCOPE_HTTP_BASE_URL": emulator.http_base,
        "DASHSCOPE_WEBSOCKET_BASE_URL": emulator.websocket_url,
        "DASHSCOPE_REGION": "cn-beijing",
    }
    command = [sys.executable, "-m", "cosyvoice_clone", "--json", "--home", str(home),
               "clone", "--prefix", "bench", "--sample", str(SAMPLE), "--skip-check",
               "--no-wait"]  # fmt: skip
    started = time.perf_counter()
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(processes)]  # fmt: skip
    for proc in procs:
        proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a clone failed with exit {proc.returncode}")
    wall = time.perf_counter() - started
    creates = int(emulator.state()["counters"].get("enrollment:create_voice", 0))
    return wall, creates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="shared-pacing-"))
    try:
        memory = per_call_us(frozen(None), "reserve", args.calls)
        shared = per_call_us(frozen(workdir / "a.bucket"), "reserve", args.calls)
        take = per_call_us(frozen(workdir / "b.bucket"), "take", args.calls)
        busy = contended_us(workdir / "c.bucket", args.calls // 4)
        print_table(
            "pacing acquire (µs per call)",
            [
                ("in memory (baseline)", f"{memory:.1f}", "1.0x"),
                ("shared file, reserve", f"{shared:.1f}", f"{shared / memory:.1f}x"),
                ("shared file, take", f"{take:.1f}", f"{take / memory:.1f}x"),
                ("shared file, 4 processes at once", f"{busy:.1f}", f"{busy / memory:.1f}x"),
            ],
            ("budget", "µs", "vs memory"),
        )
        emulator = EmulatorProcess()
        try:
            one, one_creates = clone_wall(emulator, 1, workdir)
            eight, eight_creates = clone_wall(emulator, 8, workdir)
        finally:
            emulator.stop()
        print()
        print_table(
            "identical clones into one home (wall time)",
            [
                ("1 process (baseline)", f"{one:.2f}", str(one_creates), "1.0x"),
                ("8 processes", f"{eight:.2f}", str(eight_creates), f"{eight / one:.1f}x"),
            ],
            ("run", "seconds", "create_voice", "vs 1"),
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
