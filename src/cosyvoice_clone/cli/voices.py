"""`voices list/show/update/delete/sync/prune`: manage voices on the service and in the registry."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Optional

import typer

from .. import catalog
from .clone import SAMPLE_TRANSPORT_HELP
from .common import AppState, state
from .interrupt import interrupted_operation, run_interruptible
from .ui import open_client, status_spinner

if TYPE_CHECKING:
    from ..client import CosyVoice

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


def _confirm(app_state: AppState, ids: list[str], yes: bool) -> None:
    """Proceed with --yes, or after a 'y' on a terminal; refuse (exit 2) without a TTY.

    The question names every voice that would be deleted."""
    if yes:
        return
    from ..errors import InvalidRequestError

    listed = ", ".join(ids)
    if not sys.stdin.isatty():
        raise InvalidRequestError(
            f"deleting {len(ids)} voice(s) on the service ({listed}) needs a confirmation "
            "but there is no terminal",
            field="yes",
            hint="pass --yes to confirm",
        )
    for voice_id in ids:
        app_state.err_console.print(f"  {voice_id}", markup=False)
    what = "this voice" if len(ids) == 1 else f"these {len(ids)} voices"
    question = f"Delete {what} on the service?"
    if not typer.confirm(question, default=False, err=True):
        app_state.err_console.print("nothing deleted", markup=False)
        raise typer.Exit(1)


SERVICE_ZONE = "+08:00"
"""The service's ``gmt_*`` times carry no zone; they are Beijing time (inferred)."""


def _when(key: str, value: Any) -> str:
    """A value for display; every timestamp in one zone, the service's: ``gmt_*`` (Beijing
    time already) and ours (``*_at``, ISO in UTC, converted) as ``YYYY-MM-DD HH:MM:SS +08:00``."""
    from datetime import datetime, timedelta, timezone

    text = str(value)
    if key.startswith("gmt_"):
        return f"{text} {SERVICE_ZONE}"
    if key.endswith("_at"):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is not None:
            beijing = moment.astimezone(timezone(timedelta(hours=8)))
            return beijing.strftime("%Y-%m-%d %H:%M:%S ") + SERVICE_ZONE
    return text


def _status_style(status: str | None) -> str:
    from ..catalog import VoiceStatus

    styles = {
        VoiceStatus.OK: "green",
        VoiceStatus.DEPLOYING: "yellow",
        VoiceStatus.UNDEPLOYED: "red",
    }
    return next((style for known, style in styles.items() if known == status), "dim")


LIST_CREATED = f"created ({SERVICE_ZONE})"


@voices_app.command("list")
def list_voices(
    ctx: typer.Context,
    prefix: Optional[str] = typer.Option(
        None, "--prefix", help="Only voices with this prefix.", show_default=False
    ),
    system: bool = typer.Option(
        False,
        "--system",
        help="List the service's system (preset) voices instead: they speak "
        "without cloning (`speak --voice NAME`, no --model needed). Nothing is sent.",
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        help="With --system: only the voices this synthesis model speaks.",
        show_default=False,
    ),
) -> None:
    """List every voice on the service (all pages), with what the registry knows.

    Examples:

    \b
      cosyvoice-clone voices list
      cosyvoice-clone --json voices list --prefix myvoice
      cosyvoice-clone voices list --system --model cosyvoice-v2
    """
    app_state = state(ctx)
    if system or model is not None:
        _list_system(app_state, system, prefix, model)
        return
    with open_client(app_state) as client:
        voices = client.voices.list(prefix)

    def human() -> None:
        console = app_state.console
        if not voices:
            console.print("no voices" + (f" with prefix {prefix!r}" if prefix else ""))
            return
        rows = []
        for v in voices:
            sample = v.sample_source or v.sample_url or ""
            source = sample.rsplit("/", 1)[-1] if sample else ""
            if v.designed:  # designed from a description: show it instead of a sample
                source = "designed" + (f": {v.voice_prompt}" if v.voice_prompt else "")
            rows.append(
                (
                    v.voice_id,
                    v.status.value if v.status else "?",
                    v.target_model or "?",
                    v.gmt_create or "",
                    source + ("" if v.registered else " (not cloned here)"),
                )
            )
        if not console.is_terminal:  # pipes get one plain line per voice, never wrapped
            print("\t".join(("voice_id", "status", "target_model", LIST_CREATED, "sample")))
            for row in rows:
                print("\t".join(row))
            return
        # One line per voice (ids are ~60 characters: a table would squeeze every other column).
        id_width = max(len(row[0]) for row in rows)
        console.print(f"[bold]{'voice id':<{id_width}}  {'status':<10}  {LIST_CREATED:<19}  sample")
        for voice_id, status, _model, created, sample in rows:
            console.print(
                f"{voice_id:<{id_width}}  [{_status_style(status)}]{status:<10}[/]  "
                f"{created:<19}  {sample}",
                overflow="ellipsis",
                no_wrap=True,
                crop=True,
            )
        console.print(f"{len(voices)} voice(s)")

    items = [v.to_dict() for v in voices]
    app_state.emit({"ok": True, "count": len(items), "voices": items}, human)


def _list_system(app_state: AppState, system: bool, prefix: str | None, model: str | None) -> None:
    """`voices list --system [--model M]`: the catalog's system voices."""
    from ..errors import InvalidRequestError

    if not system:
        raise InvalidRequestError(
            "--model applies to --system only", field="model",
            hint="`voices list --system --model MODEL` lists the system voices of a model",
        )  # fmt: skip
    if prefix is not None:
        raise InvalidRequestError("--prefix applies to cloned voices, not --system", field="prefix")
    voices = catalog.system_voices(model)

    def human() -> None:
        console = app_state.console
        if not voices:
            console.print(f"no system voices known for {model}")
            return
        rows = [
            (v.name, ", ".join(v.models), ", ".join(v.languages), v.gender or "",
             f"{v.label} {v.style or ''}".strip())
            for v in voices
        ]  # fmt: skip
        if not console.is_terminal:
            print("\t".join(("name", "models", "languages", "gender", "description")))
            for row in rows:
                print("\t".join(row))
            return
        width = max(len(r[0]) for r in rows)
        models_width = max(len(r[1]) for r in rows)
        for name, models, languages, gender, description in rows:
            console.print(
                f"{name:<{width}}  {models:<{models_width}}  {languages:<6}  {gender:<6}  "
                f"{description}",
                markup=False, overflow="ellipsis", no_wrap=True, crop=True,
            )  # fmt: skip
        console.print(
            f"{len(voices)} system voice(s); the first model of each is used without --model"
        )

    items = [v.to_dict() for v in voices]
    app_state.emit({"ok": True, "count": len(items), "voices": items}, human)


@voices_app.command("show")
def show(
    ctx: typer.Context,
    voice_id: str = typer.Argument(..., help="The voice id, or a registered prefix."),
) -> None:
    """Show one voice: status, target model, timestamps, sample and registry details.

    A prefix you cloned with here names its voice when only one voice has it. Service times
    and the registry's are all shown in Beijing time (+08:00), the service's zone. Examples:

    \b
      cosyvoice-clone voices show cosyvoice-v3.5-plus-myvoice-0123456789abcdef0123456789abcdef
      cosyvoice-clone voices show myvoice
    """
    app_state = state(ctx)
    with open_client(app_state) as client:
        voice = client.voices.show(voice_id).to_dict()

    def human() -> None:
        rows = [
            (key, _when(key, value))
            for key, value in voice.items()
            if value is not None and value != [] and key != "deleted"
        ]
        console = app_state.console
        if not console.is_terminal:  # pipes and files get every value whole, never cut
            width = max(len(key) for key, _ in rows)
            for key, value in rows:
                print(f"{key:<{width}}  {value}")
            return
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")  # long URLs wrap; nothing is replaced by "…"
        for key, value in rows:
            table.add_row(key, value)
        console.print(table)

    app_state.emit({"ok": True, **voice}, human)


@voices_app.command("update")
def update(
    ctx: typer.Context,
    voice_id: str = typer.Argument(..., help="The voice id, or a registered prefix."),
    sample: str = typer.Option(..., "--sample", help="New sample: a local file or a URL."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the voice is OK again."),
    timeout: float = typer.Option(
        catalog.DEFAULT_WAIT_TIMEOUT, "--timeout", help="Seconds to wait for OK."
    ),
    skip_check: bool = typer.Option(
        False, "--skip-check", help="Send the sample even if the local check fails it."
    ),
    transport: Optional[str] = typer.Option(
        None,
        "--sample-transport",
        help=SAMPLE_TRANSPORT_HELP,
        show_default=False,
    ),
) -> None:
    """Give a voice a new reference sample (the voice id stays the same).

    Example:

    \b
      cosyvoice-clone voices update cosyvoice-v3.5-plus-myvoice-0123... --sample better.wav
    """
    app_state = state(ctx)
    with (
        open_client(app_state) as client,
        status_spinner(app_state, f"updating {voice_id}") as on_status,
    ):
        updated = run_interruptible(
            lambda: client.voices.update(
                voice_id, sample, skip_check=skip_check, wait=wait, timeout=timeout,
                on_status=on_status, sample_transport=transport,
            ),
            lambda signum: interrupted_operation(signum, "voices update", voice_id),
        )  # fmt: skip
    for warning in updated.warnings:
        app_state.warn(warning)

    def human() -> None:
        app_state.console.print(f"updated voice {updated.voice_id}: status {updated.status}")

    app_state.emit({"ok": True, **updated.to_dict()}, human)


def _delete_many(app_state: AppState, client: CosyVoice, ids: list[str]) -> None:
    report = client.voices.delete_many(ids)
    if app_state.json:
        app_state.emit({"ok": report.ok, **report.to_dict()})
    else:
        for voice_id in report.deleted:
            app_state.console.print(f"deleted {voice_id}")
        for _, err in report.failed:
            app_state.err_console.print(f"error: {err}", markup=False)
        if len(ids) > 1:
            app_state.console.print(f"{len(report.deleted)} deleted, {len(report.failed)} failed")
    if report.failed:
        raise typer.Exit(report.failed[0][1].exit_code)


@voices_app.command("delete")
def delete(
    ctx: typer.Context,
    voice_ids: list[str] = typer.Argument(
        ..., help="One or more voice ids (or registered prefixes)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
) -> None:
    """Delete voices on the service (frees their slots); the registry keeps them as deleted.

    Lists the voices and asks for confirmation unless --yes (without a terminal, --yes is
    required). A registered prefix names its one voice. Examples:

    \b
      cosyvoice-clone voices delete cosyvoice-v3.5-plus-myvoice-0123...
      cosyvoice-clone --json voices delete ID1 ID2 --yes
    """
    app_state = state(ctx)
    with open_client(app_state) as client:
        ids = list(dict.fromkeys(client.voices.lookup(name) for name in voice_ids))
        _confirm(app_state, ids, yes)
        _delete_many(app_state, client, ids)


@voices_app.command("sync")
def sync(ctx: typer.Context) -> None:
    """Reconcile the registry with the service: add voices it didn't know, mark deleted ones.

    Example:

    \b
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
    prefix: Optional[str] = typer.Option(
        None, "--prefix", help="Only voices with this prefix.", show_default=False
    ),
    older_than: Optional[str] = typer.Option(
        None,
        "--older-than",
        help="Only voices created longer ago than this: 30d, 12h, 2w ...",
        show_default=False,
    ),
    status: Optional[str] = typer.Option(
        None, "--status", help="Only voices in this status (e.g. UNDEPLOYED).", show_default=False
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go; delete nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
) -> None:
    """Delete the voices that match every filter given (at least one is required).

    Examples:

    \b
      cosyvoice-clone voices prune --older-than 30d --dry-run
      cosyvoice-clone voices prune --status UNDEPLOYED --yes
      cosyvoice-clone voices prune --prefix test --older-than 1d --yes
    """
    from ..client import parse_age

    app_state = state(ctx)
    parse_age(older_than)  # a bad age is refused before anything starts
    with open_client(app_state) as client:
        candidates = client.voices.prune_candidates(
            prefix=prefix, older_than=older_than, status=status
        )
        ids = [v.voice_id for v in candidates]
        if dry_run or not ids:

            def human() -> None:
                if not ids:
                    app_state.console.print("no voice matches")
                for v in candidates:
                    app_state.console.print(
                        f"would delete {v.voice_id}  {v.status}  "
                        + (_when("gmt_create", v.gmt_create) if v.gmt_create else "")
                    )

            app_state.emit({"ok": True, "dry_run": dry_run, "would_delete": ids}, human)
            return
        _confirm(app_state, ids, yes)
        _delete_many(app_state, client, ids)


def register(app: typer.Typer) -> None:
    """Add the `voices` group to ``app``."""
    app.add_typer(voices_app, name="voices")
