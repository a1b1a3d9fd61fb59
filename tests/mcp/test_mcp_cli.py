"""The `mcp` command itself: without the SDK, and stdout carrying nothing but the protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env["COSYVOICE_CLONE_OUTPUT_DIR"] = str(tmp_path / "output")
    return env


def test_without_the_mcp_package_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['mcp'] = None\n"  # makes `import mcp` raise ImportError
        "from cosyvoice_clone.cli.main import run\n"
        f"run(['--home', {str(tmp_path / 'home')!r}, 'mcp'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    # From a checkout (the package is not published yet): the command that works here.
    root = Path(__file__).resolve().parents[2]
    assert "mcp" in lines[0] and f"pip install -e '{root}[mcp]'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_help_names_the_tools(cli: Any) -> None:
    result = cli("mcp", "--help")
    assert result.exit_code == 0
    assert "voice_clone" in result.stdout and "--emulator" in result.stdout


@pytest.mark.timeout(60)
def test_stdout_carries_only_json_rpc(tmp_path: Path) -> None:
    """A legacy-handshake client (initialize first), written by hand: every stdout line parses."""
    pytest.importorskip("mcp")
    messages: list[dict[str, Any]] = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "by-hand", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "voice_clone", "arguments": {"prefix": "no way!"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "list_voices", "arguments": {}},
        },
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "--emulator", "--home", str(tmp_path), "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        replies: list[dict[str, Any]] = []
        while {r.get("id") for r in replies} < {1, 2, 3, 4}:
            line = proc.stdout.readline()  # bounded by the test timeout
            assert line, "the server closed stdout early"
            replies.append(json.loads(line))  # every line on stdout is one JSON-RPC message
        proc.stdin.close()  # end of session: the server exits by itself
        proc.wait(timeout=20)
        assert proc.stderr is not None
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, stderr
    assert all(r.get("jsonrpc") == "2.0" for r in replies)
    by_id = {r["id"]: r for r in replies if "id" in r}
    assert by_id[1]["result"]["serverInfo"]["name"] == "cosyvoice-clone"
    assert by_id[1]["result"]["instructions"]
    assert len(by_id[2]["result"]["tools"]) == 9  # the names are pinned in test_mcp_stdio
    bad = by_id[3]["result"]
    assert bad["isError"] is True
    assert bad["structuredContent"]["error"]["code"] == "invalid_request"
    assert by_id[4]["result"]["structuredContent"] == {"voices": [], "count": 0}
    assert "Traceback" not in stderr
