"""Moved to :mod:`.sinks` (the atomic file writers); these names are re-exported for callers."""

from __future__ import annotations

from .sinks import (
    PARTIAL_SUFFIX,
    AudioWriter,
    EncodedWriter,
    RawWriter,
    WavWriter,
    open_writer,
    partial_path,
    remove_stale_partials,
    stale_partials,
)

__all__ = [
    "PARTIAL_SUFFIX",
    "AudioWriter",
    "EncodedWriter",
    "RawWriter",
    "WavWriter",
    "open_writer",
    "partial_path",
    "remove_stale_partials",
    "stale_partials",
]
