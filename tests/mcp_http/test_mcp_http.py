"""The MCP tools at `serve`'s /mcp, driven by the official `mcp` client over Streamable HTTP
against the emulator: the nine tools listed, speech written and decoded, the server's key
required, the local-safety checks (Host, Origin) applied, tool errors as on stdio."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

pytest.importorskip("mcp")

import httpx2
import soundfile as sf
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from tests.server.server_helpers import TEST_KEY, ServerFactory

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.server import RunningServer

pytestmark = pytest.mark.timeout(60)

TOOL_NAMES = {
    "voice_clone",
    "voice_design",
    "check_sample",
    "list_voices",
    "list_system_voices",
    "get_voice",
    "wait_voice",
    "synthesize",
    "delete_voice",
}
ACCEPT = {"Accept": "application/json, text/event-stream"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def mcp_url(server: RunningServer) -> str:
    return server.base_url.removesuffix("/v1") + "/mcp"


@asynccontextmanager
async def session(server: RunningServer, **headers: str) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session on the server's /mcp (``headers`` on every request)."""
    http = create_mcp_http_client(headers=headers or None)
    async with (
        http,
        streamable_http_client(mcp_url(server), http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        yield client


def leaves(exc: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups."""
    inner = getattr(exc, "exceptions", None)
    return [leaf for e in inner for leaf in leaves(e)] if inner else [exc]


async def refused_by_client(server: RunningServer, **headers: str) -> MCPError:
    """The client's error when the server refuses its requests (it does not hang)."""
    with pytest.raises(Exception) as raised:
        async with session(server, **headers) as client:
            await client.call_tool("synthesize", {"voice": "myvoice", "text": "Hi."})
    errors = [e for e in leaves(raised.value) if isinstance(e, MCPError)]
    assert errors, raised.value
    return errors[0]


def synthesis_tasks(emulator: RunningEmulator) -> int:
    entries = emulator.backend.recorded("websocket").get("websocket", [])
    return sum(1 for e in entries if e["message"]["header"]["action"] == "run-task")


async def test_the_nine_tools_are_listed_and_synthesize_writes_decodable_audio(
    make_server: ServerFactory, voice: str, tmp_path: Path
) -> None:
    server = make_server()
    out = tmp_path / "speech" / "hello.wav"
    async with session(server) as client:
        listed = await client.list_tools()
        result = await client.call_tool(
            "synthesize", {"voice": "myvoice", "text": "Hello over HTTP.", "out": str(out)}
        )
    assert {t.name for t in listed.tools} == TOOL_NAMES
    assert not result.is_error, result.content
    data = result.structured_content
    assert data is not None and data["path"] == str(out.resolve()) and data["voice"] == voice
    samples, rate = sf.read(out, dtype="int16")
    assert rate == data["sample_rate"] == 22050
    assert samples.size / rate == pytest.approx(data["duration"], abs=0.01)
    assert 0.5 < data["duration"] < 5.0


async def test_a_tool_error_is_a_tool_result_and_the_server_keeps_serving(
    make_server: ServerFactory, voice: str, tmp_path: Path, cosyvoice_emulator: RunningEmulator
) -> None:
    server = make_server()
    async with session(server) as client:
        failed = await client.call_tool(
            "synthesize", {"voice": "nosuchvoice", "text": "Hi.", "out": str(tmp_path / "x.wav")}
        )
        listed = await client.call_tool("list_voices", {})
    assert failed.is_error
    assert failed.structured_content is not None
    assert failed.structured_content["error"]["code"] == "unknown_voice"
    assert not (tmp_path / "x.wav").exists() and synthesis_tasks(cosyvoice_emulator) == 0
    assert not listed.is_error and listed.structured_content is not None
    assert [v["prefix"] for v in listed.structured_content["voices"]] == ["myvoice"]
    text = json.dumps([failed.structured_content, listed.structured_content])
    assert cosyvoice_emulator.api_key not in text


async def test_the_servers_key_is_required_when_it_has_one(
    make_server: ServerFactory, voice: str, tmp_path: Path, cosyvoice_emulator: RunningEmulator
) -> None:
    server = make_server(api_keys=(TEST_KEY,))
    async with httpx2.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer wrong-key"}):
            refused = await http.post(
                mcp_url(server), json=LIST_TOOLS, headers={**ACCEPT, **headers}
            )
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "invalid_api_key"
            assert "wrong-key" not in refused.text and TEST_KEY not in refused.text
    await refused_by_client(server)
    out = tmp_path / "keyed.wav"
    async with session(server, Authorization=f"Bearer {TEST_KEY}") as client:
        listed = await client.list_tools()
        spoken = await client.call_tool(
            "synthesize", {"voice": "myvoice", "text": "With the key.", "out": str(out)}
        )
    assert {t.name for t in listed.tools} == TOOL_NAMES
    assert not spoken.is_error and sf.info(out).duration > 0.3
    assert synthesis_tasks(cosyvoice_emulator) == 1  # only the keyed call spoke


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Origin": "https://evil.example"}, 403, "origin_not_allowed"),
        ({"Origin": "null"}, 403, "origin_not_allowed"),
        ({"Host": "rebind.example:8000"}, 421, "host_not_allowed"),
    ],
)
async def test_the_local_safety_checks_apply_to_mcp(
    make_server: ServerFactory,
    voice: str,
    cosyvoice_emulator: RunningEmulator,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    server = make_server()
    async with httpx2.AsyncClient() as http:
        refused = await http.post(mcp_url(server), json=LIST_TOOLS, headers={**ACCEPT, **headers})
    assert refused.status_code == status
    assert refused.json()["error"]["code"] == code
    await refused_by_client(server, **headers)
    assert synthesis_tasks(cosyvoice_emulator) == 0


async def test_the_servers_own_origin_is_allowed(make_server: ServerFactory, voice: str) -> None:
    server = make_server()
    origin = server.base_url.removesuffix("/v1")
    async with session(server, Origin=origin) as client:
        listed = await client.list_tools()
    assert {t.name for t in listed.tools} == TOOL_NAMES


async def test_without_the_mcp_package_the_server_serves_the_rest(
    make_server: ServerFactory, voice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cosyvoice_clone.mcp.http as mcp_http

    monkeypatch.setattr(mcp_http, "sdk_available", lambda: False)
    server = make_server()
    async with httpx2.AsyncClient() as http:
        missing = await http.post(mcp_url(server), json=LIST_TOOLS, headers=ACCEPT)
        health = await http.get(server.base_url.removesuffix("/v1") + "/healthz")
    assert missing.status_code == 404
    assert health.status_code == 200
