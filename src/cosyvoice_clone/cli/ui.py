"""What the commands share for talking to a person: notices, spinner, progress bar, the client.

Nothing here decides behaviour: the library does; these only show it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .common import AppState

if TYPE_CHECKING:
    from ..client import CosyVoice, RetryNotice

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
    """``listing voices: HTTP 503, retrying (attempt 3 of 10, next in 1.0 s, 4 s so far)``."""
    reason = notice.reason
    if reason.startswith("http") and reason[4:].isdigit():
        reason = f"HTTP {reason[4:]}"
    reason = {"connect": "cannot connect", "connect-timeout": "connection timed out"}.get(
        reason, reason
    )
    return (
        f"{notice.label}: {reason}, retrying (attempt {notice.attempt} of "
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
    """A :class:`~cosyvoice_clone.client.CosyVoice` for this invocation's settings (retries
    shown as throttled notices, evidence files written)."""
    from ..client import CosyVoice

    _debug_logging()
    on_retry = None
    if not app_state.json:  # --json: stderr stays for errors only
        notices = PlainNotices()

        def on_retry(notice: RetryNotice) -> None:
            notices(retry_text(notice))

    # The CLI keeps the evidence files (request and response) for support; the library only
    # writes them when asked.
    return CosyVoice(settings=app_state.settings(), on_retry=on_retry, evidence=True)


def confirm_cost(app_state: AppState, characters: int | None, yes: bool, what: str) -> None:
    """Cost before work: say ``characters`` (billed) before anything is sent; on a terminal
    (without ``--yes`` or ``--json``) ask, and stop (exit 1) unless the answer is yes."""
    if characters is None:
        return
    note = f"{what} is {characters:,} billed characters (CJK characters count twice)"
    if yes or app_state.json or not sys.stdin.isatty():
        sys.stderr.write(f"note: {note}; starting\n")
        sys.stderr.flush()
        return
    import typer

    if not typer.confirm(f"{note}. Start?", default=False, err=True):
        sys.stderr.write("not started; nothing was sent\n")
        raise typer.Exit(1)


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


@contextmanager
def progress_bar(
    app_state: AppState, description: str, enabled: bool, unit: str = "chars"
) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (``unit`` done, ETA) when on a terminal; else a no-op."""
    if not enabled or app_state.json or not app_state.progress_enabled():
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=app_state.err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


__all__ = [
    "PlainNotices",
    "confirm_cost",
    "open_client",
    "progress_bar",
    "retry_text",
    "status_spinner",
]
