"""Fixtures for the synthesis tests: a voice on the emulator and clients pointed at it."""

from __future__ import annotations

import pytest

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.synthesis import AsyncSynthesizer, Synthesizer

MODEL = "cosyvoice-v3.5-plus"
VOICE_PITCH_HZ = 180.0


def make_voice(
    emulator: RunningEmulator, *, model: str = MODEL, prefix: str = "synth",
    pitch_hz: float | None = VOICE_PITCH_HZ,
) -> str:
    """Create an OK voice directly on the emulator's backend; return its id."""
    voice = emulator.backend.create_voice(
        target_model=model,
        prefix=prefix,
        url=emulator.sample_url(),
        sample=b"test sample",
        pitch_hz=pitch_hz,
    )
    return voice.voice_id


@pytest.fixture
def voice(cosyvoice_emulator: RunningEmulator) -> str:
    """An OK voice bound to cosyvoice-v3.5-plus, pitch 180 Hz."""
    return make_voice(cosyvoice_emulator)


@pytest.fixture
def synth(cosyvoice_emulator: RunningEmulator) -> Synthesizer:
    """A sync synthesizer pointed at the emulator, unpaced (the emulator's rate limits off)."""
    cosyvoice_emulator.set_rate_limits(False)
    return Synthesizer(
        api_key=cosyvoice_emulator.api_key,
        websocket_url=cosyvoice_emulator.websocket_url,
        event_timeout=20.0,
        tasks_per_second=None,
    )


@pytest.fixture
def paced_synth(cosyvoice_emulator: RunningEmulator) -> Synthesizer:
    """A sync synthesizer with the real pacing (3 tasks/s), the emulator's limits on."""
    cosyvoice_emulator.set_rate_limits(True)
    return Synthesizer(
        api_key=cosyvoice_emulator.api_key,
        websocket_url=cosyvoice_emulator.websocket_url,
        event_timeout=20.0,
    )


@pytest.fixture
def async_synth(cosyvoice_emulator: RunningEmulator) -> AsyncSynthesizer:
    """An async synthesizer pointed at the emulator, unpaced (the emulator's limits off)."""
    cosyvoice_emulator.set_rate_limits(False)
    return AsyncSynthesizer(
        api_key=cosyvoice_emulator.api_key,
        websocket_url=cosyvoice_emulator.websocket_url,
        event_timeout=20.0,
        tasks_per_second=None,
    )
