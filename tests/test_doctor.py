"""`doctor`: resolved configuration, key source (redacted), reachability and exit codes."""

from __future__ import annotations

import json
import socket

KEY = "sk-doctor-test-key-0001"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_report_shows_the_key_source_redacted(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    result = cli("--json", "doctor", "--offline")
    assert result.exit_code == 0
    report = result.json()
    assert report["ok"] is True
    assert report["api_key_source"] == "env DASHSCOPE_API_KEY"
    assert report["api_key"] == "sk-…0001"
    assert report["region"] == "cn-beijing"
    assert report["http_base"] == "https://dashscope.aliyuncs.com/api/v1"
    assert KEY not in result.stdout + result.stderr


def test_no_key_exits_3(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--json", "--region", "ap-southeast-1", "doctor", "--offline")
    assert result.exit_code == 3
    report = result.json()
    assert report["ok"] is False
    assert report["http_base"].startswith("https://dashscope-intl.")
    assert any("no API key" in p for p in report["problems"])


def test_unreachable_endpoints_exit_6(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", f"http://127.0.0.1:{port}/api/v1")
    monkeypatch.setenv("DASHSCOPE_WEBSOCKET_BASE_URL", f"ws://127.0.0.1:{port}/api-ws/v1/inference")
    result = cli("doctor", "--timeout", "1")
    assert result.exit_code == 6
    assert "unreachable" in result.stderr
    assert KEY not in result.stdout + result.stderr


def test_unknown_region_is_one_line_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--region", "mars-1", "doctor", "--offline")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: unknown region 'mars-1' — use one of: cn-beijing, ap-southeast-1, "
        "us-east-1, cn-hongkong, eu-central-1, ap-northeast-1"
    ]
    result = cli("--json", "--region", "mars-1", "doctor")
    assert json.loads(result.stdout)["error"]["code"] == "config"


def test_workspace_and_its_hosts_are_shown(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.setenv("DASHSCOPE_WORKSPACE_ID", "llm-ws42")
    result = cli("--json", "--region", "ap-southeast-1", "doctor", "--offline")
    assert result.exit_code == 0
    report = result.json()
    assert (report["workspace"], report["workspace_source"]) == (
        "llm-ws42",
        "env DASHSCOPE_WORKSPACE_ID",
    )
    assert report["http_base"] == "https://llm-ws42.ap-southeast-1.maas.aliyuncs.com/api/v1"
    assert report["websocket_url"] == (
        "wss://llm-ws42.ap-southeast-1.maas.aliyuncs.com/api-ws/v1/inference"
    )
    assert report["clone_models_disputed"] == [
        "cosyvoice-v3-plus",
        "cosyvoice-v3-flash",
        "cosyvoice-v2",
        "cosyvoice-v1",
        "qwen-audio-3.0-tts-flash",
        "qwen-audio-3.0-tts-plus",
    ]
    assert report["temporary_upload"] is True
    # the global option wins over the environment; the text report names both
    result = cli("--workspace", "ws7", "--region", "us-east-1", "doctor", "--offline")
    assert result.exit_code == 0
    assert "ws7" in result.stdout and "ws7.us-east-1.maas.aliyuncs.com" in result.stdout
    # no workspace: the classic host stays
    monkeypatch.delenv("DASHSCOPE_WORKSPACE_ID")
    report = cli("--json", "doctor", "--offline").json()
    assert report["workspace"] is None
    assert report["http_base"] == "https://dashscope.aliyuncs.com/api/v1"


def test_the_key_check_is_one_free_request_accepted_or_refused(  # type: ignore[no-untyped-def]
    cli, cosyvoice_emulator_env, monkeypatch
) -> None:
    backend = cosyvoice_emulator_env.backend
    report = cli("--json", "doctor").json()
    assert report["ok"] is True and report["key_check"] == {"accepted": True}
    sent = backend.recorded("enrollment").get("enrollment", [])
    assert [r["body"]["input"]["action"] for r in sent] == ["list_voice"]

    wrong = "sk-wrong-doctor-key-0002"
    monkeypatch.setenv("DASHSCOPE_API_KEY", wrong)
    result = cli("--json", "doctor", "--timeout", "2")
    assert result.exit_code == 3
    check = result.json()["key_check"]
    assert check["accepted"] is False and check["exit_code"] == 3
    assert "InvalidApiKey" in check["error"] and wrong not in result.stdout + result.stderr
    assert any(p.startswith("key refused: ") for p in result.json()["problems"])
