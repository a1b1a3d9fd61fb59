"""Entry point of `cosyvoice-clone`: global options, command registration, error rendering.

Each command group lives in its own module with a ``register(app)`` function; heavy imports
(httpx, numpy, the emulator) happen inside the commands so that ``--help`` starts fast.
Set ``COSYVOICE_CLONE_DEBUG=1`` to see tracebacks of expected failures.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .. import __version__
from ..errors import CosyVoiceCloneError
from .common import AppState, print_json, reset_warnings, show_warning, state, stderr_console

COMMAND_MODULES = (
    "prepare",
    "check",
    "clone",
    "design",
    "voices",
    "speak",
    "batch",
    "emulator",
    "demo",
    "doctor",
    "mcp_cmd",
    "serve",
    "wyoming",
)

app = typer.Typer(
    name="cosyvoice-clone",
    help=(
        "Clone voices with Alibaba Cloud CosyVoice and speak with them.\n\n"
        "Examples:\n\n"
        "  cosyvoice-clone --emulator demo\n\n"
        "  cosyvoice-clone check sample.wav\n\n"
        "  cosyvoice-clone clone --prefix myvoice --sample sample.wav --wait\n\n"
        "  cosyvoice-clone speak --voice myvoice --text 'Hello' --out hello.wav"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


_json_requested = False  # set by run(): eager options run before --json is parsed


def _version(value: bool) -> None:
    if value:
        if _json_requested:
            print_json({"ok": True, "version": __version__})
        else:
            print(f"cosyvoice-clone {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    region: Optional[str] = typer.Option(
        None,
        "--region",
        help=(
            "cn-beijing, ap-southeast-1, us-east-1, cn-hongkong, eu-central-1 or ap-northeast-1 "
            "(env DASHSCOPE_REGION; default cn-beijing)."
        ),
        show_default=False,
    ),
    workspace: Optional[str] = typer.Option(
        None,
        "--workspace",
        help=(
            "Model Studio workspace id: use its host {id}.{region}.maas.aliyuncs.com "
            "(env DASHSCOPE_WORKSPACE_ID)."
        ),
        show_default=False,
    ),
    emulator: bool = typer.Option(
        False, "--emulator", help="Run against the embedded offline emulator (state in --home)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Machine-readable output on stdout, nothing else there."
    ),
    home: Optional[Path] = typer.Option(
        None,
        "--home",
        help="Registry and emulator state dir (env COSYVOICE_CLONE_HOME).",
        show_default=False,
    ),
    output_dir: Optional[Path] = typer.Option(
        None,
        "--output-dir",
        help="Evidence dir (default output/alicloud-ai-audio-cosyvoice-voice-clone).",
        show_default=False,
    ),
    profile: Optional[str] = typer.Option(
        None,
        "--profile",
        help="Profile in ~/.alibabacloud/credentials (env ALIBABA_CLOUD_PROFILE).",
        show_default=False,
    ),
    state_url: Optional[str] = typer.Option(
        None,
        "--state-url",
        help=(
            "Share pacing, clone claims and the voice index with other replicas through Redis: "
            "redis://HOST:6379/0 or rediss://... (env COSYVOICE_CLONE_STATE_URL; password in "
            "the URL or env REDIS_PASSWORD)."
        ),
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Clone voices with Alibaba Cloud CosyVoice and speak with them."""
    app_state = AppState(
        region=region,
        workspace=workspace,
        emulator=emulator,
        json=json_output,
        home=home,
        output_dir=output_dir,
        profile=profile,
        state_url=state_url,
    )
    ctx.obj = app_state
    ctx.call_on_close(app_state.close)


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.{_name}").register(app)


def report_error(err: CosyVoiceCloneError, json_mode: bool, secrets: tuple[str, ...] = ()) -> None:
    """Render an expected failure: the JSON error shape on stdout, or one line on stderr."""
    from ..config import redact

    if json_mode:
        data = err.to_dict()
        data = {k: redact(v, *secrets) if isinstance(v, str) else v for k, v in data.items()}
        print_json({"ok": False, "error": data})
    stderr_console().print(f"error: {redact(str(err), *secrets)}", markup=False)


def _library_warning(
    message: Warning | str, category: type[Warning], *_args: object, **_kwargs: object
) -> None:
    show_warning(str(message))


def run(argv: list[str] | None = None) -> None:
    """Console-script entry: run the app, map errors to one line and an exit status.

    Warnings the library emits (e.g. a disputed region rule) are shown as one line each.
    """
    import warnings

    from ..request import NoticeWarning

    reset_warnings()
    with warnings.catch_warnings():
        warnings.filterwarnings("default", category=NoticeWarning)
        warnings.showwarning = _library_warning
        _run(argv)


def _run(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else argv
    json_mode = "--json" in args
    global _json_requested
    _json_requested = json_mode
    debug = bool(os.environ.get("COSYVOICE_CLONE_DEBUG"))
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="cosyvoice-clone", standalone_mode=False)
    except CosyVoiceCloneError as err:
        if debug:  # the traceback, but still the documented exit status
            import traceback

            from ..config import redact

            sys.stderr.write(redact(traceback.format_exc(), *_secrets(args)))
        report_error(err, json_mode, _secrets(args))
        sys.exit(err.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        stderr_console().print("aborted", markup=False)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors (typer's vendored click exceptions)
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        if json_mode:
            print_json(
                {
                    "ok": False,
                    "error": {
                        "code": "usage",
                        "message": message,
                        "hint": "see --help",
                        "http_status": None,
                        "api_code": None,
                        "request_id": None,
                    },
                }
            )
        else:
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                stderr_console().print(f"error: {message}", markup=False)
        sys.exit(getattr(exc, "exit_code", 2) or 2)
    except KeyboardInterrupt:
        stderr_console().print("interrupted", markup=False)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _secrets(args: list[str]) -> tuple[str, ...]:
    """What ``redact`` hides everywhere: the API key and the shared state's password."""
    from ..config import ENV_REDIS_PASSWORD, ENV_STATE_URL, url_password

    url = next((a.partition("=")[2] for a in args if a.startswith("--state-url=")), None)
    if url is None and "--state-url" in args[:-1]:
        url = args[args.index("--state-url") + 1]
    found = (
        os.environ.get("DASHSCOPE_API_KEY"),
        os.environ.get(ENV_REDIS_PASSWORD),
        url_password(url),
        url_password(os.environ.get(ENV_STATE_URL)),
    )
    return tuple(s for s in found if s)


__all__ = ["app", "report_error", "run", "state"]
