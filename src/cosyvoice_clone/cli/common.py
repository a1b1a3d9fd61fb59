"""What every command shares: the global options (``AppState``), output, and error rendering.

Commands get the state with ``state(ctx)``; they print results with ``state.emit(data, human)``
so that ``--json`` prints exactly one JSON document on stdout and nothing else there, and raise
errors from :mod:`cosyvoice_clone.errors`, which :func:`cosyvoice_clone.cli.main.run` turns into
one line on stderr (or the JSON error shape) and the documented exit status.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Settings


@dataclass
class AppState:
    """The global options of one invocation, and what is resolved from them on demand."""

    region: str | None = None
    workspace: str | None = None
    emulator: bool = False
    json: bool = False
    home: Path | None = None
    output_dir: Path | None = None
    profile: str | None = None
    api_key: str | None = None
    state_url: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def settings(self) -> Settings:
        """Resolved settings; with ``--emulator`` they point at the embedded emulator."""
        if self._settings is None:
            from ..config import Settings

            settings = Settings.resolve(
                region=self.region,
                workspace=self.workspace,
                api_key=self.api_key,
                profile=self.profile,
                home=self.home,
                output_dir=self.output_dir,
                state_url=self.state_url,
            )
            check_dirs(settings.home, settings.output_dir)
            if self.emulator:
                from ..emulator.embedded import start_embedded

                running = start_embedded(home=settings.home, region=settings.region)
                self._closers.append(running.stop)
                settings = settings.with_endpoints(
                    running.http_base, running.websocket_url, running.api_key
                )
            self._settings = settings
        return self._settings

    def close(self) -> None:
        """Release what the invocation started (the embedded emulator)."""
        while self._closers:
            self._closers.pop()()

    @property
    def console(self) -> Console:
        """Console for human output on stdout."""
        from rich.console import Console

        return Console(highlight=False, soft_wrap=True)

    @property
    def err_console(self) -> Console:
        """Console for progress, warnings and errors on stderr."""
        return stderr_console()

    def emit(self, data: Any, human: Callable[[], None] | None = None) -> None:
        """Print a result: the JSON document under ``--json``, else ``human()`` (or JSON).

        Every JSON object printed carries ``"ok"`` (``true`` unless the command said otherwise).
        """
        if isinstance(data, dict) and "ok" not in data:
            data = {"ok": True, **data}
        if self.json or human is None:
            print_json(data)
        else:
            human()

    def warn(self, message: str) -> None:
        """A warning on stderr (never on stdout, so ``--json`` stays clean), once per run."""
        show_warning(message)

    def progress_enabled(self) -> bool:
        """Whether to draw spinners and progress bars (stderr is a terminal, not ``--json``)."""
        return sys.stderr.isatty()


_shown_warnings: set[str] = set()


def show_warning(message: str) -> None:
    """Print ``warning: MESSAGE`` as one line on stderr, unless this run already showed it."""
    if message in _shown_warnings:
        return
    _shown_warnings.add(message)
    stderr_console().print(f"warning: {message}", markup=False, soft_wrap=True)


def reset_warnings() -> None:
    """Forget the warnings shown (at the start of each run)."""
    _shown_warnings.clear()


def _usable_dir(path: Path, what: str, create: bool) -> None:
    from ..errors import ConfigError

    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{what} {path} is not a directory", hint=f"pass another {what}")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{what} {path} is not writable", hint=f"pass another {what}")
        return
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create {what} {path}: {exc.strerror or exc}", hint=f"pass another {what}"
            ) from None
        return
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    try:  # probe: can a directory be made there? (root passes os.access even on /proc)
        probe = tempfile.mkdtemp(prefix=".cosyvoice-clone-probe-", dir=ancestor)
    except OSError as exc:
        raise ConfigError(
            f"cannot create {what} {path}: {exc.strerror or exc} in {ancestor}",
            hint=f"pass another {what}",
        ) from None
    os.rmdir(probe)


def check_dirs(home: Path, output_dir: Path) -> None:
    """Refuse unusable dirs before anything is sent: home is created, output dir only probed."""
    _usable_dir(home, "--home", create=True)
    _usable_dir(output_dir, "--output-dir", create=False)


def state(ctx: typer.Context) -> AppState:
    """The :class:`AppState` of this invocation."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()
