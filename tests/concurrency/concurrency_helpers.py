"""Helpers for tests that run several processes against one emulator and one home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cosyvoice_clone.emulator.server import RunningEmulator

SAMPLE = Path(__file__).resolve().parents[2] / "src/cosyvoice_clone/data/reference_en.wav"


class Processes:
    """Start ``cosyvoice-clone --json --home HOME ARGS`` processes pointed at the emulator."""

    def __init__(self, emulator: RunningEmulator, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, **emulator.env(), "COSYVOICE_CLONE_HOME": str(home)}

    def start(self, *args: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "cosyvoice_clone", "--json", "--home", str(self.home)]
        return subprocess.Popen(
            [*command, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @staticmethod
    def finish(proc: subprocess.Popen[str]) -> tuple[int, Any, str]:
        """Exit code, parsed JSON stdout and stderr of a finished process."""
        out, err = proc.communicate(timeout=120)
        return proc.returncode, json.loads(out) if out.strip() else None, err


def max_in_window(times: list[float], window: float) -> int:
    """The most events that fall in any half-open ``window`` (the emulator's measure)."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + window))
    return best
