"""The embedded emulator behind `--emulator`: persistent state, env overrides, the serve command."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from emulator_helpers import action

from cosyvoice_clone.emulator.backend import DEFAULT_API_KEY
from cosyvoice_clone.emulator.embedded import STATE_FILE, start_embedded, state_file
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import ConfigError


def test_state_persists_across_starts(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    first = start_embedded(home, "cn-beijing", deploy_delay=0.4)
    try:
        assert first.http_base.startswith("http://127.0.0.1:") and first.http_base.endswith(
            "/api/v1"
        )
        assert first.websocket_url == f"ws://127.0.0.1:{first.port}/api-ws/v1/inference"
        assert first.api_key == DEFAULT_API_KEY
        created = action(
            first,
            "create_voice",
            target_model="cosyvoice-v3.5-plus",
            prefix="keep",
            url=first.sample_url(),
        ).json()["output"]["voice_id"]
        status = action(first, "query_voice", voice_id=created).json()["output"]["status"]
        assert status == "DEPLOYING"
    finally:
        first.stop()
    state_file = home / STATE_FILE
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600

    time.sleep(0.45)  # the deploy delay runs out while no emulator is up
    second = start_embedded(home, "cn-beijing")
    try:
        assert second.port != 0
        output = action(second, "query_voice", voice_id=created).json()["output"]
        assert output["status"] == "OK" and output["target_model"] == "cosyvoice-v3.5-plus"
        voice = second.backend.voice(created)
        assert voice is not None and voice.pitch_hz is not None
        action(second, "delete_voice", voice_id=created)
    finally:
        second.stop()
    third = start_embedded(home, "cn-beijing")
    try:
        assert action(third, "list_voice").json()["output"]["voice_list"] == []
    finally:
        third.stop()


def test_two_embedded_emulators_share_one_state_file(tmp_path: Path) -> None:
    a = start_embedded(tmp_path, "cn-beijing", deploy_delay=0)
    b = start_embedded(tmp_path, "cn-beijing", deploy_delay=0)
    try:
        made = [
            action(
                em, "create_voice", target_model="cosyvoice-v2", prefix=f"p{i}", url=a.sample_url()
            ).json()["output"]["voice_id"]
            for i, em in enumerate((a, b, a, b))
        ]
        for em in (a, b):
            listed = action(em, "list_voice", page_size=10).json()["output"]["voice_list"]
            assert sorted(v["voice_id"] for v in listed) == sorted(made)
    finally:
        a.stop()
        b.stop()


def test_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_FAULTS", "http503=1")
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "7.5")
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_RATE_LIMITS", "0")
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_QUOTA", "5")
    running = start_embedded(tmp_path, "ap-southeast-1")
    try:
        config = running.backend.config
        assert (config.deploy_delay, config.rate_limits, config.quota) == (7.5, False, 5)
        assert config.region == "ap-southeast-1"
        assert action(running, "list_voice").status_code == 503
    finally:
        running.stop()

    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_FAULTS", "http999=1")
    with pytest.raises(ConfigError, match="COSYVOICE_CLONE_EMULATOR_FAULTS"):
        start_embedded(tmp_path, "cn-beijing")
    monkeypatch.delenv("COSYVOICE_CLONE_EMULATOR_FAULTS")
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "soon")
    with pytest.raises(ConfigError, match="DEPLOY_DELAY"):
        start_embedded(tmp_path, "cn-beijing")
    with pytest.raises(ConfigError, match="region"):
        start_embedded(tmp_path, "mars-1")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cosyvoice_clone.cli.main", *args]


def _start_serve(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    code = "from cosyvoice_clone.cli.main import run; run()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("export DASHSCOPE_API_KEY") or line.startswith("# ") or line == "}\n":
            break
    return proc, lines


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_serve_prints_urls_and_exports(tmp_path: Path) -> None:
    state = tmp_path / "serve.sqlite3"
    proc, lines = _start_serve(
        "emulator",
        "serve",
        "--port",
        "0",
        "--state",
        str(state),
        "--faults",
        "http500=0",
        "--log-level",
        "warning",
    )
    try:
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert set(exports) == {
            "DASHSCOPE_HTTP_BASE_URL",
            "DASHSCOPE_WEBSOCKET_BASE_URL",
            "DASHSCOPE_API_KEY",
            "DASHSCOPE_REGION",
        }
        assert exports["DASHSCOPE_REGION"] == "cn-beijing"
        # The README says how many export lines there are (issue 17: it said two).
        readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
        words = {2: "two", 3: "three", 4: "four", 5: "five"}
        assert f"`cosyvoice-clone emulator serve` prints {words[len(exports)]}" in readme
        base = exports["DASHSCOPE_HTTP_BASE_URL"]
        assert base.startswith("http://127.0.0.1:") and base.endswith("/api/v1")
        assert exports["DASHSCOPE_WEBSOCKET_BASE_URL"].endswith("/api-ws/v1/inference")
        response = httpx.post(
            base + "/services/audio/tts/customization",
            json={"model": "voice-enrollment", "input": {"action": "list_voice"}},
            headers={"Authorization": f"Bearer {exports['DASHSCOPE_API_KEY']}"},
        )
        assert response.status_code == 200
    finally:
        assert _stop(proc) == 0
    assert state.exists()


def test_serve_json_and_custom_keys() -> None:
    proc, lines = _start_serve(
        "--json",
        "emulator",
        "serve",
        "--port",
        "0",
        "--api-key",
        "team-key-1",
        "--no-default-key",
        "--region",
        "ap-southeast-1",
        "--log-level",
        "critical",
    )
    try:
        summary = json.loads("\n".join(lines))
        assert summary["region"] == "ap-southeast-1" and summary["api_keys"] == 1
        assert summary["default_key"] is False
        assert summary["api_key"] == "team-key-1"  # the key it accepts, not the refused default
        url = summary["http_base"] + "/services/audio/tts/customization"
        body = {"model": "voice-enrollment", "input": {"action": "list_voice"}}
        refused = httpx.post(url, json=body, headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"})
        assert refused.status_code == 401
        accepted = httpx.post(url, json=body, headers={"Authorization": "Bearer team-key-1"})
        assert accepted.status_code == 200
    finally:
        assert _stop(proc) == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--faults", "http503=2"], "invalid --faults"),
        (["--faults", "meteor=0.1"], "unknown fault kind 'meteor'"),
        (["--region", "mars-1"], "invalid --region"),
        (["--no-default-key"], "no API key"),
        (["--port", "70000"], "invalid --port 70000: use 0-65535"),
        (["--port", "-1"], "invalid --port -1: use 0-65535"),
        (["--faults", "http503"], "fault http503 needs a probability: write http503=0.2"),
        (["--faults", "http503=0.1,ws_drop"], "fault ws_drop needs a probability"),
        (["--host", "999.1.1.1"], "--host must be an address of this machine"),
    ],
)
def test_serve_usage_errors_are_one_line_exit_2(args: list[str], needle: str) -> None:
    code = "from cosyvoice_clone.cli.main import run; run()"
    port = [] if "--port" in args else ["--port", "0"]
    result = subprocess.run(
        [sys.executable, "-c", code, "emulator", "serve", *port, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and needle in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = "from cosyvoice_clone.cli.main import run; run()"
        result = subprocess.run(
            [sys.executable, "-c", code, "emulator", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2  # a usage error, as for `serve` (one serving helper)
    assert "cannot listen on 127.0.0.1" in result.stderr and "--port" in result.stderr
    assert "the port is in use" in result.stderr
    assert "--host" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_public_names_and_a_light_plugin() -> None:
    import cosyvoice_clone.emulator as emulator

    assert sorted(emulator.__all__) == [
        "ApiError",
        "Backend",
        "DEFAULT_API_KEY",
        "EmulatorConfig",
        "RunningEmulator",
        "Voice",
        "start_embedded",
        "start_server",
    ]
    for name in emulator.__all__:
        assert getattr(emulator, name) is not None
    assert emulator.DEFAULT_API_KEY == DEFAULT_API_KEY
    code = (
        "import sys, cosyvoice_clone.emulator.pytest_plugin\n"
        "heavy = [m for m in ('starlette', 'uvicorn', 'numpy', 'httpx') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"


def _run_task(running: RunningEmulator, model: str, voice: str) -> str:
    """Send run-task for ``voice`` and return the first event's name."""
    from websockets.sync.client import connect

    task = {
        "header": {"action": "run-task", "task_id": uuid.uuid4().hex, "streaming": "duplex"},
        "payload": {
            "model": model,
            "task_group": "audio",
            "task": "tts",
            "function": "SpeechSynthesizer",
            "input": {},
            "parameters": {"voice": voice, "format": "wav", "sample_rate": 16000},
        },
    }
    headers = {"Authorization": f"Bearer {running.api_key}"}
    with connect(running.websocket_url, additional_headers=headers, open_timeout=10) as ws:
        ws.send(json.dumps(task))
        event = json.loads(ws.recv(timeout=10))
    return str(event["header"]["event"])


def test_regions_have_separate_state(tmp_path: Path) -> None:
    """A voice cloned in one region does not exist in the other (separate deployments)."""
    home = tmp_path / "home"
    beijing = start_embedded(home, "cn-beijing", deploy_delay=0)
    singapore = start_embedded(home, "ap-southeast-1", deploy_delay=0)
    try:
        bj_voice = action(
            beijing,
            "create_voice",
            target_model="cosyvoice-v3.5-plus",
            prefix="bj",
            url=beijing.sample_url(),
        ).json()["output"]["voice_id"]
        sg_voice = action(
            singapore,
            "create_voice",
            target_model="cosyvoice-v2",
            prefix="sg",
            url=singapore.sample_url(),
        ).json()["output"]["voice_id"]
        for running, own, other in ((beijing, bj_voice, sg_voice), (singapore, sg_voice, bj_voice)):
            listed = action(running, "list_voice", page_size=100).json()["output"]["voice_list"]
            assert [v["voice_id"] for v in listed] == [own]
            missing = action(running, "query_voice", voice_id=other)
            assert missing.status_code == 400
            assert missing.json()["code"] == "BadRequest.ResourceNotExist"
        assert _run_task(beijing, "cosyvoice-v3.5-plus", bj_voice) == "task-started"
        assert _run_task(singapore, "cosyvoice-v3.5-plus", bj_voice) == "task-failed"
        assert _run_task(singapore, "cosyvoice-v2", sg_voice) == "task-started"
    finally:
        beijing.stop()
        singapore.stop()
    assert sorted(p.name for p in home.glob("emulator*.sqlite3")) == [
        "emulator-ap-southeast-1.sqlite3",
        STATE_FILE,
    ]
    assert state_file("cn-beijing") == STATE_FILE == "emulator.sqlite3"  # existing homes keep it
    again = start_embedded(home, "ap-southeast-1")
    try:
        listed = action(again, "list_voice").json()["output"]["voice_list"]
        assert [v["voice_id"] for v in listed] == [sg_voice]
    finally:
        again.stop()


def test_refused_websocket_keys_log_no_handshake_noise() -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    proc, lines = _start_serve("emulator", "serve", "--port", "0", "--log-level", "info")
    try:
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        url = exports["DASHSCOPE_WEBSOCKET_BASE_URL"]
        for _ in range(2):
            with pytest.raises(InvalidStatus) as info:
                connect(url, additional_headers={"Authorization": "Bearer wrong"}, open_timeout=10)
            assert info.value.response.status_code == 401
    finally:
        assert _stop(proc) == 0
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    assert '"WebSocket /api-ws/v1/inference" 401' in stderr  # the refusal itself is logged
    assert "without completing handshake" not in stderr
    assert "Traceback" not in stderr


def test_start_server_refuses_a_port_out_of_range() -> None:
    from cosyvoice_clone.emulator.backend import Backend
    from cosyvoice_clone.emulator.server import start_server

    backend = Backend()
    try:
        for port in (70000, -1):
            with pytest.raises(ValueError, match="0-65535"):
                start_server(backend, port=port)
    finally:
        backend.close()
