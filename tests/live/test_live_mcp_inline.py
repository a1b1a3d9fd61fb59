"""The MCP `synthesize` tool returns the audio inline on request (in-process server)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from mcp import Client

from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.mcp import build_server


async def test_synthesize_returns_an_audio_block_matching_the_file(
    voice: str, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    settings = Settings.resolve(home=tmp_path / "home", output_dir=tmp_path / "out")
    out = tmp_path / "hi.mp3"
    async with Client(build_server(settings)) as client:
        inline = await client.call_tool(
            "synthesize",
            {"voice": voice, "text": "Hello inline.", "out": str(out), "inline_audio": True},
        )
        plain = await client.call_tool("synthesize", {"voice": voice, "text": "Hello file."})
        too_long = await client.call_tool(
            "synthesize", {"voice": voice, "text": "word " * 400, "inline_audio": True}
        )
    assert not inline.is_error, inline.content
    audio = [c for c in inline.content if c.type == "audio"]
    assert len(audio) == 1 and audio[0].mime_type == "audio/mpeg"
    assert base64.b64decode(audio[0].data) == out.read_bytes()
    data = inline.structured_content
    assert data["inline_audio"] == {"mime_type": "audio/mpeg", "bytes": out.stat().st_size}
    assert "__inline_audio__" not in data
    assert [c.type for c in plain.content] == ["text"]  # only on request
    assert too_long.is_error
    assert too_long.structured_content["error"]["field"] == "inline_audio"
