"""`design`: a voice from a text description (voice design), then used like a clone;
`prepare-design`: the design skill's helper (writes the request body, sends nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .. import catalog
from .common import state
from .interrupt import interrupted_operation, run_interruptible
from .ui import open_client, status_spinner

if TYPE_CHECKING:
    from ..config import Settings
    from ..request import CloneResponse


def design(
    ctx: typer.Context,
    prefix: str = typer.Option(
        ..., "--prefix", help="Voice name prefix: 1–10 ASCII letters or digits (lowercase best)."
    ),
    prompt: str = typer.Option(
        ...,
        "--prompt",
        help="The voice described in Chinese or English, at most 500 characters: timbre, age, "
        "pace, emotion, use.",
    ),
    preview_text: Optional[str] = typer.Option(
        None,
        "--preview-text",
        help="What the preview says (Chinese or English, at most 200 characters).",
        show_default=False,
    ),
    preview_out: Optional[Path] = typer.Option(
        None, "--preview-out", help="Write the preview audio to this file.", show_default=False
    ),
    target_model: Optional[str] = typer.Option(
        None,
        "--target-model",
        help="Model the voice will speak with (default cosyvoice-v3.5-plus).",
        show_default=False,
    ),
    language: Optional[str] = typer.Option(
        None,
        "--language",
        help="zh or en, matching the preview text (default: read from the preview text).",
        show_default=False,
    ),
    sample_rate: Optional[int] = typer.Option(
        None,
        "--sample-rate",
        help=f"Preview sample rate (default {catalog.DEFAULT_DESIGN_SAMPLE_RATE}).",
        show_default=False,
    ),
    response_format: Optional[str] = typer.Option(
        None,
        "--format",
        help="Preview format: wav, mp3, pcm, opus (default: from --preview-out, else wav).",
        show_default=False,
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the voice is OK."),
    timeout: float = typer.Option(
        catalog.DEFAULT_WAIT_TIMEOUT, "--timeout", help="Seconds to wait for OK."
    ),
    force: bool = typer.Option(
        False, "--force", help="Design again even if an identical design exists."
    ),
    mkdir: bool = typer.Option(False, "--mkdir", help="Create a missing folder of --preview-out."),
) -> None:
    """Design a voice from a description, keep its preview, register it, wait until OK.

    The voice is then used like a clone (`speak --voice PREFIX`). An identical earlier design
    (same region, endpoint, model, prefix, prompt, preview) is returned again unless --force.
    Voice design is offered in cn-beijing for cosyvoice-v3.5-plus/-flash and v3-plus/-flash.
    Exit codes as for `clone`. Examples:

    \b
      cosyvoice-clone design --prefix anchor \\
        --prompt "沉稳的中年男性播音员，低沉有磁性，语速平稳" --preview-out anchor.wav
      cosyvoice-clone speak --voice anchor --text "各位听众，晚上好。" --out news.wav
      cosyvoice-clone --emulator --json design --prefix kid --prompt "A cheerful child, fast"
    """
    app_state = state(ctx)
    waiting: list[str] = []  # the voice being waited for, once the service named it
    with open_client(app_state) as client:
        with status_spinner(app_state, f"designing {prefix}") as show_status:

            def on_status(voice_id: str, status: str | None, elapsed: float) -> None:
                waiting[:] = [voice_id]
                show_status(voice_id, status, elapsed)

            result = run_interruptible(
                lambda: client.design(
                    prefix=prefix,
                    prompt=prompt,
                    preview_text=preview_text,
                    target_model=target_model,
                    language=language,
                    sample_rate=sample_rate,
                    response_format=response_format,
                    wait=wait,
                    timeout=timeout,
                    force=force,
                    on_status=on_status,
                    preview_out=preview_out,
                    mkdir=mkdir,
                ),
                lambda signum: interrupted_operation(
                    signum, "design", waiting[0] if waiting else None
                ),
            )
        for warning in result.warnings:
            app_state.warn(warning)
    data = result.to_dict()

    def human() -> None:
        verb = "reused" if result.reused else ("adopted" if result.adopted else "designed")
        console = app_state.console
        console.print(f"{verb} voice {result.voice_id}")
        console.print(f"  target model  {result.target_model}")
        console.print(f"  status        {result.status}")
        console.print(f"  prompt        {result.voice_prompt}")
        if result.request_id:
            console.print(f"  request id    {result.request_id}")
        if result.preview is not None:
            where = preview_out or result.preview_path or "(not kept)"
            console.print(
                f"  preview       {where} ({result.preview_format}, "
                f"{result.preview_sample_rate} Hz, {len(result.preview)} bytes)"
            )
        if result.reused:
            console.print("  (identical design found in the registry; --force makes a new one)")
        console.print(f"  speak with    cosyvoice-clone speak --voice {result.prefix} --text ...")

    app_state.emit(data, human)


def prepare_design(
    ctx: typer.Context,
    target_model: Optional[str] = typer.Option(
        None, "--target-model", help="Target model (default cosyvoice-v3.5-plus)."
    ),
    prefix: Optional[str] = typer.Option(
        None, "--prefix", help="Voice name prefix: 1-10 letters/digits."
    ),
    voice_prompt: Optional[str] = typer.Option(
        None, "--voice-prompt", help="The voice described (zh or en, at most 500 characters)."
    ),
    preview_text: Optional[str] = typer.Option(
        None, "--preview-text", help="What the preview says (zh or en, at most 200 characters)."
    ),
    language_hint: Optional[str] = typer.Option(
        None, "--language-hint", help="zh or en, matching the preview text (default zh)."
    ),
    sample_rate: Optional[int] = typer.Option(
        None,
        "--sample-rate",
        help=f"Preview sample rate (default {catalog.DEFAULT_DESIGN_SAMPLE_RATE}).",
    ),
    response_format: Optional[str] = typer.Option(
        None, "--response-format", help="Preview format (default wav)."
    ),
    output: Optional[Path] = typer.Option(
        None,
        "--output",
        help="Where to write the request JSON (default <design dir>/request.json).",
    ),
    validate_response: Optional[Path] = typer.Option(
        None, "--validate-response", help="Check a service response file for output.voice_id."
    ),
    mkdir: bool = typer.Option(
        False, "--mkdir", help="Create a missing folder of --output (else refused)."
    ),
) -> None:
    """Validate a voice-design request and write the body to POST (the design skill's helper).

    Nothing is sent. Prints {"ok": true, "request_path": ...}; an invalid request prints
    {"ok": false, "error": {...}} and exits 2. Example:

    \b
      cosyvoice-clone prepare-design --prefix announcer \\
        --voice-prompt "沉稳的中年男性播音员，低沉有磁性" --preview-text "各位听众，晚上好。"
    """
    from ..client import design_output_dir, record_design
    from ..request import normalize_design_request
    from .prepare import request_target, run_prepare

    def write(settings: Settings, response: CloneResponse | None) -> tuple[Path, Sequence[str]]:
        request = normalize_design_request(
            prefix=prefix,
            voice_prompt=voice_prompt,
            preview_text=preview_text,
            target_model=target_model,
            language_hints=language_hint or "zh",
            sample_rate=sample_rate,
            response_format=response_format,
            region=settings.region,
        )
        folder = design_output_dir(settings.output_dir)
        path = request_target(output, mkdir) or folder / "request.json"
        record_design(folder, request, response, request_path=path, extra={"source": "prepare"})
        return path, request.warnings

    run_prepare(ctx, validate_response, prefix is not None or bool(voice_prompt), write)


def register(app: typer.Typer) -> None:
    """Add `design` and `prepare-design` to ``app``."""
    app.command("design")(design)
    app.command("prepare-design")(prepare_design)


__all__ = ["register"]
