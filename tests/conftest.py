"""Shared fixtures: every test runs with an isolated home, output dir and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

_ENV_VARS = (
    "DASHSCOPE_API_KEY",
    "DASHSCOPE_API_KEY_FILE_PATH",
    "ALIBABA_CLOUD_PROFILE",
    "DASHSCOPE_REGION",
    "DASHSCOPE_API_REGION",
    "DASHSCOPE_HTTP_BASE_URL",
    "DASHSCOPE_WEBSOCKET_BASE_URL",
    "DASHSCOPE_WORKSPACE",
    "DASHSCOPE_WORKSPACE_ID",
    "COSYVOICE_CLONE_HOME",
    "COSYVOICE_CLONE_OUTPUT_DIR",
    "COSYVOICE_CLONE_DEBUG",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME, the tool's home and output dirs at temp dirs; clear DashScope variables."""
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("COSYVOICE_CLONE_HOME", str(tmp_path / "cc-home"))
    monkeypatch.setenv("COSYVOICE_CLONE_OUTPUT_DIR", str(tmp_path / "output"))
    return tmp_path


class CliResult:
    """What one in-process run of the CLI produced."""

    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr

    def json(self) -> object:
        import json

        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``cosyvoice-clone ARGS...`` in-process; returns a :class:`CliResult`."""
    from cosyvoice_clone.cli.main import run

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            run(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return invoke
