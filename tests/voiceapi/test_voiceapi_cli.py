"""`cosyvoice-clone serve` with the issue-25 options, as a process: --open-discovery,
--default-voice, --voice-model, the start-up warnings, and the access lines on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

KEY = "cli-test-key"  # obviously fake


def test_unknown_voice_model_is_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--emulator", "serve", "--voice-model", "tts-1")
    assert result.exit_code == 2 and "--voice-model" in result.stderr
    assert "cosyvoice-v3.5-plus" in result.stderr and "Traceback" not in result.stderr


def test_open_discovery_warnings_and_access_lines(tmp_path: Path) -> None:
    env = {**os.environ, "COSYVOICE_CLONE_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "cosyvoice_clone", "--emulator", "serve", "--port", "0",
               "--api-key", KEY, "--open-discovery", "--voice-alias", "alloy=nosuchvoice",
               "--default-voice", "nobody"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip().removeprefix("OPENAI_BASE_URL=")
        deadline = time.monotonic() + 20
        while True:
            try:
                models = httpx.get(f"{base}/audio/models", headers={"User-Agent": "owui"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert models.status_code == 200 and models.headers["x-request-id"]
        assert httpx.get(f"{base}/audio/voices").status_code == 200
        speech = httpx.post(f"{base}/audio/speech", json={"model": "tts-1", "voice": "x",
                                                          "input": "secret words"})  # fmt: skip
        assert speech.status_code == 401
        time.sleep(0.3)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert "--voice-alias alloy=nosuchvoice" in stderr and "--default-voice nobody" in stderr
    assert "model and voice lists open (--open-discovery)" in stderr
    lines = [json.loads(line[line.index("{"):]) for line in stderr.splitlines()
             if "cosyvoice_clone.server.access" in line]  # fmt: skip
    seen = {(e["path"], e["status"]) for e in lines}
    assert {("/v1/audio/models", 200), ("/v1/audio/voices", 200), ("/v1/audio/speech", 401)} <= seen
    assert next(e for e in lines if e["path"] == "/v1/audio/models")["user_agent"] == "owui"
    assert KEY not in stderr and "secret words" not in stderr
