"""`clone`: enroll a voice from a local sample or a URL, register it, wait until it is OK."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import catalog
from .common import state
from .interrupt import interrupted_operation, run_interruptible
from .ui import open_client, status_spinner

SAMPLE_TRANSPORT_HELP = (
    "How a local sample reaches the service: upload (temporary oss:// file; the default where "
    "the region has it) or data-uri (inside the request, Base64; at most 10 MiB; the default "
    "elsewhere)."
)


def clone(
    ctx: typer.Context,
    prefix: str = typer.Option(
        ..., "--prefix", help="Voice name prefix: 1–10 ASCII letters or digits (lowercase best)."
    ),
    sample: str = typer.Option(
        ...,
        "--sample",
        help="Reference sample: a local WAV/MP3/M4A file (see --sample-transport) or a public URL.",
    ),
    transport: Optional[str] = typer.Option(
        None,
        "--sample-transport",
        help=SAMPLE_TRANSPORT_HELP,
        show_default=False,
    ),
    target_model: Optional[str] = typer.Option(
        None,
        "--target-model",
        help="Model the voice will speak with (default cosyvoice-v3.5-plus).",
        show_default=False,
    ),
    language_hint: Optional[list[str]] = typer.Option(
        None,
        "--language-hint",
        help="Language of the sample, e.g. zh, en (only the first counts).",
        show_default=False,
    ),
    max_prompt_audio_length: Optional[float] = typer.Option(
        None,
        "--max-prompt-audio-length",
        help="Seconds of the sample used as prompt, 3–30 (v3.5-plus, v3.5-flash, v3-flash).",
        show_default=False,
    ),
    enable_preprocess: bool = typer.Option(
        False,
        "--enable-preprocess",
        help="Let the service denoise/normalise the sample (v3.5-plus, v3.5-flash, v3-flash).",
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Wait until the voice is OK."),
    timeout: float = typer.Option(
        catalog.DEFAULT_WAIT_TIMEOUT, "--timeout", help="Seconds to wait for OK."
    ),
    force: bool = typer.Option(
        False, "--force", help="Clone even if an identical clone exists (uses a new slot)."
    ),
    skip_check: bool = typer.Option(
        False, "--skip-check", help="Send the sample even if the local check fails it."
    ),
) -> None:
    """Clone a voice: check the sample, upload it, enroll, register, wait until OK.

    An identical earlier clone (same region, endpoint, target model, prefix, sample content or
    URL, and options) is returned instead of spending a slot (`reused: true`), unless --force.
    Evidence files go to the output dir. Exit codes: 2 bad input (nothing sent), 3 key, 4 quota
    or rate limit, 5 the voice never became OK, 6 network. Examples:

    \b
      cosyvoice-clone clone --prefix myvoice --sample sample.wav
      cosyvoice-clone clone --prefix news --sample https://example.com/a.wav --language-hint en
      cosyvoice-clone --emulator --json clone --prefix demo --sample sample.wav --no-wait
    """
    app_state = state(ctx)
    waiting: list[str] = []  # the voice being waited for, once the service named it

    with open_client(app_state) as client:
        with status_spinner(app_state, f"cloning {prefix}") as show_status:

            def on_status(voice_id: str, status: str | None, elapsed: float) -> None:
                waiting[:] = [voice_id]
                show_status(voice_id, status, elapsed)

            result = run_interruptible(
                lambda: client.clone(
                    prefix=prefix,
                    sample=sample,
                    target_model=target_model,
                    language_hints=language_hint or None,
                    max_prompt_audio_length=max_prompt_audio_length,
                    enable_preprocess=True if enable_preprocess else None,
                    wait=wait,
                    timeout=timeout,
                    force=force,
                    skip_check=skip_check,
                    on_status=on_status,
                    sample_transport=transport,
                ),
                lambda signum: interrupted_operation(
                    signum, "clone", waiting[0] if waiting else None
                ),
            )
        for warning in result.warnings:
            app_state.warn(warning)
        data = result.to_dict()

    def human() -> None:
        verb = "reused" if result.reused else ("adopted" if result.adopted else "cloned")
        console = app_state.console
        console.print(f"{verb} voice {result.voice_id}")
        console.print(f"  target model  {result.target_model}")
        console.print(f"  status        {result.status}")
        if result.request_id:
            console.print(f"  request id    {result.request_id}")
        if result.original_request_id:
            console.print(f"  created by    request {result.original_request_id}")
        evidence = result.evidence.get("voice_evidence") or result.evidence.get("evidence")
        if evidence:
            console.print(f"  evidence      {Path(evidence).parent}")
        if result.reused:
            console.print("  (identical clone found in the registry; --force makes a new one)")

    app_state.emit(data, human)


def register(app: typer.Typer) -> None:
    """Add `clone` to ``app``."""
    app.command("clone")(clone)


__all__ = ["register"]
