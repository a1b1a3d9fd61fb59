"""The WebSocket library's own DEBUG log of a handshake never carries the key."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from cosyvoice_clone.client import AsyncCosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator

from .helpers import MODEL, VOICE


async def test_the_handshake_logged_at_debug_has_no_key(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = os.environ["DASHSCOPE_API_KEY"]
    caplog.set_level(logging.DEBUG)  # what an application turning on root DEBUG logging sees
    async with AsyncCosyVoice() as cv:
        await cv.speak("Hello there.", tmp_path / "a.wav", voice=VOICE, model=MODEL)
    wire = [r.getMessage() for r in caplog.records if r.name == "cosyvoice_clone.websocket"]
    assert any("Authorization" in line for line in wire), wire[:5]  # the handshake was logged
    assert all(key not in line and key[-8:] not in line for line in wire)
    assert key not in caplog.text and key[-8:] not in caplog.text
