"""The bad-input sweep (issue 23): one parametrized test per door over its table; every case
goes through :func:`tests.bad_inputs.sweep.assert_refused`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tests.bad_inputs.cases_cli import CLI_CASES, JSON_TWINS
from tests.bad_inputs.cases_env import ENV_CASES
from tests.bad_inputs.cases_library import LIBRARY_CASES
from tests.bad_inputs.cases_manifest import MANIFEST_CASES
from tests.bad_inputs.cases_mcp import MCP_CASES
from tests.bad_inputs.sweep import Case, Outcome, cases

from cosyvoice_clone import errors

ALL = {
    "cli": CLI_CASES,
    "cli-json": JSON_TWINS,
    "env": ENV_CASES,
    "manifest": MANIFEST_CASES,
    "mcp": MCP_CASES,
    "library": LIBRARY_CASES,
}


def test_the_sweep_has_at_least_150_cases_over_every_door() -> None:
    counts = {door: len(rows) for door, rows in ALL.items()}
    assert all(counts.values()), counts
    assert sum(counts.values()) >= 150, counts


def _cli_runner(cli: Any) -> Any:
    def run(args: tuple[str, ...]) -> Outcome:
        result = cli(*args)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.mark.parametrize("case", cases("cli", CLI_CASES))
def test_cli_flags_and_files(case: Case, check_case: Any, cli: Any) -> None:
    check_case(case, _cli_runner(cli))


@pytest.mark.parametrize("case", cases("cli-json", JSON_TWINS))
def test_cli_refusals_under_json(case: Case, check_case: Any, cli: Any) -> None:
    check_case(case, _cli_runner(cli))


@pytest.mark.parametrize("case", cases("env", ENV_CASES))
def test_env_and_credentials(case: Case, check_case: Any, cli: Any) -> None:
    check_case(case, _cli_runner(cli))


@pytest.mark.parametrize("case", cases("manifest", MANIFEST_CASES))
def test_manifests(case: Case, check_case: Any, cli: Any) -> None:
    check_case(case, _cli_runner(cli))


@pytest.mark.parametrize("case", cases("mcp", MCP_CASES))
def test_mcp_arguments(case: Case, check_case: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """In-process server and client; file-descriptor capture, so that what C libraries write
    to fd 2 (decoder noise) counts as the server's stderr."""
    pytest.importorskip("mcp")
    from mcp import Client

    from cosyvoice_clone.config import Settings
    from cosyvoice_clone.mcp import build_server

    def run(args: tuple[str, dict[str, Any]]) -> Outcome:
        tool, arguments = args
        capfd.readouterr()

        async def call() -> Any:
            async with Client(build_server(Settings.resolve())) as client:
                return await client.call_tool(tool, arguments)

        try:
            result = asyncio.run(call())
        except Exception as exc:  # an unknown tool is a protocol error (MCPError), not a result
            out, err = capfd.readouterr()
            while len(getattr(exc, "exceptions", ())) == 1:  # an exception group of one
                exc = exc.exceptions[0]  # type: ignore[attr-defined]
            code = "unknown_tool" if "unknown tool" in str(exc) else type(exc).__name__
            return Outcome(code, out, err, [str(exc)])
        out, err = capfd.readouterr()
        dumped = json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
        data = result.structured_content or {}
        if not result.is_error:
            return Outcome("ok", out, err, [dumped])
        code = (data.get("error") or {}).get("code")
        if code is None and "frobnicate" in dumped:
            code = "unknown_tool"
        return Outcome(str(code), out, err, [dumped])

    check_case(case, run)


@pytest.mark.parametrize("case", cases("library", LIBRARY_CASES))
def test_library_calls(case: Case, check_case: Any, capfd: pytest.CaptureFixture[str]) -> None:
    from cosyvoice_clone import AsyncCosyVoice, CosyVoice

    def run(args: tuple[str, dict[str, Any], str, dict[str, Any]]) -> Outcome:
        face, init, method, kwargs = args
        capfd.readouterr()
        try:
            if face == "module":
                import importlib

                module, function = method.rsplit(".", 1)
                target = getattr(importlib.import_module(f"cosyvoice_clone.{module}"), function)
                target(**kwargs)
            elif face == "sync":
                with CosyVoice(**init) as cv:
                    if method:
                        getattr(cv, method)(**kwargs)
            else:

                async def call() -> None:
                    async with AsyncCosyVoice(**init) as cv:
                        if method:
                            await getattr(cv, method)(**kwargs)

                asyncio.run(call())
        except Exception as exc:
            out, err = capfd.readouterr()
            return Outcome(_exception_status(case, exc, init), out, err, exc=exc)
        out, err = capfd.readouterr()
        return Outcome("ok", out, err)

    check_case(case, run)


def _exception_status(case: Case, exc: Exception, init: dict[str, Any]) -> str:
    """The case's expected class when ``exc`` is one of it; a ``TypeError`` naming the wrongly
    typed constructor argument also counts as a clear refusal."""
    wanted = getattr(errors, str(case.expect), None)
    if isinstance(wanted, type) and isinstance(exc, wanted):
        return str(case.expect)
    if isinstance(exc, TypeError) and init and all(name in str(exc) for name in init):
        return str(case.expect)
    return type(exc).__name__
