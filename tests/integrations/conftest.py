"""Fixtures for the voice-agent doors: a cloned voice on the emulator, DASHSCOPE_* at it."""

from __future__ import annotations

import pytest

from cosyvoice_clone.emulator.server import RunningEmulator

MODEL = "cosyvoice-v3.5-plus"


@pytest.fixture
def voice(cosyvoice_emulator_env: RunningEmulator) -> str:
    """An OK voice bound to cosyvoice-v3.5-plus, created on the emulator's backend."""
    cosyvoice_emulator_env.set_rate_limits(False)
    created = cosyvoice_emulator_env.backend.create_voice(
        target_model=MODEL, prefix="agent", url=cosyvoice_emulator_env.sample_url(),
        sample=b"test sample", pitch_hz=180.0,
    )  # fmt: skip
    return str(created.voice_id)
