"""A sample's waveform for drawing (the studio page): an envelope and the check's marks.

:func:`waveform` reads the arrays a check already measured (:attr:`CheckReport.analysis`) and
returns plain numbers: a min/max envelope of the first channel, the speech segments, the pauses
longer than the service allows (the gaps between the check's continuous stretches) and, when
the check reports clipping, the spans where samples sit at its clip level.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .measure import clip_level, first_channel

if TYPE_CHECKING:
    from .report import CheckReport

Span = tuple[float, float]
_CLIP_JOIN_S = 0.05
"""Clipped samples closer than this are drawn as one span."""


@dataclass(frozen=True)
class Waveform:
    """What a page needs to draw a checked sample."""

    duration_s: float
    envelope: tuple[tuple[float, float], ...]
    """``(min, max)`` of the first channel in each of ``len(envelope)`` equal columns."""
    segments: tuple[Span, ...]
    long_pauses: tuple[Span, ...]
    clipped: tuple[Span, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times in seconds (ms precision), levels in [-1, 1] (3 decimals)."""

        def spans(items: tuple[Span, ...]) -> list[list[float]]:
            return [[round(a, 3), round(b, 3)] for a, b in items]

        return {
            "duration_s": round(self.duration_s, 3),
            "envelope": [[round(lo, 3), round(hi, 3)] for lo, hi in self.envelope],
            "segments": spans(self.segments),
            "long_pauses": spans(self.long_pauses),
            "clipped": spans(self.clipped),
        }


def waveform(report: CheckReport, columns: int = 600) -> Waveform:
    """The waveform of a checked sample (``report`` must carry its analysis)."""
    analysis = report.analysis
    if analysis is None:
        raise ValueError("the report carries no analysis to draw")
    decoded = analysis.decoded
    rate = decoded.sample_rate
    x = first_channel(decoded)
    duration = decoded.decoded_seconds
    columns = max(1, min(columns, len(x)))
    edges = np.linspace(0, len(x), columns + 1).astype(np.intp)
    if len(x):
        lo = np.minimum.reduceat(x, edges[:-1])
        hi = np.maximum.reduceat(x, edges[:-1])
        envelope = tuple(zip(lo.tolist(), hi.tolist(), strict=True))
    else:
        envelope = ()
    pauses = tuple((a[1], b[0]) for a, b in itertools.pairwise(analysis.stretches))
    return Waveform(
        duration_s=duration,
        envelope=envelope,
        segments=tuple(analysis.segments),
        long_pauses=pauses,
        clipped=_clipped_spans(decoded.samples, rate, report),
    )


def _clipped_spans(samples: Any, rate: int, report: CheckReport) -> tuple[Span, ...]:
    if not any(p.code == "clipping" for p in report.problems):
        return ()  # a few samples at the peak are not clipping until the check says so
    level = clip_level(float(np.max(np.abs(samples))))
    if level is None:
        return ()
    where = np.flatnonzero((np.abs(samples) >= level).any(axis=1)) / rate
    spans: list[Span] = []
    for t in where.tolist():
        if spans and t - spans[-1][1] <= _CLIP_JOIN_S:
            spans[-1] = (spans[-1][0], t)
        else:
            spans.append((t, t))
    return tuple(spans)
