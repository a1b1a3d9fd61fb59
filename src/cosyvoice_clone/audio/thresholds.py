"""The one table of thresholds the sample check judges against.

Documented service limits come from :mod:`cosyvoice_clone.catalog`; the rest are this
project's own quality thresholds. The CLI check, ``check --fix`` and the emulator's ``Audio.*``
answers all read this table, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import catalog


@dataclass(frozen=True)
class Thresholds:
    """Limits and tuning of the sample check (seconds, Hz, dBFS, LUFS, dB, ratios)."""

    # Documented by the service (catalog).
    max_bytes: int = catalog.SAMPLE_MAX_BYTES
    max_seconds: float = catalog.SAMPLE_MAX_SECONDS
    min_continuous_speech_s: float = catalog.SAMPLE_MIN_SPEECH_SECONDS
    recommended_seconds: tuple[float, float] = catalog.SAMPLE_RECOMMENDED_SECONDS
    min_sample_rate: int = catalog.SAMPLE_MIN_RATE
    max_pause_s: float = catalog.SAMPLE_MAX_PAUSE_SECONDS
    documented_formats: tuple[str, ...] = ("wav", "mp3", "m4a")
    documented_wav_bits: int = 16

    # Silence and speech activity.
    silent_peak_dbfs: float = -60.0
    """A sample whose loudest frame is below this is silent (Audio.AudioSilentError)."""
    no_speech_s: float = 0.5
    """Less speech than this in total means no speech at all."""
    vad_frame_s: float = 0.02
    vad_min_dbfs: float = -65.0
    vad_floor_margin_db: float = 6.0
    vad_speech_range_db: float = 35.0
    vad_fill_gap_s: float = 0.25
    """Gaps shorter than this inside speech (between words) count as speech."""
    vad_min_segment_s: float = 0.1

    # Quality warnings.
    clipped_ratio_warn: float = 0.001
    loudness_low_lufs: float = -35.0
    loudness_high_lufs: float = -12.0
    snr_warn_db: float = 20.0
    dc_offset_warn: float = 0.01
    edge_silence_warn_s: float = 1.0
    narrowband_hz: float = 4500.0
    """Speech with (almost) nothing above this frequency was recorded or resampled from 8 kHz."""

    # Repair targets.
    fix_sample_rate: int = 24000
    fix_loudness_lufs: float = -20.0
    fix_peak_dbfs: float = -1.0
    fix_edge_pad_s: float = 0.15
    fix_pause_s: float = 0.6
    """Pauses longer than ``max_pause_s`` are shortened to this."""


THRESHOLDS = Thresholds()
