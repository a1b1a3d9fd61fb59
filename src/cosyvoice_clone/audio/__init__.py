"""Decode, measure, judge and repair reference samples (the preflight ``check``).

Public API::

    check_sample(source, target_model=None) -> CheckReport   # path, URL or bytes
    service_rejection(data, filename=None) -> (api_code, message) | None
    voice_pitch_hz(data) -> float | None
    fix_sample(source, out, target_model=None) -> FixResult

The emulator answers ``Audio.*`` errors with :func:`service_rejection`, so the client's
preflight and the offline service judge a sample with the very same measurements and the one
thresholds table (:data:`THRESHOLDS`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .decode import Decoded, decode
from .judge import SERVICE_MESSAGES, check_sample, service_rejection, voice_pitch_hz
from .report import CheckReport, Problem
from .thresholds import THRESHOLDS, Thresholds

if TYPE_CHECKING:
    from .repair import FixResult, fix_sample

_LAZY = {"FixResult": "repair", "fix_sample": "repair"}


def __getattr__(name: str) -> Any:
    """Load the repair side (numpy, soxr) only when it is used."""
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SERVICE_MESSAGES",
    "THRESHOLDS",
    "CheckReport",
    "Decoded",
    "FixResult",
    "Problem",
    "Thresholds",
    "check_sample",
    "decode",
    "fix_sample",
    "service_rejection",
    "voice_pitch_hz",
]
