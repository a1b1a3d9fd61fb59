"""`batch MANIFEST`: speak many utterances (CSV or JSONL) concurrently, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..errors import Interrupted
from .common import state
from .interrupt import run_interruptible, signal_name
from .ui import confirm_cost, open_client, progress_bar

if TYPE_CHECKING:
    from ..models import BatchItem


def batch(
    ctx: typer.Context,
    manifest: Path = typer.Argument(..., help="CSV (with a header) or JSONL manifest."),
    results: Optional[Path] = typer.Option(
        None,
        "--results",
        help="Results file (JSONL; default MANIFEST.results.jsonl).",
        show_default=False,
    ),
    concurrency: int = typer.Option(4, "--concurrency", help="Utterances at once."),
    retries: int = typer.Option(3, "--retries", help="Retries of a part that fails transiently."),
    audio_format: Optional[str] = typer.Option(
        None,
        "--format",
        help="Default format for rows without one (else from `out`).",
        show_default=False,
    ),
    sample_rate: Optional[int] = typer.Option(
        None,
        "--sample-rate",
        help="Default sample rate for rows without one.",
        show_default=False,
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        help="Default model for rows without one (default: each voice's).",
        show_default=False,
    ),
    force: bool = typer.Option(False, "--force", help="Redo items already done."),
    mkdir: bool = typer.Option(
        False, "--mkdir", help="Create missing folders of the outputs and the results file."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Don't ask before texts of 100,000+ billed characters."
    ),
) -> None:
    """Speak every row of a manifest into its own file, several at once, resumably.

    Columns (CSV header or JSONL keys): id, voice (id or registry prefix), text, out (relative
    paths are relative to the manifest; default ID.wav), and optionally format, sample_rate,
    volume, rate, pitch, seed, instruction, language_hint (CSV: separate with |), model.
    An item is skipped when the results file recorded it as done with the same request
    (text, voice, model, options) and its output still matches what was recorded (path,
    format, sample rate, size, duration); anything else is redone, so running the same
    command again after an interruption (Ctrl-C, SIGTERM: exit 130 / 143) finishes the job.
    `out` must be a new or regular file (a symlink is followed); its extension gives the
    format (.wav, .mp3, .opus/.ogg, .pcm/.raw) unless the row has `format`, and must agree
    with it; rows whose `out` has no audio extension take --format. Missing folders are refused
    unless --mkdir; a registered voice's sample is never overwritten. A bad row is reported
    with its line number and does not stop the others. One JSON line per item goes to the
    results file. Texts of 100,000+ billed characters in all are announced first (on a
    terminal: asked, unless --yes). Exit 1 if any item failed or was invalid. Examples:

    \b
      cosyvoice-clone batch lines.csv
      cosyvoice-clone --json batch lines.jsonl --concurrency 8 --results done.jsonl
    """
    from ..client import large_manifest, results_path_for

    app_state = state(ctx)
    _require_readable_file(manifest)
    results_path = results_path_for(manifest, results)
    confirm_cost(app_state, large_manifest(manifest), yes, f"the manifest {manifest}")
    progress = {"done": 0, "todo": 0}

    # One warning per distinct problem with its rows (40 rows with one problem: one line);
    # a single failed item keeps its id. The per-row detail is in the results file.
    problems: dict[str, list[BatchItem]] = {}

    def on_item(item: BatchItem) -> None:
        if item.error is not None:
            problems.setdefault(str(item.error), []).append(item)

    def interrupted(signum: int) -> Interrupted:
        return Interrupted(
            signum,
            f"interrupted by {signal_name(signum)} after {progress['done']} of "
            f"{progress['todo']} items; results so far in {results_path}",
            hint="run the same command again to resume (finished items are skipped)",
        )

    with (
        open_client(app_state) as client,
        progress_bar(app_state, "batch", True, unit="items") as on_progress,
    ):

        def advance(done: int, todo: int) -> None:
            progress.update(done=done, todo=todo)
            if todo:
                on_progress(done, todo)

        try:
            report = run_interruptible(
                lambda: client.speak_many(
                    manifest, results=results, concurrency=concurrency, retries=retries,
                    format=audio_format, sample_rate=sample_rate, model=model, force=force,
                    on_item=on_item, on_progress=advance, mkdir=mkdir,
                ),
                interrupted,
            )  # fmt: skip
        finally:
            for message, items in problems.items():
                failed = len(items) == 1 and items[0].status == "failed"
                who = f"{items[0].id}: " if failed else ""
                app_state.warn(f"{manifest}{_rows([i.line for i in items])}: {who}{message}")

    def human() -> None:
        app_state.console.print(
            f"{report.count('ok')} done, {report.count('skipped')} skipped (already complete), "
            f"{report.count('failed')} failed, {report.count('invalid')} invalid — results in "
            f"{report.results}"
        )

    app_state.emit({"ok": report.ok, **report.to_dict()}, human)
    if not report.ok:
        raise typer.Exit(1)


def _require_readable_file(manifest: Path) -> None:
    """Refuse a manifest that is a FIFO, device or socket before anything opens it (reading
    a FIFO would wait forever for a writer); a missing file is the library's to report."""
    import os
    import stat

    from ..audio.outfile import file_kind
    from ..errors import InvalidRequestError

    try:
        mode = os.stat(manifest).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise InvalidRequestError(
            f"cannot read the manifest {manifest}: it is a {file_kind(mode)}, not a regular file",
            field="manifest",
            hint="give a CSV or JSONL file (save the rows to a file first)",
        )


def _rows(lines: list[int]) -> str:
    """``:7`` for one row, `` lines 1-3, 9 (4 rows)`` for several (runs of lines joined)."""
    if len(lines) == 1:
        return f":{lines[0]}"
    ordered = sorted(set(lines))
    runs: list[str] = []
    start = prev = ordered[0]
    for line in [*ordered[1:], None]:
        if line is not None and line == prev + 1:
            prev = line
            continue
        runs.append(f"{start}" if start == prev else f"{start}-{prev}")
        if line is not None:
            start = prev = line
    return f" lines {', '.join(runs)} ({len(lines)} rows)"


def register(app: typer.Typer) -> None:
    """Add `batch` to ``app``."""
    app.command("batch")(batch)


__all__ = ["register"]
