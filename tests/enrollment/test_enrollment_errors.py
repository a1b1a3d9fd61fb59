"""Every documented enrollment error reaches the user as one line with its hint and exit code,
and a distinctive API key never shows up in any output, log or file."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from enrollment_helpers import REFERENCE, Result, derive

from cosyvoice_clone.cli.main import report_error
from cosyvoice_clone.client import CosyVoice
from cosyvoice_clone.errors import API_CODES, CosyVoiceCloneError, NextStep, describe

KEY = "sk-FAKE-DISTINCTIVE-0123456789-abcdefXYZ"


@pytest.fixture
def service(
    cosyvoice_emulator: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Any]:
    """The fixture emulator accepting only KEY; the CLI pointed at it through the env."""
    cosyvoice_emulator.configure(api_keys={KEY}, rate_limits=False)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", cosyvoice_emulator.http_base)
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.setenv("COSYVOICE_CLONE_RETRY_ATTEMPTS", "2")
    caplog.set_level(logging.DEBUG, logger="cosyvoice_clone")
    yield cosyvoice_emulator


def _one_line_error(result: Result) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    # a disputed region rule is announced on its own line before anything is sent
    lines = [line for line in lines if not line.startswith("warning: region rule:")]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.err
    return lines[0]


CASES: list[tuple[str, str, int, str]] = [
    # name, api code in the line, exit code, hint fragment
    ("short", "Audio.AudioShortError", 1, "cosyvoice-clone check"),
    ("silent", "Audio.AudioSilentError", 1, "cosyvoice-clone check"),
    ("8k", "Audio.AudioRateError", 1, "16 kHz"),
    ("corrupt", "Audio.DecoderError", 1, "cosyvoice-clone check"),
]


def test_documented_errors_one_line_hint_exit_code_and_no_key_anywhere(
    service: Any,
    cli: Callable[..., Result],
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outputs: list[Result] = []

    def run(*args: str) -> Result:
        result = cli(*args)
        outputs.append(result)
        return result

    # Audio.* from the service (the local check skipped so the service judges the sample).
    for kind, code, exit_code, hint in CASES:
        sample = derive(isolated_env, f"{kind}.wav", kind)
        result = run("clone", "--prefix", "bad", "--sample", str(sample), "--skip-check")
        line = _one_line_error(result)
        assert result.code == exit_code, line
        assert code in line and hint in line

    # The local check refuses the same sample before anything is spent.
    short = derive(isolated_env, "short2.wav", "short")
    refused = run("clone", "--prefix", "bad", "--sample", str(short))
    line = _one_line_error(refused)
    # Nothing was sent: invalid input, exit 2.
    assert refused.code == 2 and "--skip-check" in line and "--fix" in line
    assert service.backend.voice_count() == 0

    # The sample URL can't be downloaded.
    missing = service.http_base.replace("/api/v1", "/nothing/here.wav")
    result = run("clone", "--prefix", "dl", "--sample", missing, "--no-wait")
    line = _one_line_error(result)
    assert result.code == 1 and "BadRequest.InputDownloadFailed" in line and "public" in line

    # Unknown voice.
    result = run("voices", "show", "cosyvoice-v3.5-plus-nope-0123456789abcdef0123456789abcdef")
    line = _one_line_error(result)
    assert result.code == 1 and "ResourceNotExist" in line and "voices list" in line

    # Quota: the service's limit and our count, each labelled (never two "quotas"), and the
    # hint says how to free slots.
    service.set_quota(2)
    for prefix in ("q1", "q1b"):
        ok = run("--json", "clone", "--prefix", prefix, "--sample", str(REFERENCE), "--no-wait")
        assert ok.code == 0, ok.out
    result = run("clone", "--prefix", "q2", "--sample", str(REFERENCE), "--no-wait")
    line = _one_line_error(result)
    assert result.code == 4
    assert "Throttling.AllocationQuota" in line
    assert "Your current quota is 2" in line
    assert "the service's voice limit for this account is 2" in line
    assert "2 cloned voice(s) exist on this account" in line
    assert "quota 1000" not in line and "1000" not in line
    assert "voices prune" in line
    as_json = run("--json", "clone", "--prefix", "q3", "--sample", str(REFERENCE), "--no-wait")
    assert as_json.code == 4
    error = as_json.json["error"]
    assert as_json.json["ok"] is False
    assert error["api_code"] == "Throttling.AllocationQuota" and error["http_status"] == 400
    assert error["code"] == "quota_exceeded" and "prune" in error["hint"]
    assert error["request_id"]
    service.set_quota(1000)

    # Throttling and server errors after the retries.
    service.set_faults(http429=1.0)
    result = run("voices", "list")
    line = _one_line_error(result)
    assert result.code == 4 and "Throttling.RateQuota" in line and "slow down" in line
    service.set_faults(http503=1.0)
    result = run("voices", "list")
    line = _one_line_error(result)
    assert result.code == 1 and "ServiceUnavailable" in line and "try again later" in line
    result = run("clone", "--prefix", "s5", "--sample", service.sample_url(), "--no-wait")
    line = _one_line_error(result)  # create_voice got 503, and so did the reconciliation
    assert result.code == 1 and "ServiceUnavailable" in line and "voices sync" in line
    service.set_faults()

    # The voice never becomes OK in time / is rejected in review.
    service.set_deploy_delay(30)
    result = run("clone", "--prefix", "slow", "--sample", str(REFERENCE), "--timeout", "0.3")
    line = _one_line_error(result)
    assert result.code == 5 and "DEPLOYING" in line and "voices show" in line
    service.set_deploy_delay(0)
    service.set_faults(review_reject=1.0)
    result = run("clone", "--prefix", "rej", "--sample", str(REFERENCE))
    line = _one_line_error(result)
    assert result.code == 1 and "UNDEPLOYED" in line and "cosyvoice-clone check" in line
    service.set_faults()

    # Bad input: nothing is sent.
    before = service.backend.snapshot()["counters"].copy()
    result = run("clone", "--prefix", "no-dash!", "--sample", str(REFERENCE))
    assert result.code == 2 and "prefix" in _one_line_error(result)
    result = run(  # no temporary upload is documented in us-east-1 (data-uri is the default)
        "--region",
        "us-east-1",
        "clone",
        "--prefix",
        "sg",
        "--target-model",
        "cosyvoice-v2",
        "--sample",
        str(REFERENCE),
        "--sample-transport",
        "upload",
    )
    line = _one_line_error(result)
    assert result.code == 2 and "us-east-1" in line and "https://" in line
    assert service.backend.snapshot()["counters"] == before

    # A key the emulator refuses: exit 3, and no advice about Alibaba's regional hosts.
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY + "wrong")
    result = run("voices", "list")
    line = _one_line_error(result)
    assert result.code == 3 and "InvalidApiKey" in line and "--region" not in line
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)

    # Debug logging shows every attempt, never the key.
    monkeypatch.setenv("COSYVOICE_CLONE_DEBUG", "1")
    result = run("voices", "list")
    assert result.code == 0 and "[list_voice] attempt 1 -> 200" in result.err
    monkeypatch.delenv("COSYVOICE_CLONE_DEBUG")
    package_logger = logging.getLogger("cosyvoice_clone")
    for handler in list(package_logger.handlers):
        if getattr(handler, "_cosyvoice_cli", False):
            package_logger.removeHandler(handler)
    package_logger.setLevel(logging.NOTSET)

    # The key appears nowhere: outputs, logs, files under home and output dirs.
    for result in outputs:
        assert KEY not in result.out and KEY not in result.err
    assert KEY not in caplog.text
    assert any("attempt" in r.getMessage() for r in caplog.records)  # debug logging was on
    scanned = 0
    for root in (isolated_env / "cc-home", isolated_env / "output"):
        for path in root.rglob("*"):
            if path.is_file():
                scanned += 1
                assert KEY.encode() not in path.read_bytes(), path
    assert scanned >= 5


def _mock_client(status: int, body: bytes, content_type: str, tmp: Path) -> CosyVoice:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return CosyVoice(
        api_key=KEY,
        http_base="http://dashscope.test/api/v1",
        home=tmp / "home",
        output_dir=tmp / "out",
        transport=httpx.MockTransport(handler),
        retry=None,
        rate_limit=None,
    )


STATUS_OF = {
    "InvalidApiKey": 401,
    "AccessDenied": 403,
    "AccessDenied.Unpurchased": 403,
    "Model.AccessDenied": 403,
    "Throttling": 429,
    "Throttling.RateQuota": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
}


@pytest.mark.parametrize("api_code", sorted(API_CODES))
def test_every_documented_code_renders_one_line_with_hint(
    api_code: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COSYVOICE_CLONE_RETRY_ATTEMPTS", "1")
    status = STATUS_OF.get(api_code, 400)
    body = json.dumps({"request_id": "rid-1", "code": api_code, "message": f"msg {KEY}"})
    expected_exit = API_CODES[api_code][0].exit_code
    with (
        _mock_client(status, body.encode(), "application/json", tmp_path) as client,
        pytest.raises(CosyVoiceCloneError) as info,
    ):
        client.voices.show("cosyvoice-v2-x-0123456789abcdef0123456789abcdef")
    err = info.value
    assert err.exit_code == expected_exit
    assert err.api_code == api_code and err.request_id == "rid-1"
    assert KEY not in str(err)
    report_error(err, json_mode=False, secrets=(KEY,))
    out, line = capsys.readouterr()
    assert out == "" and line.count("\n") == 1
    hint = describe(NextStep(API_CODES[api_code][1]))
    assert api_code in line and hint.split(";")[0][:30] in line
    assert "rid-1" in line and KEY not in line
    report_error(err, json_mode=True, secrets=(KEY,))
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["error"]["api_code"] == api_code
    assert data["error"]["hint"]


def test_non_json_error_body_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COSYVOICE_CLONE_RETRY_ATTEMPTS", "1")
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    with (
        _mock_client(502, html, "text/html", tmp_path) as client,
        pytest.raises(CosyVoiceCloneError) as info,
    ):
        client.voices.list()
    err = info.value
    assert err.http_status == 502 and err.exit_code == 1
    assert "HTTP 502 from dashscope.test" in str(err) and "Bad Gateway" in str(err)
    assert "\n" not in str(err)
