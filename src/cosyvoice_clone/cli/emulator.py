"""The `emulator` command group: run the offline DashScope on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import state

emulator_app = typer.Typer(
    name="emulator",
    help="The offline DashScope emulator (voice enrollment, speech synthesis, uploads).",
    no_args_is_help=True,
)

DEFAULT_PORT = 8765


@emulator_app.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback default)."),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", help="TCP port (0-65535); 0 picks a free one."
    ),
    region: Optional[str] = typer.Option(
        None,
        "--region",
        help="Region whose clone rules apply: cn-beijing or ap-southeast-1 "
        "(default: the global --region, else cn-beijing).",
        show_default=False,
    ),
    state_path: Optional[Path] = typer.Option(
        None,
        "--state",
        help="Keep voices and uploads in this SQLite file (default: in memory).",
        show_default=False,
    ),
    api_keys: Optional[list[str]] = typer.Option(
        None,
        "--api-key",
        help="Accept this key too (repeatable; Bearer header, or ?api_key= on the WebSocket). "
        "The documented key sk-cosyvoice-emulator is always accepted unless --no-default-key; "
        "with it, the first --api-key is the one printed in the export lines.",
        show_default=False,
    ),
    no_default_key: bool = typer.Option(
        False, "--no-default-key", help="Do not accept the documented default key."
    ),
    deploy_delay: float = typer.Option(
        3.0, "--deploy-delay", min=0.0, help="Seconds a new voice stays DEPLOYING."
    ),
    first_audio_latency: float = typer.Option(
        0.0, "--first-audio-latency", min=0.0, help="Seconds before the first audio frame."
    ),
    rtf: float = typer.Option(
        0.0, "--rtf", min=0.0, help="Produce audio at this real-time factor (0 = at once)."
    ),
    no_rate_limits: bool = typer.Option(
        False,
        "--no-rate-limits",
        help="Lift the service limits (10 enrollment requests/s, 3 synthesis tasks/s per model).",
    ),
    quota: int = typer.Option(1000, "--quota", min=0, help="Voice slots of the account."),
    faults: Optional[str] = typer.Option(
        None,
        "--faults",
        help="Inject faults: kind=probability,... with kinds http500, http503, http429, "
        "drop_after_commit, ws_drop, task_failed, review_reject and probabilities in [0, 1] "
        "(e.g. http503=0.2; http503=1 fails every request).",
        show_default=False,
    ),
    seed: Optional[int] = typer.Option(
        None, "--seed", help="Seed the fault dice for reproducible chaos.", show_default=False
    ),
    network_delay: float = typer.Option(
        0.0,
        "--network-delay",
        min=0.0,
        help="One-way milliseconds between client and emulator on synthesis connections: a "
        "handshake costs 3 round trips (TCP, TLS, upgrade), every message arrives this late.",
    ),
    connection_idle: float = typer.Option(
        60.0,
        "--connection-idle",
        min=0.0,
        help="Seconds a synthesis connection without a task stays open without a message.",
    ),
    log_level: str = typer.Option(
        "info", "--log-level", help="uvicorn log level: critical, error, warning, info, debug."
    ),
) -> None:
    """Serve the emulator in the foreground until Ctrl-C.

    Prints the base URLs and `export` lines that point the official SDK (and this tool) at it,
    with a key it accepts (the documented default key, else the first --api-key).

    Examples:

    \b
      cosyvoice-clone emulator serve
      cosyvoice-clone emulator serve --port 0 --state ./emulator.sqlite3 --deploy-delay 10
      cosyvoice-clone emulator serve --faults http503=0.2,drop_after_commit=0.1 --seed 7
      cosyvoice-clone emulator serve --network-delay 75 --first-audio-latency 0.2

    Knobs can be changed while it runs (loopback only):

    \b
      curl -X POST http://127.0.0.1:8765/_emulator/config -d '{"faults": "http429=0.5"}'
    """
    from ..emulator.backend import DEFAULT_API_KEY, Backend, EmulatorConfig
    from ..emulator.faults import FaultSpecError, parse_faults
    from ..errors import CosyVoiceCloneError, InvalidRequestError

    app_state = state(ctx)
    if not 0 <= port <= 65535:
        raise InvalidRequestError(
            f"invalid --port {port}: use 0-65535 (0 picks a free one)", field="port"
        )
    try:
        fault_map = parse_faults(faults)
    except FaultSpecError as exc:
        raise InvalidRequestError(f"invalid --faults: {exc}", field="faults") from None
    if log_level.lower() not in ("critical", "error", "warning", "info", "debug"):
        raise InvalidRequestError(
            f"invalid --log-level {log_level!r}: use critical, error, warning, info or debug",
            field="log_level",
        )
    ordered = list(api_keys or []) if no_default_key else [DEFAULT_API_KEY, *(api_keys or [])]
    if not ordered:
        raise InvalidRequestError(
            "no API key would be accepted: pass --api-key KEY with --no-default-key",
            field="api_key",
        )
    keys = set(ordered)
    printed_key = ordered[0]  # the export lines give the default key, else the first --api-key
    config = EmulatorConfig(
        deploy_delay=deploy_delay,
        first_audio_latency=first_audio_latency,
        rtf=rtf,
        rate_limits=not no_rate_limits,
        faults=fault_map,
        quota=quota,
        api_keys=keys,
        seed=seed,
        network_delay=network_delay / 1000,
        connection_idle_timeout=connection_idle,
    )
    try:
        config.update({"region": region or app_state.region or "cn-beijing"})
    except ValueError as exc:
        raise InvalidRequestError(f"invalid --region: {exc}", field="region") from None

    from ..emulator.server import RunningEmulator, bind_socket, serve_forever

    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise _bind_error(host, port, exc) from None
    try:
        backend = Backend(config, state_path=state_path)
    except Exception as exc:
        sock.close()
        raise CosyVoiceCloneError(f"cannot open the state file {state_path}: {exc}") from None

    info = RunningEmulator(backend, host, sock.getsockname()[1], api_key=printed_key)
    summary = {
        "ok": True,
        "url": info.base_url,
        "http_base": info.http_base,
        "websocket_url": info.websocket_url,
        "admin_url": info.admin_url,
        "region": config.region,
        "state": str(state_path) if state_path else None,
        "default_key": DEFAULT_API_KEY in keys,
        "api_keys": len(keys),
        "api_key": printed_key,
        "config": config.to_dict(),
    }

    def human() -> None:
        print(f"CosyVoice DashScope emulator ({config.region}) on {info.base_url}")
        print(f"  HTTP base:      {info.http_base}")
        print(f"  WebSocket URL:  {info.websocket_url}")
        print(f"  Admin (local):  {info.admin_url}/config")
        print(f"  State:          {state_path or 'in memory'}")
        from ..server.security import Protection  # security hook (issue 22)

        shown = Protection(speech_server=False).describe().removeprefix("protections: ")
        print(f"  Protections:    {shown}")
        if fault_map:
            from ..emulator.faults import format_faults

            print(f"  Faults:         {format_faults(fault_map)}")
        print()
        print(f"export DASHSCOPE_HTTP_BASE_URL={info.http_base}")
        print(f"export DASHSCOPE_WEBSOCKET_BASE_URL={info.websocket_url}")
        print(f"export DASHSCOPE_REGION={config.region}")
        print(f"export DASHSCOPE_API_KEY={printed_key}")
        print(flush=True)

    app_state.emit(summary, human)
    if host not in ("127.0.0.1", "localhost", "::1"):
        app_state.warn(f"listening on {host}: other machines can reach this emulator")
    try:
        serve_forever(backend, sock, log_level=log_level.lower())
    except KeyboardInterrupt:  # Ctrl-C is the normal way to stop a foreground server
        pass
    finally:
        sock.close()
        backend.close()


def _bind_error(host: str, port: int, exc: OSError) -> Exception:
    """One line for a failed bind: a bad --host is a usage error (exit 2), a busy port is not."""
    import errno
    import socket

    from ..errors import CosyVoiceCloneError, InvalidRequestError

    reason = exc.strerror or str(exc)
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return InvalidRequestError(
            f"cannot listen on {host}:{port}: {reason}",
            field="host",
            hint="--host must be an address of this machine: 127.0.0.1 (the default), ::1, "
            "or 0.0.0.0 for every interface",
        )
    return CosyVoiceCloneError(
        f"cannot listen on {host}:{port}: {reason}",
        hint="pick another --port, or --port 0 for a free one",
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(emulator_app, name="emulator")
