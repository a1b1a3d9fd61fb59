"""Item 22 of issue 23: a wrongly typed constructor argument is one clear InvalidRequestError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cosyvoice_clone import AsyncCosyVoice, CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError

KEY_BYTES = b"sk-qzSWEEPvxKwJpTbHmXyQrZ"

BAD: list[tuple[str, Any, str]] = [
    ("api_key", 12345, "api_key must be a str, not int"),
    ("api_key", KEY_BYTES, "api_key must be a str, not bytes"),
    ("region", 1, "region must be a str, not int"),
    ("home", 3, "home must be a str or a path, not int"),
    ("output_dir", 3.5, "output_dir must be a str or a path, not float"),
    ("http_base", 7, "http_base must be a str, not int"),
    ("websocket_url", [1], "websocket_url must be a str, not list"),
    ("workspace", 1, "workspace must be a str, not int"),
    ("settings", 5, "settings must be a cosyvoice_clone.config.Settings, not int"),
    ("evidence", "yes", "evidence must be True or False, not str"),
    ("timeout", "x", "timeout must be a number, not 'x'"),
    ("timeout", -1, "timeout must be greater than 0, not -1"),
    ("rate_limit", -5, "rate_limit must be greater than 0, not -5"),
    ("retry", 3, "retry must be a RetryPolicy, not int"),
]


@pytest.mark.parametrize("face", [CosyVoice, AsyncCosyVoice], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("name", "value", "message"), BAD, ids=[f"{n}-{m.split()[-1]}" for n, _, m in BAD]
)
def test_wrong_type_is_invalid_request(
    face: Any,
    cosyvoice_emulator: RunningEmulator,
    tmp_path: Path,
    name: str,
    value: Any,
    message: str,
) -> None:
    args: dict[str, Any] = {
        "api_key": cosyvoice_emulator.api_key,
        "http_base": cosyvoice_emulator.http_base,
        "websocket_url": cosyvoice_emulator.websocket_url,
        "home": tmp_path / "home",
    }
    args[name] = value
    with pytest.raises(InvalidRequestError) as info:
        face(**args)
    text = str(info.value)
    assert text == message and "\n" not in text
    assert info.value.field == name
    assert "qzSWEEP" not in text and "qzSWEEP" not in repr(info.value.to_dict())
    assert not (tmp_path / "home").exists()  # refused before the registry was opened


def test_good_arguments_still_work(cosyvoice_emulator: RunningEmulator, tmp_path: Path) -> None:
    import httpx

    with CosyVoice(
        api_key=cosyvoice_emulator.api_key,
        http_base=cosyvoice_emulator.http_base,
        websocket_url=cosyvoice_emulator.websocket_url,
        home=str(tmp_path / "h"),
        timeout=httpx.Timeout(5.0),
        rate_limit=None,
    ) as cv:
        assert cv.voices.list() == []
