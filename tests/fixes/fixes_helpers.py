"""Shared helpers of the issue-23 library fixes tests."""

from __future__ import annotations

from pathlib import Path

from cosyvoice_clone.emulator.server import RunningEmulator

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "speech_b_16k.wav"
"""A real 16 kHz speech recording that passes the sample check."""


def posts(emulator: RunningEmulator) -> int:
    """Enrollment requests the emulator received (create, update, list ...)."""
    return len(emulator.backend.recorded("enrollment").get("enrollment", []))
