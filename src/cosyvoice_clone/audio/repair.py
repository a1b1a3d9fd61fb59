"""Repair a sample (``check --fix``): write a compliant WAV and check the result.

Mono (the first channel, as the service uses), DC removed, long pauses shortened, leading and
trailing silence trimmed, the best 10–20 s window of continuous speech kept, resampled to
24 kHz, loudness-normalised, 16-bit PCM WAV (well under 10 MB). The input is never
overwritten: the output path is validated before any work, then written to a temporary file
next to it and renamed into place.

What a repair cannot undo (audio upsampled from below 16 kHz, clipping, noise, a narrow band)
stays in the repaired sample's report as a ``warn`` problem, so its verdict says so.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidRequestError
from .judge import check_analysis, check_sample, resolve_model
from .outfile import check_output_path, write_atomic
from .report import CheckReport, Problem
from .thresholds import THRESHOLDS, Thresholds

if TYPE_CHECKING:
    import numpy.typing as npt

    from .measure import Analysis

_CROSSFADE_S = 0.01


@dataclass
class Plan:
    """What to keep of the input: pieces of the original timeline, in order."""

    pieces: list[tuple[float, float]]
    window: tuple[float, float]
    """Span of the kept audio in the input (start of the first piece, end of the last)."""
    shortened_pauses: int = 0

    @property
    def duration(self) -> float:
        """Length of the repaired audio in seconds."""
        return float(sum(e - s for s, e in self.pieces))


@dataclass
class FixResult:
    """Before and after of ``check --fix``."""

    before: CheckReport
    after: CheckReport | None
    output: Path | None
    written: bool
    plan: Plan | None
    steps: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)
    """Codes of the input's problems that a repair cannot undo."""
    reason: str | None = None

    @property
    def warnings(self) -> list[str]:
        """What the written sample still carries from the input (``inherited`` problems)."""
        if not self.written or self.after is None:
            return []
        return [p.message for p in self.after.problems if p.code in _INHERITED_CODES]

    def to_dict(self) -> dict[str, Any]:
        """The ``fixed`` part of ``check --fix --json``."""
        after = self.after.to_dict() if self.after else None
        return {
            "output": str(self.output) if self.output else None,
            "written": self.written,
            "reason": self.reason,
            "verdict": after["verdict"] if after else None,
            "problems": after["problems"] if after else [],
            "measurements": after["measurements"] if after else {},
            "steps": list(self.steps),
            "unrepaired": list(self.unrepaired),
            "warnings": self.warnings,
            "window": (
                {"start_s": round(self.plan.window[0], 3), "end_s": round(self.plan.window[1], 3)}
                if self.plan
                else None
            ),
        }


def plan_repair(analysis: Analysis, th: Thresholds = THRESHOLDS) -> Plan | None:
    """Choose what to keep: pauses over ``max_pause_s`` shortened, then the best window.

    The window is the run of consecutive speech segments, padded by ``fix_edge_pad_s``, that
    holds the most speech while lasting at most the recommended maximum (20 s).
    """
    segments = analysis.segments
    duration = analysis.decoded.decoded_seconds
    if not segments:
        return None
    pad = th.fix_edge_pad_s
    max_len = th.recommended_seconds[1]

    # Keep spans of the input: everything from the first to the last speech (padded), except
    # the middle of pauses longer than max_pause_s, which shrink to fix_pause_s.
    half = th.fix_pause_s / 2
    spans: list[tuple[float, float]] = []
    start = max(0.0, segments[0][0] - pad)
    for (_, e0), (s1, _) in itertools.pairwise(segments):
        if s1 - e0 > th.max_pause_s:
            spans.append((start, e0 + half))
            start = s1 - half
    spans.append((start, min(duration, segments[-1][1] + pad)))
    offsets = np.concatenate(([0.0], np.cumsum([e - s for s, e in spans])))
    total = float(offsets[-1])

    def shortened(t: float) -> float:
        k = max(0, int(np.searchsorted([s for s, _ in spans], t, side="right")) - 1)
        return float(offsets[k]) + t - spans[k][0]

    comp = [(shortened(s), shortened(e)) for s, e in segments]

    # Best window: consecutive segments holding the most speech within max_len.
    speech = np.cumsum([0.0] + [e - s for s, e in comp])
    best: tuple[float, int, int] | None = None
    for i in range(len(comp)):
        for j in range(i, len(comp)):
            if comp[j][1] - comp[i][0] + 2 * pad > max_len:
                break
            content = float(speech[j + 1] - speech[i])
            if best is None or content > best[0] + 1e-9:
                best = (content, i, j)
    if best is None:  # one segment longer than max_len: cut it at its quietest frame
        i = int(np.argmax([e - s for s, e in comp]))
        lo = max(0.0, comp[i][0] - pad)
        start = segments[i][0] - (comp[i][0] - lo)  # same span: times map linearly
        f0 = int((start + th.recommended_seconds[0]) / analysis.frame_s)
        f1 = int((start + max_len - pad) / analysis.frame_s)
        quiet = analysis.frame_db[f0:f1]
        cut = (
            (f0 + int(np.argmin(quiet)) + 0.5) * analysis.frame_s if quiet.size else start + max_len
        )
        hi = min(total, lo + (cut - start))
    else:
        _, i, j = best
        lo, hi = max(0.0, comp[i][0] - pad), min(total, comp[j][1] + pad)

    # Back onto the input's timeline.
    pieces: list[tuple[float, float]] = []
    for k, (a, b) in enumerate(spans):
        c0, c1 = float(offsets[k]), float(offsets[k + 1])
        x0, x1 = max(lo, c0), min(hi, c1)
        if x1 - x0 > 1e-3:
            pieces.append((a + x0 - c0, min(b, a + x1 - c0)))
    if not pieces:
        return None
    shortened_pauses = sum(1 for (_, e), (s, _) in itertools.pairwise(pieces) if s > e)
    return Plan(
        pieces=pieces, window=(pieces[0][0], pieces[-1][1]), shortened_pauses=shortened_pauses
    )


def render(analysis: Analysis, plan: Plan, th: Thresholds = THRESHOLDS) -> npt.NDArray[np.float32]:
    """The repaired audio: first channel, DC removed, pieces joined, 24 kHz, normalised."""
    import soxr

    from .loudness import loudness
    from .measure import first_channel

    rate = analysis.decoded.sample_rate
    x = first_channel(analysis.decoded).astype(np.float64)
    x -= x.mean()
    fade = max(1, int(_CROSSFADE_S * rate))
    parts: list[npt.NDArray[np.float64]] = []
    for s, e in plan.pieces:
        part = x[round(s * rate) : round(e * rate)].copy()
        if len(parts) and len(part) > 2 * fade:  # soften the joins of shortened pauses
            part[:fade] *= np.linspace(0.0, 1.0, fade)
            parts[-1][-fade:] *= np.linspace(1.0, 0.0, fade)
        parts.append(part)
    y = np.concatenate(parts) if parts else np.zeros(0)
    if rate != th.fix_sample_rate:
        y = soxr.resample(y, rate, th.fix_sample_rate, quality="HQ")
    y = y - y.mean() if len(y) else y
    level = loudness(y, th.fix_sample_rate)
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if level is not None and peak > 0:
        gain = 10 ** ((th.fix_loudness_lufs - level) / 20)
        gain = min(gain, 10 ** (th.fix_peak_dbfs / 20) / peak)
        y = y * gain
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def fix_sample(
    source: str | Path | bytes,
    out: str | Path,
    target_model: str | None = None,
    *,
    th: Thresholds = THRESHOLDS,
    mkdir: bool = False,
) -> FixResult:
    """Check ``source``, write a repaired sample to ``out`` and check that (see module doc).

    Nothing is written when the repaired audio would still fail (silence, no speech, too
    little continuous speech): ``written`` is false and ``reason`` says why. A missing folder
    of ``out`` is refused (nothing read or written) unless ``mkdir``. The loudness step says
    the loudness the repaired audio measures, which the peak ceiling may hold below the target.
    """
    from .decode import Decoded
    from .measure import analyse

    out_path = check_output_path(out, "--fix", mkdir=mkdir)
    _refuse_overwrite(source, out_path)
    model = resolve_model(target_model).name
    before = check_sample(source, model)
    analysis = before.analysis
    if analysis is None:  # check_sample always keeps it; re-measure if someone dropped it
        raise RuntimeError("check_sample returned no analysis")
    plan = plan_repair(analysis, th)
    fixable = {p.code for p in before.problems if p.fixable}
    unrepaired = [p.code for p in before.problems if not p.fixable and p.severity != "info"]
    if plan is None:
        return FixResult(
            before,
            None,
            out_path,
            False,
            None,
            unrepaired=unrepaired,
            reason="no speech to keep; record a new sample",
        )
    audio = render(analysis, plan, th)
    data = _wav_bytes(audio, th.fix_sample_rate)
    decoded = Decoded(
        audio[:, None], th.fix_sample_rate, "wav", "PCM_16", 16, len(data), out_path.name
    )
    after = check_analysis(analyse(decoded), model, str(out_path))
    steps = _steps(analysis, plan, fixable, th, after.measurements)
    if after.verdict == "fail":
        reasons = "; ".join(p.message for p in after.problems if p.severity == "fail")
        return FixResult(
            before,
            after,
            out_path,
            False,
            plan,
            steps,
            unrepaired,
            reason=f"the repaired sample would still fail: {reasons}",
        )
    write_atomic(out_path, lambda tmp: _write_synced(tmp, data))
    after = with_inherited(check_sample(out_path, model), before)
    return FixResult(before, after, out_path, True, plan, steps, unrepaired)


_INHERITED_CODES = ("upsampled", "clipping", "noisy", "narrowband")


def inherited_problems(before: CheckReport, after: CheckReport) -> list[Problem]:
    """Quality problems of the input that a repair cannot undo and ``after`` no longer shows.

    A repaired sample is measured afresh, and some defects hide from that measurement: an
    8 kHz recording resampled to 24 kHz passes the rate check, clipped peaks scaled down no
    longer touch full scale. They are carried over as warnings.
    """
    m = before.measurements
    seen = {p.code for p in after.problems}
    out: list[Problem] = []
    for p in before.problems:
        if p.fixable or p.severity == "info":
            continue
        if p.code == "sample_rate_too_low":
            out.append(
                Problem(
                    "upsampled",
                    "warn",
                    f"upsampled from {int(m['sample_rate']) / 1000:g} kHz: the lost detail cannot "
                    "be restored (re-record at 16 kHz or more for a clearer clone)",
                )
            )
        elif p.code == "clipping" and p.code not in seen:
            out.append(
                Problem(
                    "clipping",
                    "warn",
                    f"{float(m['clipped_ratio']) * 100:.2f}% of the input's samples were clipped: "
                    "lowering the level does not remove the distortion (re-record with less gain)",
                )
            )
        elif p.code in ("noisy", "narrowband") and p.code not in seen:
            out.append(Problem(p.code, "warn", f"kept from the input: {p.message}"))
    return out


def with_inherited(after: CheckReport, before: CheckReport) -> CheckReport:
    """``after`` with :func:`inherited_problems` added (and its verdict updated)."""
    extra = inherited_problems(before, after)
    if not extra:
        return after
    return CheckReport.of(
        [*after.problems, *extra],
        after.measurements,
        after.target_model,
        after.source,
        after.analysis,
    )


def _loudness_step(measured: Mapping[str, Any], th: Thresholds) -> str:
    """What the loudness normalisation reached, as the repaired audio measures."""
    target, ceiling = th.fix_loudness_lufs, th.fix_peak_dbfs
    level, peak = measured.get("loudness_lufs"), measured.get("peak_dbfs")
    if not isinstance(level, (int, float)):
        return f"normalised loudness towards {target:g} LUFS (peak ≤ {ceiling:g} dBFS)"
    reached = f"normalised loudness to {float(level):.1f} LUFS"
    if abs(float(level) - target) <= 0.5:
        return f"{reached} (target {target:g} LUFS, peak ≤ {ceiling:g} dBFS)"
    if isinstance(peak, (int, float)) and float(peak) >= ceiling - 0.2:
        return (
            f"{reached} (target {target:g} LUFS; the {ceiling:g} dBFS peak ceiling allows no more)"
        )
    return f"{reached} (target {target:g} LUFS)"


def _steps(
    analysis: Analysis,
    plan: Plan,
    fixable: set[str],
    th: Thresholds,
    measured: Mapping[str, Any],
) -> list[str]:
    m = analysis.values
    steps: list[str] = []
    if m["channels"] > 1:
        steps.append(f"kept the first of {m['channels']} channels")
    if abs(float(m["dc_offset"])) > 1e-4:
        steps.append(f"removed a DC offset of {float(m['dc_offset']):+.4f}")
    if plan.shortened_pauses:
        steps.append(
            f"shortened {plan.shortened_pauses} pause(s) longer than {th.max_pause_s:g} s "
            f"to {th.fix_pause_s:g} s"
        )
    lo, hi = plan.window
    steps.append(f"kept {plan.duration:.1f} s, from {lo:.2f} s to {hi:.2f} s of the input")
    if m["sample_rate"] != th.fix_sample_rate:
        steps.append(f"resampled {m['sample_rate']} Hz to {th.fix_sample_rate} Hz")
    steps.append(_loudness_step(measured, th))
    steps.append("wrote 16-bit PCM WAV")
    return steps


def _wav_bytes(audio: npt.NDArray[np.float32], rate: int) -> bytes:
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, audio, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _refuse_overwrite(source: str | Path | bytes, out: Path) -> None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return
    text = str(source)
    if text.lower().startswith(("http://", "https://")):
        return
    src = Path(text).expanduser()
    same = src.resolve() == out.resolve()
    if not same and out.exists():
        try:
            same = os.path.samefile(src, out)
        except OSError:
            same = False
    if same:
        raise InvalidRequestError(
            f"--fix would overwrite the input {src}",
            field="fix",
            value=str(out),
            hint="write the repaired sample to another file",
        )
    if out.suffix.lower() != ".wav":
        raise InvalidRequestError(
            f"--fix writes a WAV file; {out.name} does not end in .wav",
            field="fix",
            value=str(out),
            hint="give a name such as sample.fixed.wav",
        )


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
