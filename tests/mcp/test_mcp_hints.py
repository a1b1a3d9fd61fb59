"""Hints of MCP tool errors: worded from the library's structured next step, in tool names and
arguments, never CLI flags (against the emulator, through the in-process server)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client

from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import NextStep, StepKind, describe
from cosyvoice_clone.mcp import build_server
from cosyvoice_clone.mcp.hints import MCP_WORDING, word

TOOL_WORDS = ("check_sample", "voice_clone", "list_voices", "delete_voice", "wait_voice")


def reference_sample() -> str:
    ref = resources.files("cosyvoice_clone") / "data" / "reference_en.wav"
    with resources.as_file(ref) as path:
        return str(path)


def _cli_words(text: str) -> bool:
    return "--" in text or "cosyvoice-clone " in text


@pytest.mark.parametrize("kind", list(StepKind))
def test_every_kind_of_next_step_has_mcp_words_without_cli_flags(kind: StepKind) -> None:
    step = NextStep.of(kind, sample="/tmp/a.wav", prefix="anna", model="cosyvoice-v2",
                       voice_id="cosyvoice-v2-anna-0123")  # fmt: skip
    bare = NextStep(kind)
    for text in (word(step), word(bare)):
        assert text and not _cli_words(text), text
        assert "{" not in text, text  # every placeholder filled
    for name, value in step.args:
        if "{" + name + "}" in MCP_WORDING[kind]:
            assert value in word(step)
    assert set(MCP_WORDING) == set(StepKind)


async def _fail(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    data = result.structured_content
    assert isinstance(data, dict)
    return dict(data["error"])


async def _ok(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.structured_content
    assert isinstance(result.structured_content, dict)
    return dict(result.structured_content)


def _assert_mcp_hint(error: dict[str, Any], kind: StepKind | None, *words: str) -> None:
    """The hint is the MCP wording (tool names), never the CLI's flags."""
    hint = error["hint"]
    assert hint and not _cli_words(hint), error
    for expected in words:
        assert expected in hint, error
    if kind is not None:
        assert error["next_step"]["kind"] == kind.value, error
        step = NextStep(kind, tuple((k, v) for k, v in error["next_step"].items() if k != "kind"))
        assert hint == word(step)


async def test_tool_errors_with_a_next_step_name_tools_not_flags(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    sample = reference_sample()
    out = str(tmp_path / "out.wav")  # an existing folder: `out` makes none unless mkdir
    async with Client(build_server(Settings.resolve())) as client:
        ok = await _ok(client, "voice_clone", {"prefix": "ok", "voice_sample_url": sample})
        voice = ok["voice_id"]
        for force in (False, True):
            twin = {"prefix": "twin", "voice_sample_url": sample, "force": force}
            await _ok(client, "voice_clone", twin)
        gone = (await _ok(client, "voice_clone", {"prefix": "gone", "voice_sample_url": sample}))[
            "voice_id"
        ]
        await _ok(client, "delete_voice", {"voice": gone, "confirm": True})

        error = await _fail(client, "synthesize", {"voice": "twin", "text": "Hi.", "out": out})
        assert error["code"] == "ambiguous_voice"
        _assert_mcp_hint(error, StepKind.FULL_VOICE_ID, "list_voices", "twin")
        error = await _fail(client, "synthesize", {"voice": "nobody", "text": "Hi.", "out": out})
        assert error["code"] == "unknown_voice"
        _assert_mcp_hint(error, StepKind.LIST_VOICES, "list_voices")
        error = await _fail(client, "synthesize", {"voice": gone, "text": "Hi.", "out": out})
        assert error["code"] == "voice_deleted"
        _assert_mcp_hint(error, StepKind.LIST_VOICES, "list_voices")
        error = await _fail(
            client,
            "synthesize",
            {"voice": "longxiaochun_v2", "text": "Hi.", "model": "cosyvoice-v3-flash"},
        )
        assert error["code"] == "model_mismatch"
        _assert_mcp_hint(error, StepKind.PICK_MODEL, "leave `model` out", "cosyvoice-v2")
        # A cloned voice's mismatch carries its next step (synthesis.protocol.guard_model).
        error = await _fail(
            client, "synthesize", {"voice": voice, "text": "Hi.", "model": "cosyvoice-v2"}
        )
        assert error["code"] == "model_mismatch"
        _assert_mcp_hint(error, None, "leave `model` out")

        emulator.set_deploy_delay(3600)
        slow = await _ok(
            client, "voice_clone", {"prefix": "slow", "voice_sample_url": sample, "wait": False}
        )
        assert slow["status"] == "DEPLOYING"
        error = await _fail(client, "synthesize", {"voice": slow["voice_id"], "text": "Hi."})
        assert error["code"] == "voice_deploying"
        _assert_mcp_hint(error, StepKind.WAIT_FOR_VOICE, "wait_voice", slow["voice_id"])
        error = await _fail(client, "wait_voice", {"voice": slow["voice_id"], "timeout": 0.3})
        assert error["code"] == "voice_not_ready"
        _assert_mcp_hint(error, StepKind.WAIT_FOR_VOICE, "wait_voice", slow["voice_id"])

        emulator.settle(slow["voice_id"], status="UNDEPLOYED")
        error = await _fail(client, "wait_voice", {"voice": slow["voice_id"], "timeout": 5})
        assert error["code"] == "voice_rejected"
        _assert_mcp_hint(error, None, "voice_clone", "delete_voice")
        error = await _fail(client, "synthesize", {"voice": slow["voice_id"], "text": "Hi."})
        assert error["code"] == "voice_rejected"
        _assert_mcp_hint(error, StepKind.CLONE_AGAIN, "voice_clone", slow["voice_id"])

        emulator.set_quota(0)
        error = await _fail(client, "voice_clone", {"prefix": "full", "voice_sample_url": sample})
        assert error["code"] == "quota_exceeded"
        _assert_mcp_hint(error, StepKind.FREE_SLOTS, "delete_voice")
    assert not Path(out).exists()


async def test_a_rejected_sample_and_a_refused_key_name_tools_not_flags(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    import numpy as np
    import soundfile as sf

    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(16000 * 2, dtype="int16"), 16000)
    settings = Settings.resolve(
        api_key="sk-not-the-emulators-key-0123456789",
        http_base=cosyvoice_emulator.http_base,
        websocket_url=cosyvoice_emulator.websocket_url,
        home=tmp_path / "home",
        output_dir=tmp_path / "out",
    )
    async with Client(build_server(settings)) as client:
        error = await _fail(
            client, "voice_clone", {"prefix": "short", "voice_sample_url": str(short)}
        )
        assert error["code"] == "sample_rejected"
        _assert_mcp_hint(error, StepKind.SKIP_CHECK, "check_sample", str(short))
        # The library's own (CLI) wording of the same step names flags: the MCP one replaced it.
        assert _cli_words(describe(NextStep.of(StepKind.SKIP_CHECK, sample=str(short))))
        error = await _fail(client, "list_voices", {})
        assert error["code"] == "auth"
        _assert_mcp_hint(error, StepKind.CHECK_KEY, "DASHSCOPE_API_KEY", "DASHSCOPE_REGION")
    assert cosyvoice_emulator.backend.voice_count() == 0  # nothing was created
