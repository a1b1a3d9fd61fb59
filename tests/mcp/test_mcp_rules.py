"""The MCP tools apply the library's rules, not their own: the output format of `out`, the default
sample rate, the wait timeout, the confirmation refusal, and every tool listed."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client

import cosyvoice_clone.mcp as mcp_package
from cosyvoice_clone import CosyVoice, catalog
from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import CosyVoiceCloneError, InvalidRequestError
from cosyvoice_clone.mcp import TOOLS, VoiceTools, build_server, validate_arguments
from cosyvoice_clone.mcp.schemas import TOOLS_BY_NAME


async def _result(client: Client, tool: str, args: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    result = await client.call_tool(tool, args)
    assert isinstance(result.structured_content, dict)
    return bool(result.is_error), dict(result.structured_content)


def _library_error(voice: str, out: Path, **fields: Any) -> CosyVoiceCloneError:
    with CosyVoice() as client, pytest.raises(CosyVoiceCloneError) as caught:
        client.speak("Hi.", out, voice=voice, **fields)
    return caught.value


async def test_the_output_format_follows_the_librarys_rule(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    sample = cosyvoice_emulator_env.sample_url()
    with CosyVoice() as library:
        voice = library.clone(prefix="fmt", sample=sample, wait=True, skip_check=True).voice_id
    refused = [
        ({"out": str(tmp_path / "speech.xyz")}, {}),  # an unknown extension, no format
        ({"out": str(tmp_path / "speech.mp3"), "format": "wav"}, {"format": "wav"}),
    ]
    async with Client(build_server(Settings.resolve())) as client:
        for args, fields in refused:
            is_error, data = await _result(
                client, "synthesize", {"voice": voice, "text": "Hi."} | args
            )
            assert is_error, data
            expected = _library_error(voice, Path(args["out"]), **fields)
            assert isinstance(expected, InvalidRequestError)
            error = data["error"]
            assert (error["code"], error["field"], error["message"]) == (
                expected.code,
                expected.field,
                expected.message,
            )
        assert list(tmp_path.glob("speech.*")) == []  # nothing was written

        # Opus without a sample rate: the library's default for opus (24 kHz, not 22.05).
        is_error, opus = await _result(
            client,
            "synthesize",
            {"voice": voice, "text": "Hello there.", "out": str(tmp_path / "a.opus")},
        )
        assert not is_error, opus
        assert opus["format"] == "opus"
        assert (
            opus["sample_rate"]
            == catalog.default_sample_rate("opus")
            != catalog.DEFAULT_SAMPLE_RATE
        )
        assert (tmp_path / "a.opus").read_bytes()[:4] == b"OggS"
        # A name without an extension is fine with an explicit format.
        is_error, mp3 = await _result(
            client,
            "synthesize",
            {
                "voice": voice,
                "text": "Hello there.",
                "out": str(tmp_path / "plain"),
                "format": "mp3",
            },
        )
        assert not is_error, mp3
        assert mp3["format"] == "mp3" and mp3["sample_rate"] == catalog.default_sample_rate("mp3")
        import soundfile as sf

        assert sf.info(str(tmp_path / "plain")).samplerate == mp3["sample_rate"]


def test_a_delete_without_confirm_is_a_plain_invalid_request_with_its_own_code() -> None:
    for confirm in ({}, {"confirm": False}, {"confirm": "true"}):
        with pytest.raises(InvalidRequestError) as caught:
            validate_arguments(TOOLS_BY_NAME["delete_voice"], {"voice": "v"} | confirm)
        err = caught.value
        assert type(err) is InvalidRequestError
        assert err.code == "confirmation_required" and err.field == "confirm"
        assert err.exit_code == 2
        assert err.to_dict()["code"] == "confirmation_required"
        assert err.message == "refusing to delete v without confirmation (confirm must be true)"
        assert "confirm=true" in (err.hint or "")
    # Nothing in the MCP package defines an error class of its own.
    for module in (
        mcp_package,
        *(getattr(mcp_package, n) for n in ("hints", "schemas", "tools", "validation", "server")),
    ):
        for _, member in inspect.getmembers(module, inspect.isclass):
            if issubclass(member, BaseException):
                assert member.__module__.startswith(
                    "cosyvoice_clone.errors"
                ) or not member.__module__.startswith("cosyvoice_clone"), member


def test_waits_last_the_librarys_default_timeout() -> None:
    wait = TOOLS_BY_NAME["wait_voice"].input_schema["properties"]["timeout"]
    assert wait["default"] == catalog.DEFAULT_WAIT_TIMEOUT
    for tool in ("voice_clone", "voice_design"):
        description = TOOLS_BY_NAME[tool].input_schema["properties"]["wait"]["description"]
        assert f"{catalog.DEFAULT_WAIT_TIMEOUT:g} s" in description


async def test_the_server_lists_every_tool_it_serves(tmp_path: Path) -> None:
    settings = Settings.resolve(home=tmp_path / "home", output_dir=tmp_path / "out")
    async with Client(build_server(settings)) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
    assert listed == [spec.name for spec in TOOLS]
    served = {
        name
        for name, member in inspect.getmembers(VoiceTools, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "aclose"
    }
    assert served == set(listed)
    doc = mcp_package.__doc__ or ""
    for name in listed:
        assert f"\n    {name} " in doc, name  # the package docstring's table names every tool
