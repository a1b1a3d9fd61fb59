"""Draw a sample check (``check --plot OUT.png``): waveform with speech activity and the chosen
window, frame levels, and the average speech spectrum.

Needs the optional extra ``plot`` (matplotlib), imported only here and only when called. Uses
matplotlib's object API with the Agg canvas, so it never touches pyplot's global state.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidRequestError
from ..extras import extra_hint
from .outfile import check_output_path, write_atomic

if TYPE_CHECKING:
    from .repair import Plan
    from .report import CheckReport

PLOT_HINT = extra_hint("plot")
_SEVERITY_COLORS = {"fail": "#c0392b", "warn": "#d68910", "pass": "#1e8449"}


def require_matplotlib() -> None:
    """Raise a one-line error when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InvalidRequestError(
            "--plot needs matplotlib, which is not installed", field="plot", hint=PLOT_HINT
        ) from None


def plot_report(
    report: CheckReport, out: str | Path, plan: Plan | None = None, *, mkdir: bool = False
) -> Path:
    """Write a PNG of ``report`` (which must carry its analysis) to ``out``; return the path.

    A missing folder of ``out`` is refused before anything is drawn, unless ``mkdir``."""
    require_matplotlib()
    out_path = check_output_path(out, "--plot", mkdir=mkdir)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .measure import first_channel
    from .thresholds import THRESHOLDS

    analysis = report.analysis
    if analysis is None:
        raise ValueError("the report carries no analysis to plot")
    decoded = analysis.decoded
    m = report.measurements
    rate = decoded.sample_rate
    x = first_channel(decoded)

    fig = Figure(figsize=(11, 7.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=(1.3, 1.0))
    ax_wave = fig.add_subplot(grid[0, :])
    ax_level = fig.add_subplot(grid[1, 0], sharex=ax_wave)
    ax_spec = fig.add_subplot(grid[1, 1])

    # Waveform as a min/max envelope per frame (fast for long files).
    hop = max(1, round(analysis.frame_s * rate))
    n = len(x) // hop
    t = (np.arange(n) + 0.5) * analysis.frame_s
    if n:
        frames = x[: n * hop].reshape(n, hop)
        ax_wave.fill_between(t, frames.min(axis=1), frames.max(axis=1), color="#34495e", lw=0)
    for i, (s, e) in enumerate(analysis.segments):
        ax_wave.axvspan(s, e, color="#5dade2", alpha=0.25, lw=0, label="speech" if i == 0 else None)
    if plan is not None:
        for i, (s, e) in enumerate(plan.pieces):
            ax_wave.axvspan(
                s, e, ymax=0.06, color="#27ae60", lw=0, label="kept by --fix" if i == 0 else None
            )
            ax_wave.axvline(s, color="#27ae60", lw=1.2)
            ax_wave.axvline(e, color="#27ae60", lw=1.2, ls="--")
        for i, ((_, e), (s, _)) in enumerate(itertools.pairwise(plan.pieces)):
            label = "pause shortened" if i == 0 else None
            ax_wave.axvspan(e, s, color="#aab7b8", alpha=0.35, hatch="//", lw=0, label=label)
    ax_wave.set_xlim(0, max(decoded.decoded_seconds, 1e-3))
    ax_wave.set_ylim(-1.05, 1.05)
    ax_wave.set_ylabel("amplitude (ch 1)")
    if analysis.segments:
        ax_wave.legend(loc="upper right", fontsize=8)
    verdict = report.verdict
    codes = ", ".join(p.code for p in report.problems if p.severity != "info") or "no problems"
    title = (
        f"{Path(report.source).name if report.source else 'sample'} — {verdict.upper()} "
        f"({codes})\n{m['duration_s']} s, {rate} Hz, {m['channels']} ch, "
        f"{m['loudness_lufs']} LUFS, SNR {m['snr_db']} dB, "
        f"speech {m['speech_s']} s, longest stretch {m['longest_speech_s']} s "
        f"(pauses ≤ {THRESHOLDS.max_pause_s:g} s bridged), longest pause {m['longest_pause_s']} s"
    )
    ax_wave.set_title(title, fontsize=10, color=_SEVERITY_COLORS[verdict], loc="left")

    # Frame levels with the speech threshold and the noise floor.
    ax_level.plot(t, analysis.frame_db[:n], color="#34495e", lw=0.8)
    ax_level.axhline(
        analysis.vad_threshold_db, color="#2e86c1", ls="--", lw=1, label="VAD threshold"
    )
    if m["noise_floor_dbfs"] is not None:
        ax_level.axhline(m["noise_floor_dbfs"], color="#c0392b", ls=":", lw=1, label="noise floor")
    ax_level.set_ylim(max(-100.0, float(np.min(analysis.frame_db)) - 5), 3)
    ax_level.set_xlabel("time (s)")
    ax_level.set_ylabel("frame level (dBFS)")
    ax_level.legend(loc="lower right", fontsize=8)

    # Average spectrum of the speech frames.
    if analysis.spectrum_hz is not None and analysis.spectrum_db is not None:
        f = analysis.spectrum_hz[1:]
        s_db = analysis.spectrum_db[1:] - float(np.max(analysis.spectrum_db))
        ax_spec.semilogx(f, s_db, color="#34495e", lw=0.9)
        ax_spec.set_xlim(max(20.0, float(f[0])), rate / 2)
        ax_spec.set_ylim(-100, 5)
        if m["bandwidth_hz"]:
            ax_spec.axvline(m["bandwidth_hz"], color="#d68910", ls="--", lw=1, label="bandwidth")
        ax_spec.axvline(
            THRESHOLDS.narrowband_hz, color="#c0392b", ls=":", lw=1, label="narrowband limit"
        )
        ax_spec.legend(loc="lower left", fontsize=8)
    ax_spec.set_xlabel("frequency (Hz)")
    ax_spec.set_ylabel("speech spectrum (dB)")

    def save(tmp: Path) -> None:
        fig.savefig(tmp, format="png")

    write_atomic(out_path, save)
    return out_path
