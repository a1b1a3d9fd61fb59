"""Measure a decoded sample: levels, loudness, noise, speech activity, pauses, pitch.

Everything is vectorised numpy over 20 ms frames of the first channel (the channel the service
uses); only peak level and clipping look at every channel. :func:`analyse` returns the arrays
(frame levels, speech mask, segments) that the judge, the repair and the plot share, and
:meth:`Analysis.measurements` the plain numbers of the report.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .loudness import fast_len, frame_power, integrated_loudness, k_weighted
from .thresholds import THRESHOLDS, Thresholds

if TYPE_CHECKING:
    import numpy.typing as npt

    from .decode import Decoded

_FLOOR_DB = -120.0
_PITCH_RATE = 8000
_PITCH_WINDOW_S = 0.04
_PITCH_MIN_HZ = 60.0
_PITCH_MAX_HZ = 400.0
_PITCH_MAX_FRAMES = 200
_PITCH_VOICED = 0.45


@dataclass
class Analysis:
    """A decoded sample and everything measured on it."""

    decoded: Decoded
    frame_s: float
    frame_db: npt.NDArray[np.float64]
    """Level of each frame of the first channel, dBFS."""
    speech: npt.NDArray[np.bool_]
    """Frame-level speech activity (after filling short gaps, dropping blips)."""
    segments: list[tuple[float, float]]
    """Speech segments (start, end) in seconds."""
    stretches: list[tuple[float, float]]
    """Continuous speech: segments joined across pauses of at most ``max_pause_s``."""
    vad_threshold_db: float
    values: dict[str, Any] = field(default_factory=dict)
    spectrum_hz: npt.NDArray[np.float64] | None = None
    spectrum_db: npt.NDArray[np.float64] | None = None

    def measurements(self) -> dict[str, Any]:
        """The measured numbers, JSON-ready (floats rounded, missing values ``None``)."""
        return dict(self.values)


def first_channel(decoded: Decoded) -> npt.NDArray[np.float32]:
    """The first channel as a contiguous float32 array (what the service listens to)."""
    return np.ascontiguousarray(decoded.samples[:, 0])


def analyse(decoded: Decoded, th: Thresholds = THRESHOLDS, *, pitch: bool = True) -> Analysis:
    """Measure ``decoded`` (see the module docstring)."""
    samples = decoded.samples
    rate = decoded.sample_rate
    x = first_channel(decoded)
    duration = decoded.decoded_seconds

    # Peak and clipping over every channel.
    hi = float(samples.max())
    lo = float(samples.min())
    if not math.isfinite(hi - lo):  # NaN or inf in a float file: treat as silence / full scale
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
        decoded.samples = samples
        x = first_channel(decoded)
        hi, lo = float(samples.max()), float(samples.min())
    peak = max(hi, -lo, 0.0)
    clipped = 0
    level = clip_level(peak)
    if level is not None:
        clipped = int(np.count_nonzero(samples >= level) + np.count_nonzero(samples <= -level))
        if clipped < 3:
            clipped = 0
    clipped_ratio = clipped / samples.size if samples.size else 0.0

    # Per 20 ms frame of the first channel: level (the mean square without the frame's DC: an
    # offset is not sound) and K-weighted mean square (for the loudness).
    hop = max(1, round(th.vad_frame_s * rate))
    n = len(x) // hop
    if n == 0:
        hop, n = len(x), 1
    frame_s = hop / rate
    frames = x[: n * hop].reshape(n, hop)
    means = frames.mean(axis=1, dtype=np.float64)
    dc = float(means.mean())
    power = np.maximum(frame_power(frames.reshape(-1), hop) - means**2, 0.0)
    k_power = frame_power(k_weighted(x[: n * hop], rate), hop)
    frame_db = np.maximum(10.0 * np.log10(power + 1e-13), _FLOOR_DB)

    floor0 = float(_percentile(frame_db, 10))
    top = float(_percentile(frame_db, 95))
    threshold = max(floor0 + th.vad_floor_margin_db, top - th.vad_speech_range_db, th.vad_min_dbfs)
    raw = frame_db > threshold
    speech = _fill_gaps(raw, round(th.vad_fill_gap_s / frame_s))
    speech = _drop_short(speech, max(1, round(th.vad_min_segment_s / frame_s)))
    starts, ends = _runs(speech)
    segments = [
        (float(s * frame_s), float(min(e * frame_s, duration)))
        for s, e in zip(starts, ends, strict=True)
    ]
    stretches = join_segments(segments, th.max_pause_s)

    speech_s = float(sum(e - s for s, e in segments))
    pauses = [b[0] - a[1] for a, b in itertools.pairwise(segments)]
    nonspeech = frame_db[~raw]  # includes the short gaps between words
    # A low quantile of the quiet frames: stationary noise sits there; speech tails do not.
    noise_floor = float(_percentile(nonspeech, 25)) if nonspeech.size * frame_s >= 0.3 else floor0
    speech_db = float(10.0 * np.log10(np.mean(power[speech]) + 1e-13)) if speech.any() else None
    loudness = integrated_loudness(k_power, frame_s)

    analysis = Analysis(
        decoded=decoded,
        frame_s=frame_s,
        frame_db=frame_db,
        speech=speech,
        segments=segments,
        stretches=stretches,
        vad_threshold_db=threshold,
    )
    bandwidth = _spectrum(analysis, x, hop)
    pitch_hz = estimate_pitch(x, rate, analysis) if pitch else None

    analysis.values = {
        "format": decoded.format,
        "codec": decoded.codec,
        "duration_s": _r(decoded.duration, 3),
        "analysed_s": _r(duration, 3),
        "sample_rate": rate,
        "channels": decoded.channels,
        "bit_depth": decoded.bit_depth,
        "file_size": decoded.file_size,
        "peak_dbfs": _db(peak),
        "clipped_ratio": _r(clipped_ratio, 6),
        "loudness_lufs": _r(loudness, 2),
        "noise_floor_dbfs": _r(noise_floor, 2),
        "speech_level_dbfs": _r(speech_db, 2),
        "snr_db": _r(speech_db - noise_floor, 2) if speech_db is not None else None,
        "speech_s": _r(speech_s, 3),
        "speech_ratio": _r(speech_s / duration if duration else 0.0, 4),
        "longest_speech_s": _r(max((e - s for s, e in stretches), default=0.0), 3),
        "longest_segment_s": _r(max((e - s for s, e in segments), default=0.0), 3),
        "longest_pause_s": _r(max(pauses, default=0.0), 3),
        "leading_silence_s": _r(segments[0][0] if segments else duration, 3),
        "trailing_silence_s": _r(duration - segments[-1][1] if segments else duration, 3),
        "dc_offset": _r(dc, 6),
        "bandwidth_hz": _r(bandwidth, 0),
        "pitch_hz": _r(pitch_hz, 1),
        "vad_threshold_dbfs": _r(threshold, 2),
        "speech_segments": [[round(a, 2), round(b, 2)] for a, b in segments],
    }
    return analysis


def clip_level(peak: float) -> float | None:
    """The magnitude from which a sample counts as clipped (``None``: too quiet to clip)."""
    return peak * (1.0 - 1e-3) if peak >= 0.1 else None


def join_segments(segments: list[tuple[float, float]], max_gap: float) -> list[tuple[float, float]]:
    """Merge segments separated by gaps of at most ``max_gap`` seconds."""
    out: list[tuple[float, float]] = []
    for start, end in segments:
        if out and start - out[-1][1] <= max_gap:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Start and end (exclusive) indices of the True runs of ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _fill_gaps(mask: npt.NDArray[np.bool_], max_gap: int) -> npt.NDArray[np.bool_]:
    if max_gap <= 0 or not mask.any():
        return mask
    out: npt.NDArray[np.bool_] = np.array(mask, dtype=bool)
    gap_starts, gap_ends = _runs(~mask)
    for s, e in zip(gap_starts, gap_ends, strict=True):
        if s > 0 and e < len(mask) and e - s <= max_gap:
            out[s:e] = True
    return out


def _drop_short(mask: npt.NDArray[np.bool_], min_len: int) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = np.array(mask, dtype=bool)
    starts, ends = _runs(mask)
    for s, e in zip(starts, ends, strict=True):
        if e - s < min_len:
            out[s:e] = False
    return out


def _spectrum(analysis: Analysis, x: npt.NDArray[np.float32], hop: int) -> float | None:
    """Average speech spectrum (kept on ``analysis``) and the effective bandwidth in Hz."""
    rate = analysis.decoded.sample_rate
    idx = np.flatnonzero(analysis.speech)
    if idx.size == 0:
        idx = np.arange(len(analysis.frame_db))
    if idx.size > 200:
        idx = idx[np.linspace(0, idx.size - 1, 200).astype(np.intp)]
    idx = idx[(idx + 1) * hop <= len(x)]
    if idx.size == 0:
        return None
    frames = x[idx[:, None] * hop + np.arange(hop)[None, :]] * np.hanning(hop).astype(np.float32)
    spec = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(hop, 1.0 / rate)
    spec_db = 10.0 * np.log10(spec + 1e-20)
    analysis.spectrum_hz = np.asarray(freqs, dtype=np.float64)
    analysis.spectrum_db = np.asarray(spec_db, dtype=np.float64)
    top = float(spec_db.max())
    if top <= -150:
        return None
    above = np.flatnonzero(spec_db > top - 60.0)
    return float(freqs[above[-1]]) if above.size else None


def estimate_pitch(x: npt.NDArray[np.float32], rate: int, analysis: Analysis) -> float | None:
    """Median fundamental frequency (Hz) of voiced speech frames, by autocorrelation."""
    mask = analysis.speech
    if not mask.any():  # steady voiced sound (a hum, a tone): use every loud frame
        mask = analysis.frame_db > THRESHOLDS.vad_min_dbfs
        if not mask.any():
            return None
    # Boxcar-decimate to about 8 kHz: plenty for 60-400 Hz, and four times cheaper at 48 kHz.
    k = max(1, rate // _PITCH_RATE)
    prate = rate / k
    win = int(_PITCH_WINDOW_S * prate)
    lag_lo = max(2, int(prate / _PITCH_MAX_HZ))
    lag_hi = min(int(prate / _PITCH_MIN_HZ), win - 2)
    if lag_hi <= lag_lo:
        return None
    idx = np.flatnonzero(mask)
    if idx.size > _PITCH_MAX_FRAMES:
        idx = idx[np.linspace(0, idx.size - 1, _PITCH_MAX_FRAMES).astype(np.intp)]
    starts = (idx * analysis.frame_s * rate).astype(np.intp)
    starts = starts[starts + win * k <= len(x)]
    if starts.size == 0:
        return None
    frames = x[starts[:, None] + np.arange(win * k)[None, :]]
    if k > 1:
        frames = frames.reshape(len(starts), win, k).sum(axis=2)
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = frames * np.hanning(win).astype(np.float32)
    nfft = fast_len(2 * win)
    spec = np.fft.rfft(frames, nfft, axis=1)
    ac = np.fft.irfft(spec.real**2 + spec.imag**2, nfft, axis=1)[:, : lag_hi + 2]
    r0 = ac[:, 0]
    ok = r0 > 1e-9
    if not ok.any():
        return None
    ac = ac[ok] / r0[ok, None]
    band = ac[:, lag_lo : lag_hi + 1]
    best = np.argmax(band, axis=1)
    rows = np.arange(len(band))
    voiced = band[rows, best] > _PITCH_VOICED
    if voiced.sum() < 3:
        return None
    i = (best + lag_lo)[voiced]
    sel = ac[voiced]
    r = np.arange(len(i))
    a, b, c = sel[r, i - 1], sel[r, i], sel[r, i + 1]
    denom = a - 2.0 * b + c
    safe = np.where(np.abs(denom) > 1e-12, denom, 1.0)
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / safe, 0.0)
    lag = i + np.clip(shift, -0.5, 0.5)
    return _percentile(prate / lag, 50)


def _percentile(values: npt.NDArray[np.floating[Any]], q: float) -> float:
    """``np.percentile(values, q)`` (linear method) without importing ``numpy.ma`` (10 ms)."""
    a = np.asarray(values, dtype=np.float64).ravel()
    pos = q / 100.0 * (a.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, a.size - 1)
    part = np.partition(a, (lo, hi))
    return float(part[lo] + (pos - lo) * (part[hi] - part[lo]))


def _db(value: float) -> float | None:
    return round(20.0 * math.log10(value), 2) + 0.0 if value > 0 else None


def _r(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)
