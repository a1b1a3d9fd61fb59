"""`clone`: enroll a voice from a local sample or a URL, register it, wait until it is OK."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .common import AppState, state

if TYPE_CHECKING:
    from ..client import CosyVoice
    from ..http import RetryNotice

NOTICE_FIRST_AFTER = 2.0
"""Seconds into a command before the first plain progress notice."""
NOTICE_EVERY = 5.0
"""At most one plain progress notice per this many seconds."""


class PlainNotices:
    """Throttled one-line progress notices on stderr, for logs and CI (no spinner, no colour).

    Nothing is printed during the first ``first_after`` seconds (quick commands stay quiet),
    then at most one line every ``every`` seconds.
    """

    def __init__(self, first_after: float = NOTICE_FIRST_AFTER, every: float = NOTICE_EVERY):
        self.first_after = first_after
        self.every = every
        self._start = time.monotonic()
        self._last: float | None = None
        self._lock = threading.Lock()

    def __call__(self, text: str) -> bool:
        """Print ``text`` unless too early or too soon after the last one; True if printed."""
        now = time.monotonic()
        with self._lock:
            if now - self._start < self.first_after:
                return False
            if self._last is not None and now - self._last < self.every:
                return False
            self._last = now
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        return True


def retry_text(notice: RetryNotice) -> str:
    """``retrying list_voice: HTTP 503 (attempt 3 of 10, next in 1.0 s, 4 s so far)``."""
    reason = notice.reason
    if reason.startswith("http") and reason[4:].isdigit():
        reason = f"HTTP {reason[4:]}"
    return (
        f"retrying {notice.label}: {reason} (attempt {notice.attempt} of "
        f"{notice.max_attempts}, next in {notice.delay:.1f} s, {notice.elapsed:.0f} s so far)"
    )


def _debug_logging() -> None:
    """With ``COSYVOICE_CLONE_DEBUG`` set, log every HTTP attempt on stderr (never the key)."""
    import logging
    import os
    import sys

    if not os.environ.get("COSYVOICE_CLONE_DEBUG"):
        return
    logger = logging.getLogger("cosyvoice_clone")
    if any(getattr(h, "_cosyvoice_cli", False) for h in logger.handlers):
        return

    class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
        _cosyvoice_cli = True

        def emit(self, record: logging.LogRecord) -> None:
            if os.environ.get("COSYVOICE_CLONE_DEBUG"):  # in-process runs may unset it
                self.stream = sys.stderr  # the current stderr, even if it was swapped
                super().emit(record)

    handler = StderrHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def open_client(app_state: AppState) -> CosyVoice:
    """A :class:`~cosyvoice_clone.client.CosyVoice` for this invocation's settings."""
    from ..client import CosyVoice

    _debug_logging()
    client = CosyVoice(settings=app_state.settings())
    if not app_state.json:  # --json: stderr stays for errors only
        notices = PlainNotices()

        def on_retry(notice: RetryNotice) -> None:
            notices(retry_text(notice))

        client.http.on_retry = on_retry
    return client


@contextmanager
def status_spinner(
    app_state: AppState, message: str
) -> Iterator[Callable[[str, str | None, float], None]]:
    """A spinner on stderr on a terminal; plain throttled notices when stderr is not a terminal
    (``waiting for voice X: DEPLOYING (12 s)``); nothing under --json. Yields a status callback."""
    if app_state.json:
        yield lambda voice_id, status, elapsed: None
        return
    if not app_state.progress_enabled():
        notices = PlainNotices()

        def notice(voice_id: str, status: str | None, elapsed: float) -> None:
            notices(f"waiting for voice {voice_id}: {status or 'no status yet'} ({elapsed:.0f} s)")

        yield notice
        return
    with app_state.err_console.status(message) as spinner:

        def update(voice_id: str, status: str | None, elapsed: float) -> None:
            spinner.update(f"{message} — {status or '…'} after {elapsed:.0f} s")

        yield update


def clone(
    ctx: typer.Context,
    prefix: str = typer.Option(
        ..., "--prefix", help="Voice name prefix: 1–10 ASCII letters or digits (lowercase best)."
    ),
    sample: str = typer.Option(
        ...,
        "--sample",
        help="Reference sample: a local WAV/MP3/M4A file (uploaded; cn-beijing) or a public URL.",
    ),
    target_model: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None,
        "--target-model",
        help="Model the voice will speak with (default cosyvoice-v3.5-plus).",
        show_default=False,
    ),
    language_hint: Optional[list[str]] = typer.Option(  # noqa: UP045
        None,
        "--language-hint",
        help="Language of the sample, e.g. zh, en (only the first counts).",
        show_default=False,
    ),
    max_prompt_audio_length: Optional[float] = typer.Option(  # noqa: UP045
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
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait for OK."),
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
    with open_client(app_state) as client:
        with status_spinner(app_state, f"cloning {prefix}") as on_status:
            result = client.clone(
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


__all__ = ["open_client", "register", "status_spinner"]
