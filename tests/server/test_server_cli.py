"""`cosyvoice-clone serve`: refusals before anything is bound, and the printed base URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_non_loopback_bind_needs_an_api_key(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--emulator", "serve", "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert "--api-key" in result.stderr and "Traceback" not in result.stderr


def test_bad_voice_alias_is_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--emulator", "serve", "--voice-alias", "alloy")
    assert result.exit_code == 2
    assert "NAME=VOICE" in result.stderr


def test_serve_prints_the_base_url_and_answers(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "COSYVOICE_CLONE_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "--emulator", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == f"OPENAI_BASE_URL=http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 20
        while True:
            try:
                models = httpx.get(f"http://127.0.0.1:{port}/v1/models").json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert any(m["id"] == "tts-1" for m in models["data"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_port_zero_prints_the_real_port_and_a_busy_port_is_one_line(tmp_path: Path) -> None:
    import socket

    env = {**os.environ, "COSYVOICE_CLONE_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "--emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        base = line.removeprefix("OPENAI_BASE_URL=")
        assert base.startswith("http://127.0.0.1:") and not base.startswith("http://127.0.0.1:0/")
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(f"{base}/models").status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [sys.executable, "-m", "cosyvoice_clone", "--emulator", "serve", "--port", str(port)],
            capture_output=True, text=True, env=env, timeout=30,
        )  # fmt: skip
    assert busy.returncode == 2 and busy.stdout == ""
    assert busy.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use"
    ] or (busy.stderr.count("\n") <= 2 and "the port is in use" in busy.stderr)
