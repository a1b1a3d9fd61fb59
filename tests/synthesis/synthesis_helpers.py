"""Helpers for the synthesis tests: decoding audio and measuring it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile as sf


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
