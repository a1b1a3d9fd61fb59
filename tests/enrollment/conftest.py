"""Fixtures for the enrollment tests: an in-process CLI runner and a fast embedded emulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from enrollment_helpers import Result


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``cosyvoice-clone ARGS`` in-process; returns exit code, stdout and stderr."""
    from cosyvoice_clone.cli.main import run

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        try:
            run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - run() always exits
            code = 0
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke


@pytest.fixture
def fast_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``--emulator`` voices deploy quickly."""
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "0.2")
