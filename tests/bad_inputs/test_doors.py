"""Issue 23's door items beyond the sweep's refusals: what ``--mkdir`` / ``mkdir: true`` allow,
the generated MCP tool list, batch's grouped warnings, and SIGTERM during clone and design (real
processes: the signal must reach the CLI's handlers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(str(resources.files("cosyvoice_clone") / "data" / "reference_en.wav"))
PREPARE = ("prepare", "--prefix", "abc", "--voice-sample-url", "https://example.com/v.wav")


def test_mkdir_creates_the_missing_folders_it_was_asked_for(cli: Any, tmp_path: Path) -> None:
    fixed = tmp_path / "f" / "g" / "fixed.wav"
    result = cli("check", str(REFERENCE), "--fix", str(fixed), "--mkdir")
    assert result.exit_code == 0, result.stderr
    assert fixed.read_bytes()[:4] == b"RIFF"
    request = tmp_path / "p" / "q" / "request.json"
    result = cli(*PREPARE, "--output", str(request), "--mkdir")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "request_path": str(request)}
    assert json.loads(request.read_text())["input"]["prefix"] == "abc"
    design = tmp_path / "d" / "request.json"
    result = cli("prepare-design", "--prefix", "abc", "--voice-prompt", "A calm voice",
                 "--output", str(design), "--mkdir")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(design.read_text())["input"]["voice_prompt"] == "A calm voice"


def test_an_output_that_is_not_a_regular_file_is_left_as_it_was(cli: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    before = os.stat(fifo)
    for args in (PREPARE, ("prepare-design", "--prefix", "abc", "--voice-prompt", "Calm")):
        result = cli(*args, "--output", str(fifo))
        assert result.exit_code == 2
        error = json.loads(result.stdout)["error"]
        assert error["field"] == "output" and "FIFO" in error["message"]
    after = os.stat(fifo)
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (
        before.st_ino,
        before.st_mode,
        before.st_mtime_ns,
    )


def test_mcp_help_lists_every_tool_of_the_server_table(cli: Any) -> None:
    from cosyvoice_clone.mcp import TOOLS

    result = cli("mcp", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert f"The {len(TOOLS)} tools: " in text
    for tool in TOOLS:
        assert tool.name in text, tool.name


def test_validate_response_errors_are_objects_under_json_and_the_seed_line_otherwise(
    cli: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "r.json"
    bad.write_text('{"output": {}}')
    plain = cli("prepare", "--validate-response", str(bad))
    assert plain.exit_code == 1
    assert plain.stdout == '{"ok": false, "error": "missing output.voice_id"}\n'
    structured = cli("--json", "prepare", "--validate-response", str(bad))
    assert structured.exit_code == 1
    error = json.loads(structured.stdout)["error"]
    assert error["code"] == "invalid_response" and error["message"] == "missing output.voice_id"


async def test_mcp_synthesize_makes_the_folder_only_with_mkdir_true(
    cosyvoice_emulator_env: Any, tmp_path: Path
) -> None:
    pytest.importorskip("mcp")
    from mcp import Client

    from cosyvoice_clone.config import Settings
    from cosyvoice_clone.mcp import build_server

    out = tmp_path / "new" / "dir" / "x.wav"
    say = {"voice": "longxiaochun_v2", "text": "Hello.", "out": str(out)}
    async with Client(build_server(Settings.resolve())) as client:
        refused = await client.call_tool("synthesize", say)
        assert refused.is_error
        error = refused.structured_content["error"]
        assert error["field"] == "out" and "does not exist" in error["message"]
        assert "mkdir=true" in error["hint"] and "--mkdir" not in error["hint"]  # tool words
        assert not (tmp_path / "new").exists()
        made = await client.call_tool("synthesize", {**say, "mkdir": True})
        assert not made.is_error, made
    assert out.read_bytes()[:4] == b"RIFF"


def test_batch_says_a_repeated_problem_once_with_its_rows(cli: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "m.jsonl"
    rows = [{"id": f"r{i}", "voice": "nosuch", "text": "Hi."} for i in range(40)]
    rows.insert(20, {"id": "x", "voice": "longxiaochun_v2", "text": ""})
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = cli("--emulator", "batch", str(manifest))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"warning: {manifest} lines 1-20, 22-41 (40 rows): unknown voice")
    assert lines[1] == f"warning: {manifest}:21: missing text"


def _registry_names_a_voice(home: Path) -> bool:
    registry = home / "registry.sqlite3"
    data = b"".join(p.read_bytes() for p in home.glob("registry.sqlite3*") if p.is_file())
    return registry.exists() and b"cosyvoice-" in data


WAITING = "interrupted while waiting for voice "


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (("clone", "--prefix", "term", "--sample", str(REFERENCE), "--wait"), f"clone {WAITING}"),
        (("design", "--prefix", "term", "--prompt", "A calm, deep narrator"), f"design {WAITING}"),
        (("demo",), "interrupted by SIGTERM — run the demo again: it reuses its voice"),
    ],
    ids=["clone", "design", "demo"],
)
def test_sigterm_while_waiting_is_one_line_and_exit_143(
    command: tuple[str, ...], said: str
) -> None:
    home = Path(os.environ["COSYVOICE_CLONE_HOME"])
    env = {**os.environ, "COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY": "60", "NO_COLOR": "1"}
    args = [sys.executable, "-m", "cosyvoice_clone", "--emulator", *command]
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if _registry_names_a_voice(home):
                break
            time.sleep(0.1)
        time.sleep(1.0)  # the first status poll names the voice
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=30)[1]
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"error: {said}"), err
    if WAITING in said:
        assert "(stopped by SIGTERM)" in line and "no new slot" in line


def test_check_on_a_broken_mp3_is_one_stderr_line_without_decoder_noise(tmp_path: Path) -> None:
    from tests.bad_inputs.conftest import ID3_GARBAGE

    broken = tmp_path / "id3.mp3"
    broken.write_bytes(ID3_GARBAGE)
    proc = subprocess.run([sys.executable, "-m", "cosyvoice_clone", "check", str(broken)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "not a valid MP3" in proc.stderr


def test_plot_makes_its_folder_only_with_mkdir(cli: Any, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot = tmp_path / "p" / "q" / "plot.png"
    refused = cli("check", str(REFERENCE), "--plot", str(plot))
    assert refused.exit_code == 2 and "--mkdir" in refused.stderr
    assert not (tmp_path / "p").exists()
    made = cli("check", str(REFERENCE), "--plot", str(plot), "--mkdir")
    assert made.exit_code == 0, made.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
