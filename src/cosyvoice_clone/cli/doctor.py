"""`doctor`: show the resolved configuration and whether the endpoints answer."""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import typer

from .common import state

if TYPE_CHECKING:
    from ..config import Settings


def _probe_tcp(url: str, timeout: float) -> dict[str, Any]:
    """Open (and close) a TCP connection to the URL's host and port."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    started = time.perf_counter()
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        return {"reachable": False, "error": exc.strerror or type(exc).__name__}
    return {"reachable": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _probe_key(settings: Settings, timeout: float) -> dict[str, Any]:
    """Ask the service, through the library's ``ping`` (one free request, no retries), whether
    the key works here."""
    from ..client import CosyVoice
    from ..config import redact

    key = settings.api_key.value if settings.api_key is not None else ""
    with CosyVoice(settings=settings, retry=None, timeout=timeout) as client:
        ping = client.ping()
    if ping.accepted:
        return {"accepted": True}
    error = redact(str(ping.error), key)
    if ping.accepted is None:
        return {"accepted": None, "error": error}
    exit_code = ping.error.exit_code if ping.error is not None else 1
    return {"accepted": False, "error": error, "exit_code": exit_code}


def doctor(
    ctx: typer.Context,
    timeout: float = typer.Option(3.0, "--timeout", help="Seconds per reachability probe."),
    offline: bool = typer.Option(False, "--offline", help="Only show the configuration."),
) -> None:
    """Show region, workspace, endpoints, where the API key came from (redacted), reachability.

    Exits 0 when a key is set and the endpoints answer, 3 when no key (or a refused key),
    6 when an endpoint can't be reached. Examples:

    \b
      cosyvoice-clone doctor
      cosyvoice-clone --emulator --json doctor
    """
    from .. import __version__, catalog

    app_state = state(ctx)
    settings = app_state.settings()
    key = settings.api_key
    report: dict[str, Any] = {
        "ok": True,
        "version": __version__,
        "region": settings.region,
        "region_label": catalog.REGIONS[settings.region].label,
        "emulator": app_state.emulator,
        "http_base": settings.http_base,
        "http_base_source": settings.http_base_source,
        "websocket_url": settings.websocket_url,
        "websocket_url_source": settings.websocket_url_source,
        "workspace": settings.workspace,
        "workspace_source": settings.workspace_source,
        "api_key": key.redacted if key else None,
        "api_key_source": key.source if key else None,
        "home": str(settings.home),
        "output_dir": str(settings.output_dir),
        "clone_models": catalog.clone_models_in(settings.region),
        "clone_models_disputed": catalog.disputed_clone_models_in(settings.region),
        "temporary_upload": catalog.REGIONS[settings.region].supports_temporary_upload,
        "problems": [],
    }
    exit_code = 0
    problems: list[str] = report["problems"]
    if key is None:
        problems.append("no API key: set DASHSCOPE_API_KEY (or use --emulator)")
        exit_code = 3
    if not offline:
        report["http"] = _probe_tcp(settings.http_base, timeout)
        report["websocket"] = _probe_tcp(settings.websocket_url, timeout)
        for name in ("http", "websocket"):
            if not report[name]["reachable"]:
                problems.append(f"{name} endpoint unreachable: {report[name]['error']}")
                exit_code = exit_code or 6
        if key is not None and report["http"]["reachable"]:
            report["key_check"] = _probe_key(settings, timeout)
            if report["key_check"]["accepted"] is False:
                problems.append(f"key refused: {report['key_check']['error']}")
                exit_code = exit_code or report["key_check"]["exit_code"]
    report["ok"] = not problems

    def human() -> None:
        from rich.markup import escape
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        table.add_row("region", f"{settings.region} ({report['region_label']})")
        table.add_row(
            "workspace",
            f"{escape(settings.workspace)}  [dim]({escape(settings.workspace_source or '')})[/]"
            if settings.workspace
            else "— [dim](shared host; set DASHSCOPE_WORKSPACE_ID or --workspace)[/]",
        )
        table.add_row(
            "HTTP base",
            f"{escape(settings.http_base)}  [dim]({escape(settings.http_base_source)})[/]",
        )
        table.add_row(
            "WebSocket",
            f"{escape(settings.websocket_url)}  [dim]({escape(settings.websocket_url_source)})[/]",
        )
        table.add_row(
            "API key",
            f"{escape(report['api_key'])}  [dim]({escape(report['api_key_source'])})[/]"
            if key
            else "—",
        )
        table.add_row("home", escape(report["home"]))
        table.add_row("evidence", escape(report["output_dir"]))
        table.add_row("clone models", ", ".join(report["clone_models"]) or "none")
        if report["clone_models_disputed"]:
            table.add_row(
                "disputed here",
                ", ".join(report["clone_models_disputed"]) + "  [dim](sent with a warning)[/]",
            )
        table.add_row("local samples", "uploaded" if report["temporary_upload"] else "no upload")
        for name in ("http", "websocket"):
            if name in report:
                probe = report[name]
                table.add_row(
                    f"{name} reachable",
                    f"[green]yes[/] ({probe['ms']} ms)" if probe["reachable"] else "[red]no[/]",
                )
        if "key_check" in report:
            accepted = report["key_check"]["accepted"]
            table.add_row(
                "key accepted",
                {True: "[green]yes[/]", False: "[red]no[/]", None: "unknown"}[accepted],
            )
        app_state.console.print(table)
        for problem in problems:
            app_state.err_console.print(f"[red]problem:[/] {escape(problem)}", markup=True)

    app_state.emit(report, human)
    if exit_code:
        raise typer.Exit(exit_code)


def register(app: typer.Typer) -> None:
    """Add `doctor` to ``app``."""
    app.command("doctor")(doctor)
