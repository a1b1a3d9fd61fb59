"""`voices list/show/update/delete/sync/prune`: manage voices on the service and in the registry."""

from __future__ import annotations

import sys
from typing import Any, Optional

import typer

from .clone import open_client, status_spinner
from .common import AppState, state

voices_app = typer.Typer(
    help=(
        "Manage cloned voices: the service and the local registry together.\n\n"
        "Examples:\n\n"
        "  cosyvoice-clone voices list --prefix myvoice\n\n"
        "  cosyvoice-clone voices show cosyvoice-v3.5-plus-myvoice-0123...\n\n"
        "  cosyvoice-clone voices prune --older-than 30d --dry-run"
    ),
    no_args_is_help=True,
)


def _confirm(app_state: AppState, question: str, yes: bool) -> None:
    """Proceed with --yes, or after a 'y' on a terminal; refuse (exit 2) without a TTY."""
    if yes:
        return
    from ..errors import InvalidRequestError

    if not sys.stdin.isatty():
        raise InvalidRequestError(
            f"{question.rstrip('?')}: confirmation needed but there is no terminal",
            field="yes",
            hint="pass --yes to confirm",
        )
    if not typer.confirm(question, default=False, err=True):
        app_state.err_console.print("nothing deleted", markup=False)
        raise typer.Exit(1)


def _short(value: Any, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _status_style(status: str | None) -> str:
    return {"OK": "green", "DEPLOYING": "yellow", "UNDEPLOYED": "red"}.get(status or "", "dim")


@voices_app.command("list")
def list_voices(
    ctx: typer.Context,
    prefix: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--prefix", help="Only voices with this prefix.", show_default=False
    ),
) -> None:
    """List every voice on the service (all pages), with what the registry knows.

    Examples:

      cosyvoice-clone voices list

      cosyvoice-clone --json voices list --prefix myvoice
    """
    app_state = state(ctx)
    with open_client(app_state) as client:
        voices = client.voices.list(prefix)

    def human() -> None:
        console = app_state.console
        if not voices:
            console.print("no voices" + (f" with prefix {prefix!r}" if prefix else ""))
            return
        rows = []
        for v in voices:
            sample = v.get("sample_source") or v.get("sample_url") or ""
            rows.append(
                (
                    v["voice_id"],
                    v.get("status") or "?",
                    v.get("target_model") or "?",
                    v.get("gmt_create") or "",
                    (sample.rsplit("/", 1)[-1] if sample else "")
                    + ("" if v.get("registered") else " (not cloned here)"),
                )
            )
        if not console.is_terminal:  # pipes get one plain line per voice, never wrapped
            for row in rows:
                print("\t".join(row))
            return
        # One line per voice (ids are ~60 characters: a table would squeeze every other column).
        id_width = max(len(row[0]) for row in rows)
        console.print(
            f"[bold]{'voice id':<{id_width}}  {'status':<10}  {'created (Beijing)':<19}  sample"
        )
        for voice_id, status, _model, created, sample in rows:
            console.print(
                f"{voice_id:<{id_width}}  [{_status_style(status)}]{status:<10}[/]  "
                f"{created:<19}  {sample}",
                overflow="ellipsis",
                no_wrap=True,
                crop=True,
            )
        console.print(f"{len(voices)} voice(s)")

    app_state.emit({"ok": True, "count": len(voices), "voices": voices}, human)


@voices_app.command("show")
def show(ctx: typer.Context, voice_id: str = typer.Argument(..., help="The voice id.")) -> None:
    """Show one voice: status, target model, timestamps, sample and registry details.

    Example:

      cosyvoice-clone voices show cosyvoice-v3.5-plus-myvoice-0123456789abcdef0123456789abcdef
    """
    app_state = state(ctx)
    with open_client(app_state) as client:
        voice = client.voices.show(voice_id)

    def human() -> None:
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for key, value in voice.items():
            if value is not None:
                table.add_row(key, str(value))
        app_state.console.print(table)

    app_state.emit({"ok": True, **voice}, human)


@voices_app.command("update")
def update(
    ctx: typer.Context,
    voice_id: str = typer.Argument(..., help="The voice id."),
    sample: str = typer.Option(..., "--sample", help="New sample: a local file or a URL."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the voice is OK again."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for OK."),
    skip_check: bool = typer.Option(
        False, "--skip-check", help="Send the sample even if the local check fails it."
    ),
) -> None:
    """Give a voice a new reference sample (the voice id stays the same).

    Example:

      cosyvoice-clone voices update cosyvoice-v3.5-plus-myvoice-0123... --sample better.wav
    """
    app_state = state(ctx)
    with (
        open_client(app_state) as client,
        status_spinner(app_state, f"updating {voice_id}") as on_status,
    ):
        voice = client.voices.update(
            voice_id, sample, skip_check=skip_check, wait=wait, timeout=timeout, on_status=on_status
        )
    for warning in voice.pop("warnings", []):
        app_state.warn(warning)

    def human() -> None:
        app_state.console.print(f"updated voice {voice_id}: status {voice.get('status')}")

    app_state.emit({"ok": True, **voice}, human)


def _delete_many(app_state: AppState, ids: list[str]) -> None:
    from ..errors import CosyVoiceCloneError

    deleted: list[str] = []
    failed: list[dict[str, Any]] = []
    first_error: CosyVoiceCloneError | None = None
    with open_client(app_state) as client:
        for voice_id in ids:
            try:
                client.voices.delete(voice_id)
            except CosyVoiceCloneError as err:
                first_error = first_error or err
                failed.append({"voice_id": voice_id, "error": err.to_dict()})
                if not app_state.json:
                    app_state.err_console.print(f"error: {voice_id}: {err}", markup=False)
            else:
                deleted.append(voice_id)
                if not app_state.json:
                    app_state.console.print(f"deleted {voice_id}")
    if app_state.json:
        app_state.emit({"ok": not failed, "deleted": deleted, "failed": failed})
    elif len(ids) > 1:
        app_state.console.print(f"{len(deleted)} deleted, {len(failed)} failed")
    if first_error is not None:
        raise typer.Exit(first_error.exit_code)


@voices_app.command("delete")
def delete(
    ctx: typer.Context,
    voice_ids: list[str] = typer.Argument(..., help="One or more voice ids."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
) -> None:
    """Delete voices on the service (frees their slots); the registry keeps them as deleted.

    Asks for confirmation unless --yes (without a terminal, --yes is required). Examples:

      cosyvoice-clone voices delete cosyvoice-v3.5-plus-myvoice-0123...

      cosyvoice-clone --json voices delete ID1 ID2 --yes
    """
    app_state = state(ctx)
    _confirm(app_state, f"Delete {len(voice_ids)} voice(s) on the service?", yes)
    _delete_many(app_state, list(dict.fromkeys(voice_ids)))


@voices_app.command("sync")
def sync(ctx: typer.Context) -> None:
    """Reconcile the registry with the service: add voices it didn't know, mark deleted ones.

    Example:

      cosyvoice-clone voices sync
    """
    app_state = state(ctx)
    with open_client(app_state) as client:
        report = client.voices.sync()
    data = {"ok": True, **report.to_dict()}

    def human() -> None:
        app_state.console.print(
            f"{report.total} voice(s) on the service: {len(report.added)} added, "
            f"{len(report.updated)} updated, {len(report.marked_deleted)} marked deleted"
        )

    app_state.emit(data, human)


@voices_app.command("prune")
def prune(
    ctx: typer.Context,
    prefix: Optional[str] = typer.Option(  # noqa: UP045
        None, "--prefix", help="Only voices with this prefix.", show_default=False
    ),
    older_than: Optional[str] = typer.Option(  # noqa: UP045
        None,
        "--older-than",
        help="Only voices created longer ago than this: 30d, 12h, 2w ...",
        show_default=False,
    ),
    status: Optional[str] = typer.Option(  # noqa: UP045
        None, "--status", help="Only voices in this status (e.g. UNDEPLOYED).", show_default=False
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go; delete nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
) -> None:
    """Delete the voices that match every filter given (at least one is required).

    Examples:

      cosyvoice-clone voices prune --older-than 30d --dry-run

      cosyvoice-clone voices prune --status UNDEPLOYED --yes

      cosyvoice-clone voices prune --prefix test --older-than 1d --yes
    """
    app_state = state(ctx)
    with open_client(app_state) as client:
        candidates = client.voices.prune_candidates(
            prefix=prefix, older_than=older_than, status=status
        )
    ids = [v["voice_id"] for v in candidates]
    if dry_run or not ids:

        def human() -> None:
            if not ids:
                app_state.console.print("no voice matches")
            for v in candidates:
                app_state.console.print(
                    f"would delete {v['voice_id']}  {v.get('status')}  {v.get('gmt_create')}"
                )

        app_state.emit({"ok": True, "dry_run": dry_run, "would_delete": ids}, human)
        return
    _confirm(app_state, f"Delete {len(ids)} voice(s) on the service?", yes)
    _delete_many(app_state, ids)


def register(app: typer.Typer) -> None:
    """Add the `voices` group to ``app``."""
    app.add_typer(voices_app, name="voices")
