"""`check`: judge a reference sample before spending a voice slot, and repair it.

Exit status (also in the command's help): 0 when the sample passes or only warns; with
``--fix``, 0 when a repaired sample was written (it passes or only warns) and 1 when none could
be; 1 when it fails; 2 when the sample or an output path is unusable; 5/6 when a sample URL
timed out / could not be reached. ``--json`` carries ``"ok"``: true exactly when the exit
status is 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..audio.files import format_size
from ..catalog import SAMPLE_MAX_PAUSE_SECONDS
from .common import AppState, state

if TYPE_CHECKING:
    from ..audio.repair import FixResult
    from ..audio.report import CheckReport

_LABELS: tuple[tuple[str, str, str], ...] = (
    ("format", "format", ""),
    ("codec", "codec", ""),
    ("duration_s", "duration", " s"),
    ("sample_rate", "sample rate", " Hz"),
    ("channels", "channels", ""),
    ("bit_depth", "bit depth", ""),
    ("file_size", "file size", ""),
    ("peak_dbfs", "peak", " dBFS"),
    ("clipped_ratio", "clipped samples", ""),
    ("loudness_lufs", "loudness", " LUFS"),
    ("noise_floor_dbfs", "noise floor", " dBFS"),
    ("snr_db", "SNR estimate", " dB"),
    ("speech_s", "speech in total", " s"),
    ("longest_segment_s", "longest speech without a pause", " s"),
    (
        "longest_speech_s",
        f"longest stretch of speech (pauses ≤ {SAMPLE_MAX_PAUSE_SECONDS:g} s bridged)",
        " s",
    ),
    ("longest_pause_s", "longest pause", " s"),
    ("leading_silence_s", "leading silence", " s"),
    ("trailing_silence_s", "trailing silence", " s"),
    ("dc_offset", "DC offset", ""),
    ("bandwidth_hz", "bandwidth", " Hz"),
    ("pitch_hz", "median pitch", " Hz"),
)
_COMPARE = (
    "duration_s",
    "sample_rate",
    "channels",
    "file_size",
    "peak_dbfs",
    "loudness_lufs",
    "longest_speech_s",
    "longest_pause_s",
    "leading_silence_s",
    "trailing_silence_s",
    "dc_offset",
)
_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "info": "cyan"}


def check(
    ctx: typer.Context,
    sample: str = typer.Argument(..., help="Path or http(s) URL of the reference sample."),
    target_model: Optional[str] = typer.Option(
        None, "--target-model", help="Model the voice is for (default cosyvoice-v3.5-plus)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print the report as JSON on stdout (same as the global --json)."
    ),
    fix: Optional[Path] = typer.Option(
        None,
        "--fix",
        metavar="OUT",
        help="Write a repaired sample to OUT (24 kHz mono 16-bit WAV, best 10-20 s) and check it.",
    ),
    plot: Optional[Path] = typer.Option(
        None,
        "--plot",
        metavar="OUT.png",
        help="Draw waveform, speech activity, chosen window, levels and spectrum (needs [plot]).",
    ),
    mkdir: bool = typer.Option(
        False, "--mkdir", help="Create a missing folder of --fix / --plot (else refused)."
    ),
) -> None:
    """Check a reference sample before cloning: verdict, problems, measurements.

    Judges the sample against the service's documented requirements (WAV 16-bit/MP3/M4A,
    at most 60 s and 10 MiB, at least 16 kHz, 5 s of continuous speech, pauses of at most
    2 s) and the target model. Nothing is sent to the service. SAMPLE is a local path or an
    http(s) URL (an oss:// upload URL can only be read by the service). A missing folder of
    --fix or --plot is refused unless --mkdir.

    Exit status: 0 the sample passes or only warns; 1 it fails; 2 the sample or an output
    path is unusable; 5 / 6 a sample URL timed out / could not be reached. With --fix: 0 when
    the repaired sample was written (it passes or only warns; what a repair cannot undo, such
    as audio upsampled from 8 kHz, is listed as a warning), 1 when it would still fail and
    nothing was written. Under --json, "ok" is true exactly when the exit status is 0.

    Examples:

    \b
      cosyvoice-clone check voice.m4a
      cosyvoice-clone check voice.wav --fix voice.fixed.wav --plot voice.png
      cosyvoice-clone --json check https://example.com/voice.mp3
    """
    st = state(ctx)
    if json_output:
        st.json = True
    # A plain check loads only the decoder and the measurements (numpy, soundfile): the
    # repair, the output checks and matplotlib are imported for --fix / --plot alone.
    if plot is not None or fix is not None:
        from ..audio.outfile import check_output_path

        if plot is not None:
            from ..audio.plot import require_matplotlib

            check_output_path(plot, "--plot", mkdir=mkdir)  # before matplotlib's own files
            require_matplotlib()
        if fix is not None:
            check_output_path(fix, "--fix", mkdir=mkdir)

    result: FixResult | None = None
    if fix is not None:
        from ..audio.repair import fix_sample

        write_fix: Any = fix_sample  # its `mkdir` keyword is new (see _mkdir_option)
        result = write_fix(sample, fix, target_model, **_mkdir_option(fix_sample, mkdir))
        report = result.before
    else:
        from ..audio.judge import check_sample

        report = check_sample(sample, target_model)
    if result is not None:
        code = 0 if result.written else 1
    else:
        code = 1 if report.verdict == "fail" else 0
    data: dict[str, Any] = {"ok": code == 0, **report.to_dict()}
    if result is not None:
        data["fixed"] = result.to_dict()
    if plot is not None:
        from ..audio.plot import plot_report
        from ..audio.repair import plan_repair

        plan = result.plan if result is not None else None
        if plan is None and report.analysis is not None:
            plan = plan_repair(report.analysis)
        draw: Any = plot_report
        data["plot"] = str(draw(report, plot, plan, **_mkdir_option(plot_report, mkdir)))

    st.emit(data, lambda: _human(st, report, result, data.get("plot")))
    if code:
        raise typer.Exit(code)


def _mkdir_option(function: Any, mkdir: bool) -> dict[str, bool]:
    """``{"mkdir": mkdir}`` when the library function takes it (issue 23: the writers gain a
    ``mkdir`` keyword), else nothing: until then they create the folder of what they write,
    and the check above has already refused a missing one without --mkdir."""
    import inspect

    return {"mkdir": mkdir} if "mkdir" in inspect.signature(function).parameters else {}


def _human(st: AppState, report: CheckReport, result: FixResult | None, plot: Any) -> None:
    from rich.table import Table

    console = st.console
    console.print(
        f"[bold]{report.source or 'sample'}[/bold] for {report.target_model}: "
        f"[bold {_STYLE[report.verdict]}]{report.verdict.upper()}[/]"
    )
    _problems(st, report)
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    for key, label, unit in _LABELS:
        table.add_row(label, _fmt(key, report.measurements.get(key), unit))
    console.print(table)
    if result is not None:
        console.print()
        for step in result.steps:
            console.print(f"  • {step}", markup=False)
        if not result.written:
            console.print(f"[red]not written:[/red] {result.reason}", highlight=False)
        else:
            after = result.after
            assert after is not None
            compare = Table(title=f"fixed → {result.output}", title_justify="left")
            compare.add_column("measurement")
            compare.add_column("before", justify="right")
            compare.add_column("after", justify="right")
            labels = {k: (label, unit) for k, label, unit in _LABELS}
            for key in _COMPARE:
                label, unit = labels[key]
                compare.add_row(
                    label,
                    _fmt(key, report.measurements.get(key), unit),
                    _fmt(key, after.measurements.get(key), unit),
                )
            console.print(compare)
            console.print(
                f"repaired sample: [bold {_STYLE[after.verdict]}]{after.verdict.upper()}[/]"
            )
            _problems(st, after)
        if result.unrepaired and not result.written:
            console.print(
                "[yellow]cannot be repaired here:[/yellow] " + ", ".join(result.unrepaired),
                highlight=False,
            )
    if plot:
        console.print(f"plot written to {plot}", markup=False)


def _problems(st: AppState, report: CheckReport) -> None:
    from rich.table import Table

    if not report.problems:
        return
    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
    table.add_column("severity")
    table.add_column("code")
    table.add_column("problem", overflow="fold")
    table.add_column("service error", style="dim")
    for p in report.problems:
        table.add_row(
            f"[{_STYLE[p.severity]}]{p.severity}[/]", p.code, p.message, p.service_code or ""
        )
    st.console.print(table)


def _fmt(key: str, value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if key == "file_size":
        return format_size(value)
    if key == "clipped_ratio":
        return f"{float(value) * 100:.3f} %"
    if isinstance(value, float):
        return f"{value:g}{unit}"
    return f"{value}{unit}"


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("check")(check)
