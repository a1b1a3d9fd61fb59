"""Item 6 of issue 23: a malformed base URL is one line naming the variable."""

from __future__ import annotations

from typing import Any

import pytest

from cosyvoice_clone import CosyVoice
from cosyvoice_clone.errors import ConfigError

BAD_HTTP = ["http://[::1", "http://127.0.0.1:99999", "http://exa mple.com", "ftp://x", "http://"]


@pytest.mark.parametrize("url", BAD_HTTP)
def test_cli_bad_http_base_names_the_variable(
    cli: Any, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test0123456789")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", url)
    res = cli("voices", "list")
    assert res.exit_code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert "DASHSCOPE_HTTP_BASE_URL" in lines[0] and "derived" not in lines[0]


def test_library_bad_http_base(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="the endpoint 'http://\\[::1' is not a http"):
        CosyVoice(api_key="sk-test0123456789", http_base="http://[::1")


def test_good_custom_base_still_derives_the_websocket() -> None:
    with CosyVoice(api_key="sk-test0123456789", http_base="http://127.0.0.1:8123/api/v1") as cv:
        assert cv.settings.websocket_url == "ws://127.0.0.1:8123/api-ws/v1/inference"
