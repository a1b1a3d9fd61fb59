"""`Throttling.AllocationQuota` (every voice slot used) fails at once, whatever its HTTP status.

Our notes had it as 400; other DashScope status tables give 429, which the transport retries for
other codes. Waiting never frees a slot, so neither form is retried.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from cosyvoice_clone.client import CosyVoice
from cosyvoice_clone.errors import QuotaExceededError
from cosyvoice_clone.http import RetryPolicy

KEY = "sk-FAKE-quota-0123456789-abcdef"
QUOTA = {
    "request_id": "q-1",
    "code": "Throttling.AllocationQuota",
    "message": "Your current quota is 1000",
}
PATIENT = RetryPolicy(max_attempts=5, initial_delay=0.01, max_delay=0.02)


class QuotaService(BaseHTTPRequestHandler):
    """A loopback DashScope whose account has no free voice slot."""

    creates: ClassVar[list[str]] = []
    status = 429

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        action = body["input"]["action"]
        if action == "create_voice":
            type(self).creates.append(body["input"]["prefix"])
            self._answer(type(self).status, QUOTA)
        else:
            self._answer(200, {"output": {"voice_list": []}, "usage": {}, "request_id": "l"})

    def _answer(self, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.send_header("retry-after", "0")
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def quota_service() -> Iterator[str]:
    QuotaService.creates = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), QuotaService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [400, 429])
def test_quota_fails_at_once_in_the_library(
    quota_service: str, tmp_path: Path, status: int
) -> None:
    QuotaService.status = status
    with (
        CosyVoice(
            api_key=KEY,
            http_base=quota_service,
            home=tmp_path / "h",
            output_dir=tmp_path / "o",
            retry=PATIENT,
            rate_limit=None,
        ) as client,
        pytest.raises(QuotaExceededError) as info,
    ):
        client.clone(prefix="full", sample="https://example.com/a.wav", skip_check=True, wait=False)
    assert QuotaService.creates == ["full"]  # one attempt, no retry
    err = info.value
    assert (err.http_status, err.api_code, err.exit_code) == (
        status,
        "Throttling.AllocationQuota",
        4,
    )
    assert err.hint and "voices prune" in err.hint


def test_quota_is_one_line_and_exit_4_from_the_cli(cli, quota_service: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    QuotaService.status = 429
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", quota_service)
    monkeypatch.setenv("COSYVOICE_CLONE_RETRY_ATTEMPTS", "5")
    result = cli(
        "clone",
        "--prefix",
        "full",
        "--sample",
        "https://example.com/a.wav",
        "--skip-check",
        "--no-wait",
    )
    assert result.code == 4
    assert QuotaService.creates == ["full"]
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Throttling.AllocationQuota")
    assert "Your current quota is 1000" in lines[0] and "request_id q-1" in lines[0]
    assert "voices prune" in lines[0] and KEY not in result.out + result.err


def test_a_plain_429_is_still_retried(tmp_path: Path) -> None:
    answers = [
        httpx.Response(
            429,
            json={"code": "Throttling.RateQuota", "message": "slow"},
            headers={"retry-after": "0"},
        ),
        httpx.Response(200, json={"output": {"voice_list": []}, "usage": {}, "request_id": "r"}),
    ]
    sent: list[httpx.Request] = []

    def script(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers.pop(0)

    with CosyVoice(
        api_key=KEY,
        http_base="http://dashscope.test/api/v1",
        home=tmp_path / "h",
        output_dir=tmp_path / "o",
        transport=httpx.MockTransport(script),
        retry=PATIENT,
        rate_limit=None,
    ) as client:
        client.voices.list()
    assert len(sent) == 2
