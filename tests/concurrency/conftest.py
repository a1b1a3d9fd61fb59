"""Fixtures for the multi-process tests: one emulator, one shared home, a sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from concurrency_helpers import SAMPLE, Processes

from cosyvoice_clone.emulator.server import RunningEmulator


@pytest.fixture
def processes(cosyvoice_emulator: RunningEmulator, tmp_path: Path) -> Processes:
    return Processes(cosyvoice_emulator, tmp_path / "shared-home")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "speaker.wav"
    shutil.copyfile(SAMPLE, path)
    return path
