"""`cosyvoice-clone --emulator --home TMP mcp` driven over stdio by the official `mcp` client.

One server process serves the whole journey: list the tools, check and clone a local sample,
wait, list, synthesize (the file is decoded), delete — and bad calls that come back as tool
errors while the server keeps serving.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

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


def reference_sample() -> Path:
    ref = resources.files("cosyvoice_clone") / "data" / "reference_en.wav"
    with resources.as_file(ref) as path:
        return Path(path)


@asynccontextmanager
async def serve(tmp_path: Path, *global_options: str) -> AsyncIterator[tuple[Client, Path, Path]]:
    """The MCP server as a subprocess on the embedded emulator; yields (client, home, stderr).

    Output goes to ``tmp_path / "output"`` (``--output-dir``), state to ``tmp_path / "home"``.

    (A context manager, not an async fixture: the client's task group must be entered and left
    in the test's own task.)
    """
    home = tmp_path / "home"
    errlog = tmp_path / "server-stderr.txt"
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "cosyvoice_clone",
            "--emulator",
            "--home",
            str(home),
            "--output-dir",
            str(tmp_path / "output"),
            *global_options,
            "mcp",
        ],
        env={
            "COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY": "0.6",
            "HOME": str(tmp_path / "user-home"),
        },
        cwd=str(tmp_path),
    )
    with errlog.open("w", encoding="utf-8") as err:
        async with Client(stdio_client(params, errlog=err), read_timeout_seconds=30) as client:
            yield client, home, errlog


async def call(client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured result."""
    result = await client.call_tool(name, args)
    assert not result.is_error, result.content
    data = result.structured_content
    assert isinstance(data, dict)
    # The text content carries the same JSON, for clients that only read text.
    assert json.loads(result.content[0].text) == data  # type: ignore[union-attr]
    return data


async def fail(client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must fail; return the error object (code, message, hint ...)."""
    result = await client.call_tool(name, args)
    assert result.is_error, result.structured_content
    data = result.structured_content
    assert isinstance(data, dict) and data["ok"] is False
    error = data["error"]
    assert {"code", "message", "hint", "request_id"} <= set(error)
    assert json.loads(result.content[0].text) == data  # type: ignore[union-attr]
    return dict(error)


async def test_tools_are_listed_with_precise_schemas(tmp_path: Path) -> None:
    async with serve(tmp_path) as (client, _, _):
        await _check_tool_listing(client)


async def _check_tool_listing(client: Client) -> None:
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert set(listed) == TOOL_NAMES
    for tool in listed.values():
        assert tool.description and len(tool.description) > 40
        assert tool.input_schema["type"] == "object"
        assert tool.input_schema.get("additionalProperties") is False
        assert tool.output_schema is not None

    clone = listed["voice_clone"].input_schema
    assert set(clone["properties"]) == {
        "model",
        "target_model",
        "prefix",
        "voice_sample_url",
        "language_hints",
        "max_prompt_audio_length",
        "enable_preprocess",
        "wait",
        "force",
    }
    assert clone["required"] == ["prefix", "voice_sample_url"]
    assert clone["properties"]["prefix"]["pattern"] == "^[A-Za-z0-9]{1,10}$"
    assert "cosyvoice-v3.5-plus" in clone["properties"]["target_model"]["enum"]
    assert clone["properties"]["model"]["const"] == "voice-enrollment"
    assert clone["properties"]["max_prompt_audio_length"]["minimum"] == 3.0
    assert clone["properties"]["max_prompt_audio_length"]["maximum"] == 30.0
    assert "path to a file" in clone["properties"]["voice_sample_url"]["description"]
    assert set(listed["voice_clone"].output_schema["required"]) == {  # type: ignore[index]
        "voice_id",
        "request_id",
        "usage",
        "status",
        "target_model",
        "reused",
    }

    delete = listed["delete_voice"]
    assert delete.input_schema["required"] == ["voice", "confirm"]  # `voice` everywhere
    assert listed["check_sample"].input_schema["required"] == ["sample"]
    assert delete.annotations is not None and delete.annotations.destructive_hint is True
    assert listed["list_voices"].annotations.read_only_hint is True  # type: ignore[union-attr]
    speak = listed["synthesize"].input_schema
    assert speak["required"] == ["voice", "text"]
    assert speak["properties"]["format"]["enum"] == ["pcm", "wav", "mp3", "opus"]


async def test_whole_journey_over_stdio(tmp_path: Path) -> None:
    async with serve(tmp_path) as (client, home, errlog):
        await _journey(client, home, errlog, tmp_path)


async def _journey(client: Client, home: Path, errlog: Path, tmp_path: Path) -> None:
    import soundfile as sf

    sample = reference_sample()

    report = await call(client, "check_sample", {"sample": str(sample)})
    assert report["verdict"] in ("pass", "warn")

    # Clone from a local file without waiting: the voice is still deploying.
    cloned = await call(
        client,
        "voice_clone",
        {
            "prefix": "mcpvoice",
            "voice_sample_url": str(sample),
            "language_hints": ["en"],
            "wait": False,
        },
    )
    voice_id = cloned["voice_id"]
    assert voice_id.startswith("cosyvoice-v3.5-plus-mcpvoice-")
    assert cloned["target_model"] == "cosyvoice-v3.5-plus"
    assert cloned["reused"] is False
    assert cloned["request_id"]
    assert cloned["usage"] == {"count": 1}
    assert cloned["status"] == "DEPLOYING"
    # Evidence of the enrollment lands in --output-dir, without the key.
    assert cloned["evidence"] and all(
        Path(p).is_relative_to(tmp_path / "output") and Path(p).is_file()
        for p in cloned["evidence"].values()
    )

    # Waiting reports progress (seconds of the timeout) to a client that asks for it.
    notes: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        notes.append((progress, total, message))

    result = await client.call_tool(
        "wait_voice", {"voice_id": voice_id, "timeout": 20}, progress_callback=on_progress
    )
    assert not result.is_error, result.content
    waited = result.structured_content
    assert waited["voice_id"] == voice_id and waited["status"] == "OK"
    assert waited["waited_s"] > 0
    assert notes and all(total == 20 for _, total, _ in notes)
    assert [p for p, _, _ in notes] == sorted({p for p, _, _ in notes})
    assert "DEPLOYING" in (notes[0][2] or "")

    # The same request again spends no slot: the existing voice comes back.
    again = await call(
        client,
        "voice_clone",
        {"prefix": "mcpvoice", "voice_sample_url": str(sample), "language_hints": ["en"]},
    )
    assert again["voice_id"] == voice_id and again["reused"] is True

    listed = await call(client, "list_voices", {})
    assert listed["count"] == 1 and [v["voice_id"] for v in listed["voices"]] == [voice_id]
    assert listed["voices"][0]["status"] == "OK"
    shown = await call(client, "get_voice", {"voice": voice_id})  # wait_voice: old name
    assert shown["target_model"] == "cosyvoice-v3.5-plus"

    # The identical request with force=true spends a new slot on purpose (deleted right away).
    forced = await call(
        client,
        "voice_clone",
        {
            "prefix": "mcpvoice",
            "voice_sample_url": str(sample),
            "language_hints": ["en"],
            "force": True,
            "wait": False,
        },
    )
    assert forced["reused"] is False and forced["voice_id"] != voice_id
    assert (await call(client, "list_voices", {"prefix": "mcpvoice"}))["count"] == 2
    await call(client, "delete_voice", {"voice_id": forced["voice_id"], "confirm": True})

    # Speak: a file we can decode, whose duration the tool reports.
    out = tmp_path / "speech" / "hello.wav"
    spoken = await call(
        client,
        "synthesize",
        {"voice": voice_id, "text": "Hello from the MCP server. This is a cloned voice.",
         "out": str(out), "mkdir": True},  # speech/ is missing: made because asked
    )  # fmt: skip
    assert spoken["path"] == str(out.resolve())
    assert spoken["format"] == "wav" and spoken["model"] == "cosyvoice-v3.5-plus"
    audio, rate = sf.read(out)
    assert rate == spoken["sample_rate"] == 22050
    assert len(audio) / rate == pytest.approx(spoken["duration"], abs=0.05)
    assert spoken["duration"] > 1.0
    # The field names of `speak --json`.
    assert {"duration", "voice", "time_to_first_audio", "characters"} <= set(spoken)
    assert "duration_s" not in spoken and spoken["voice"] == voice_id

    # Default output path (under the output dir), another format, and the prefix as the voice.
    mp3 = await call(client, "synthesize", {"voice": "mcpvoice", "text": "Short.", "format": "mp3"})
    assert Path(mp3["path"]).is_file() and mp3["path"].endswith(".mp3")
    assert Path(mp3["path"]).is_relative_to(tmp_path / "output")
    assert sf.info(mp3["path"]).samplerate == mp3["sample_rate"]

    # The model guard: a voice only speaks with its target model; nothing is written.
    bad_out = tmp_path / "mismatch.wav"
    mismatch = await fail(
        client,
        "synthesize",
        {"voice": voice_id, "text": "Hi.", "model": "cosyvoice-v2", "out": str(bad_out)},
    )
    assert mismatch["code"] == "model_mismatch"
    assert "cosyvoice-v3.5-plus" in mismatch["message"]
    assert "leave `model` out" in mismatch["hint"]
    assert not bad_out.exists()
    folder = await fail(
        client, "synthesize", {"voice": voice_id, "text": "Hi.", "out": str(tmp_path)}
    )
    assert folder["field"] == "out" and folder["code"] == "invalid_request"

    # Delete needs an explicit confirmation.
    refused = await fail(client, "delete_voice", {"voice_id": voice_id})
    assert refused["code"] == "confirmation_required" and refused["field"] == "confirm"
    refused = await fail(client, "delete_voice", {"voice_id": voice_id, "confirm": False})
    assert refused["code"] == "confirmation_required"
    assert (await call(client, "get_voice", {"voice_id": voice_id}))["status"] == "OK"

    deleted = await call(client, "delete_voice", {"voice_id": voice_id, "confirm": True})
    assert deleted == {"voice_id": voice_id, "deleted": True, "request_id": deleted["request_id"]}
    gone = await fail(client, "get_voice", {"voice_id": voice_id})
    # issue 23 item 11: "was deleted (on DATE)", from every door
    assert gone["code"] == "voice_deleted" and "was deleted (on " in gone["message"]
    assert gone["hint"]
    assert (await call(client, "list_voices", {}))["count"] == 0

    assert (home / "emulator.sqlite3").is_file()
    assert "Traceback" not in errlog.read_text(encoding="utf-8")


async def test_system_voices_are_listed_and_spoken_over_stdio(tmp_path: Path) -> None:
    async with serve(tmp_path) as (client, _, errlog):
        from cosyvoice_clone import catalog

        listed = await call(client, "list_system_voices", {})
        assert [v["name"] for v in listed["voices"]] == list(catalog.SYSTEM_VOICES)
        v2 = await call(client, "list_system_voices", {"model": "cosyvoice-v2"})
        assert v2["count"] == len(catalog.system_voices("cosyvoice-v2")) > 0
        assert all(v["default_model"] == "cosyvoice-v2" for v in v2["voices"])
        out = tmp_path / "system.wav"
        spoken = await call(
            client, "synthesize", {"voice": "longxiaochun_v2", "text": "你好。", "out": str(out)}
        )
        assert spoken["model"] == "cosyvoice-v2" and spoken["voice"] == "longxiaochun_v2"
        import soundfile

        assert soundfile.info(str(out)).duration > 0.1
        mismatch = await fail(
            client,
            "synthesize",
            {"voice": "longxiaochun_v2", "text": "Hi.", "model": "cosyvoice-v3-flash"},
        )
        assert mismatch["code"] == "model_mismatch"
        assert "Traceback" not in errlog.read_text(encoding="utf-8")


async def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(
    tmp_path: Path,
) -> None:
    async with serve(tmp_path) as (client, _, errlog):
        await _bad_arguments(client, errlog, tmp_path)


async def _bad_arguments(client: Client, errlog: Path, tmp_path: Path) -> None:
    sample = str(reference_sample())

    err = await fail(client, "voice_clone", {"prefix": "bad prefix!", "voice_sample_url": sample})
    assert err["code"] == "invalid_request" and err["field"] == "prefix"
    assert "letters or digits" in err["hint"]

    err = await fail(client, "voice_clone", {"voice_sample_url": sample})
    assert err["field"] == "prefix" and "missing" in err["message"]

    err = await fail(client, "voice_clone", {"prefix": "a", "voice_sample_url": sample, "x": 1})
    assert err["field"] == "x" and "unknown argument" in err["message"]

    err = await fail(
        client,
        "voice_clone",
        {"prefix": "a", "voice_sample_url": sample, "max_prompt_audio_length": 99},
    )
    assert err["field"] == "max_prompt_audio_length" and "[3.0, 30.0]" in err["message"]

    # A rule of the skill beyond the schema: cosyvoice-v3-plus takes no max_prompt_audio_length.
    err = await fail(
        client,
        "voice_clone",
        {
            "prefix": "a",
            "voice_sample_url": sample,
            "target_model": "cosyvoice-v3-plus",
            "max_prompt_audio_length": 12,
        },
    )
    assert err["code"] == "invalid_request" and err["field"] == "max_prompt_audio_length"

    err = await fail(client, "voice_clone", {"prefix": "a", "voice_sample_url": "/no/such.wav"})
    assert err["code"] in ("sample_unreadable", "invalid_request")

    # A sample that fails the local check is refused before a slot is spent.
    import numpy as np
    import soundfile as sf

    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(16000 * 2, dtype="int16"), 16000)
    err = await fail(client, "voice_clone", {"prefix": "short", "voice_sample_url": str(short)})
    assert err["code"] == "sample_rejected" and "check_sample" in err["hint"]
    checked = await call(client, "check_sample", {"source": str(short)})
    assert checked["verdict"] == "fail" and checked["problems"]

    err = await fail(client, "check_sample", {"source": str(tmp_path / "missing.wav")})
    assert err["code"] == "sample_unreadable"
    err = await fail(client, "wait_voice", {"voice_id": "cosyvoice-v2-nope-0", "timeout": -1})
    assert err["field"] == "timeout"
    err = await fail(client, "get_voice", {"voice_id": "cosyvoice-v2-nope-00000000"})
    assert err["code"] == "not_found"
    err = await fail(client, "synthesize", {"voice": "nosuchvoice", "text": "Hi."})
    assert err["field"] == "voice"
    err = await fail(client, "synthesize", {"voice": "x", "text": ""})
    assert err["field"] == "text"
    err = await fail(client, "list_voices", {"prefix": 7})
    assert err["field"] == "prefix"

    with pytest.raises(MCPError):
        await client.call_tool("no_such_tool", {})

    # Still serving after all of that.
    assert len((await client.list_tools()).tools) == len(TOOL_NAMES)
    assert (await call(client, "list_voices", {}))["count"] == 0
    assert "Traceback" not in errlog.read_text(encoding="utf-8")


async def test_global_region_option_is_honoured(tmp_path: Path) -> None:
    """``--region us-east-1``: the region's clone rules and its lack of uploads apply."""
    async with serve(tmp_path, "--region", "us-east-1") as (client, _, _):
        sample = str(reference_sample())
        err = await fail(client, "voice_clone", {"prefix": "sg", "voice_sample_url": sample})
        assert err["field"] == "target_model" and "us-east-1" in err["message"]
        err = await fail(
            client,
            "voice_clone",
            {"prefix": "sg", "voice_sample_url": sample, "target_model": "cosyvoice-v2"},
        )
        # No upload there: the local sample goes as a data URI, and the service's region
        # rules (the emulator's) refuse cloning in us-east-1.
        assert "us-east-1" in err["message"] + (err["hint"] or "")
        assert (await call(client, "list_voices", {}))["count"] == 0
