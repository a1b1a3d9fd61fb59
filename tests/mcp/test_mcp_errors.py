"""Tool errors in-process (the server object, no subprocess): credentials, the key, redaction."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client

from cosyvoice_clone.config import Settings
from cosyvoice_clone.mcp import TOOLS, build_server, error_payload, validate_arguments

SECRET = "sk-FAKE-mcpleaktest-0123456789-abcdef"


def reference_sample() -> str:
    ref = resources.files("cosyvoice_clone") / "data" / "reference_en.wav"
    with resources.as_file(ref) as path:
        return str(path)


async def call_all(settings: Settings, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async with Client(build_server(settings)) as client:
        return [await client.call_tool(name, args) for name, args in calls]


async def test_without_a_key_service_tools_fail_cleanly_and_local_ones_work(
    tmp_path: Path,
) -> None:
    settings = Settings.resolve(home=tmp_path / "home", output_dir=tmp_path / "out")
    assert settings.api_key is None
    clone, listed, checked = await call_all(
        settings,
        [
            ("voice_clone", {"prefix": "nokey", "voice_sample_url": reference_sample()}),
            ("list_voices", {}),
            ("check_sample", {"source": reference_sample()}),
        ],
    )
    for result in (clone, listed):
        assert result.is_error
        error = result.structured_content["error"]
        assert error["code"] == "missing_credentials"
        assert "DASHSCOPE_API_KEY" in error["hint"] and "--emulator" in error["hint"]
    assert not checked.is_error and checked.structured_content["verdict"] in ("pass", "warn")


async def test_a_refused_key_is_an_auth_error_that_never_shows_the_key(
    tmp_path: Path, cosyvoice_emulator: Any
) -> None:
    settings = Settings.resolve(
        api_key=SECRET,
        http_base=cosyvoice_emulator.http_base,
        websocket_url=cosyvoice_emulator.websocket_url,
        home=tmp_path / "home",
        output_dir=tmp_path / "out",
    )
    results = await call_all(
        settings,
        [
            ("list_voices", {}),
            ("voice_clone", {"prefix": "leak", "voice_sample_url": reference_sample()}),
            ("get_voice", {"voice_id": "cosyvoice-v2-leak-0123456789abcdef0123456789abcdef"}),
            (
                "synthesize",
                {"voice": "cosyvoice-v2-leak-0123456789abcdef0123456789abcdef", "text": "Hi."},
            ),
        ],
    )
    for result in results:
        assert result.is_error
        error = result.structured_content["error"]
        assert error["code"] in ("auth", "network", "synthesis_failed"), error
        dumped = json.dumps(result.model_dump(mode="json"))
        assert SECRET not in dumped and SECRET[-12:] not in dumped
    assert results[0].structured_content["error"]["code"] == "auth"
    assert results[0].structured_content["error"]["hint"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_unexpected_failures_become_internal_errors_without_the_key() -> None:
    payload = error_payload(RuntimeError(f"boom with {SECRET} inside"), (SECRET,))
    assert payload["ok"] is False
    assert payload["error"]["code"] == "internal"
    assert SECRET not in json.dumps(payload) and "boom" in payload["error"]["message"]
    # Anything shaped like a DashScope key is masked even when it is not the configured one.
    other = error_payload(ValueError("sk-anotherkey0123456789"))
    assert "sk-anotherkey0123456789" not in json.dumps(other)


@pytest.mark.parametrize(
    ("tool", "args", "field", "words"),
    [
        ("voice_clone", {"voice_sample_url": "x"}, "prefix", "missing required argument"),
        ("voice_clone", {"prefix": "a", "voice_sample_url": "x", "wait": "yes"}, "wait", "boolean"),
        (
            "voice_clone",
            {"prefix": "a", "voice_sample_url": "x", "target_model": "cosyvoice-v9"},
            "target_model",
            "one of cosyvoice-v3.5-plus",
        ),
        (
            "voice_clone",
            {"prefix": "a", "voice_sample_url": "x", "language_hints": ["xx"]},
            "language_hints",
            "invalid language_hints.0",
        ),
        ("voice_clone", {"prefix": "a", "voice_sample_url": "x", "model": "m"}, "model", "must be"),
        ("synthesize", {"voice": "v", "text": "t", "sample_rate": 12345}, "sample_rate", "22050"),
        ("synthesize", {"voice": "v", "text": "t", "volume": 101}, "volume", "[0, 100]"),
        ("delete_voice", {"voice_id": "v", "confirm": "true"}, "confirm", "without confirmation"),
    ],
)
def test_argument_errors_name_the_field_and_what_is_allowed(
    tool: str, args: dict[str, Any], field: str, words: str
) -> None:
    from cosyvoice_clone.errors import InvalidRequestError

    spec = next(t for t in TOOLS if t.name == tool)
    with pytest.raises(InvalidRequestError) as caught:
        validate_arguments(spec, args)
    assert caught.value.field == field
    assert words in caught.value.message
    assert caught.value.exit_code == 2


def test_server_logs_mask_the_key_even_in_tracebacks(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from cosyvoice_clone.mcp import configure_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    noisy = {
        n: logging.getLogger(n).level for n in ("httpx", "httpcore", "websockets", "uvicorn", "mcp")
    }
    try:
        configure_logging(Settings.resolve(api_key=SECRET), logging.DEBUG)
        try:
            raise RuntimeError(f"failed with {SECRET}")
        except RuntimeError:
            logging.getLogger("cosyvoice_clone.mcp").debug("tool crashed %s", SECRET, exc_info=True)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)
    out, err = capsys.readouterr()
    assert out == ""
    assert "tool crashed" in err and "RuntimeError" in err
    assert SECRET not in err
