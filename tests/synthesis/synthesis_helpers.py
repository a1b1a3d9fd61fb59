"""Helpers for the synthesis tests: voices on the emulator, decoding and measuring audio."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from cosyvoice_clone.emulator.server import RunningEmulator


def decode(data: bytes | Path, fmt: str, sample_rate: int) -> tuple[np.ndarray, int]:
    """Samples (float, mono) and the rate of encoded audio (raw pcm needs the rate)."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    if fmt == "pcm":
        assert len(raw) % 2 == 0
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0, sample_rate
    samples, rate = sf.read(io.BytesIO(raw), dtype="float64", always_2d=False)
    return samples, int(rate)


def fundamental_hz(samples: np.ndarray, rate: int) -> float:
    """Median pitch (60–500 Hz) over 40 ms voiced frames, by autocorrelation."""
    frame = int(0.04 * rate)
    lo, hi = int(rate / 500), int(rate / 60)
    estimates = []
    for start in range(0, samples.size - frame, frame):
        x = samples[start : start + frame]
        if np.max(np.abs(x)) < 0.05:
            continue
        x = x - x.mean()
        corr = np.correlate(x, x, mode="full")[frame - 1 :] / np.arange(frame, 0, -1)
        segment = corr[lo:hi]
        # The first lag close to the best one: avoids picking a multiple of the period.
        lag = lo + int(np.argmax(segment >= 0.9 * segment.max()))
        estimates.append(rate / lag)
    return float(np.median(estimates))


def pad_allowance(fmt: str) -> float:
    """Seconds an encoder may add (MP3 frames and encoder delay)."""
    return 0.3 if fmt == "mp3" else 0.02


MODEL = "cosyvoice-v3.5-plus"
VOICE_PITCH_HZ = 180.0


def make_voice(
    emulator: RunningEmulator,
    *,
    model: str = MODEL,
    prefix: str = "synth",
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


@dataclass
class CliResult:
    """What one CLI invocation did."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def register_voice(
    home: Any, voice_id: str, prefix: str, endpoint: str, model: str = MODEL
) -> None:
    """Put a voice in the registry of ``home`` as a clone would."""
    from cosyvoice_clone.registry import Registry

    with Registry(home) as registry:
        registry.record_clone(
            voice_id, region="cn-beijing", endpoint=endpoint, target_model=model,
            prefix=prefix, options={}, key=voice_id, sample_url="http://x/sample.wav",
            sample_sha256=None, sample_source=None, request_id=None, usage_count=None,
            status="OK",
        )  # fmt: skip
