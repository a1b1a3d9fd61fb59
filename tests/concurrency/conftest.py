"""Helpers for tests that run several ``cosyvoice-clone`` processes against one emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture
def processes(cosyvoice_emulator: RunningEmulator, tmp_path: Path) -> Processes:
    return Processes(cosyvoice_emulator, tmp_path / "shared-home")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "speaker.wav"
    shutil.copyfile(SAMPLE, path)
    return path
