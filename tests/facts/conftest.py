"""Fixtures of the issue-28 tests: the CLI in-process and the speech server over the emulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.facts.facts_helpers import Run
from tests.server.server_helpers import home, make_server  # noqa: F401


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``cosyvoice-clone ARGS`` in-process."""
    from cosyvoice_clone.cli.main import run

    def invoke(*args: str) -> Run:
        capsys.readouterr()
        try:
            run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - run() always exits
            code = 0
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return invoke
