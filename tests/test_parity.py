"""One speak path: the same bad or edge inputs give the same error from the library, the CLI,
the MCP server, the HTTP server's ``/v1/audio/speech`` and the studio's API (against the emulator
on loopback; nothing is mocked)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from cosyvoice_clone import CosyVoice, CosyVoiceCloneError
from cosyvoice_clone.client import AsyncCosyVoice
from cosyvoice_clone.config import Settings
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.server import ServerConfig, create_app, start_server

pytest.importorskip("mcp")

MODEL = "cosyvoice-v3.5-plus"


def _voices(emulator: RunningEmulator) -> dict[str, str]:
    """Voices in every state, made through the library against the emulator."""
    sample = emulator.sample_url()
    ids: dict[str, str] = {}
    with CosyVoice() as client:
        ids["ok"] = client.clone(prefix="ok", sample=sample, wait=True, skip_check=True).voice_id
        gone = client.clone(prefix="gone", sample=sample, wait=True, skip_check=True)
        client.voices.delete(gone.voice_id)
        ids["gone"] = gone.voice_id
        for twin in range(2):
            client.clone(prefix="twin", sample=sample, wait=True, skip_check=True, force=twin > 0)
        emulator.set_deploy_delay(3600)
        ids["rej"] = client.clone(prefix="rej", sample=sample, skip_check=True).voice_id
        emulator.settle(ids["rej"], status="UNDEPLOYED")
        client.voices.show(ids["rej"])  # the registry learns it was rejected
        ids["dep"] = client.clone(prefix="dep", sample=sample, skip_check=True).voice_id
    return ids


def _cases(ids: dict[str, str], tmp: Path) -> list[tuple[str, dict[str, Any], str]]:
    """(name, speak arguments, expected error code)."""
    blocker = tmp / "a-file"
    blocker.write_text("not a folder\n")
    (tmp / "speech").mkdir()  # a missing folder is refused unless asked for (MCP: created)
    out = str(tmp / "speech" / "out.wav")
    return [
        ("deleted voice", {"voice": ids["gone"], "text": "Hi.", "out": out}, "voice_deleted"),
        ("UNDEPLOYED voice", {"voice": ids["rej"], "text": "Hi.", "out": out}, "voice_rejected"),
        ("DEPLOYING voice", {"voice": ids["dep"], "text": "Hi.", "out": out}, "voice_deploying"),
        (
            "model mismatch",
            {"voice": ids["ok"], "text": "Hi.", "out": out, "model": "cosyvoice-v2"},
            "model_mismatch",
        ),
        ("ambiguous prefix", {"voice": "twin", "text": "Hi.", "out": out}, "ambiguous_voice"),
        ("unknown prefix", {"voice": "nobody", "text": "Hi.", "out": out}, "unknown_voice"),
        (
            "unwritable output",
            {"voice": ids["ok"], "text": "Hi.", "out": str(blocker / "out.wav")},
            "invalid_request",
        ),
        ("empty text", {"voice": ids["ok"], "text": "   ", "out": out}, "invalid_request"),
        (
            "bad format",
            {"voice": ids["ok"], "text": "Hi.", "out": out, "format": "flac"},
            "invalid_request",
        ),
        (
            "system voice the catalog does not list, without a model",
            {"voice": "longunlisted", "text": "Hi.", "out": out},
            "unknown_voice",
        ),
    ]


def _library(args: dict[str, Any]) -> tuple[str, int]:
    fields = {k: v for k, v in args.items() if k not in ("voice", "text", "out")}
    with CosyVoice() as client:
        try:
            client.speak(args["text"], args["out"], voice=args["voice"], **fields)
        except CosyVoiceCloneError as err:
            return err.code, err.exit_code
    raise AssertionError(f"the library spoke {args}")


def _cli(cli: Any, args: dict[str, Any]) -> tuple[str, int]:
    argv = ["--json", "speak", "--voice", args["voice"], "--text", args["text"]]
    argv += ["--out", args["out"]]
    for name in ("model", "format"):
        if name in args:
            argv += [f"--{name}", args[name]]
    result = cli(*argv)
    assert result.exit_code != 0, result.stdout
    return result.json()["error"]["code"], result.exit_code


async def _mcp(calls: list[dict[str, Any]]) -> list[str]:
    from mcp import Client

    from cosyvoice_clone.mcp import build_server

    codes = []
    async with Client(build_server(Settings.resolve())) as client:
        for args in calls:
            result = await client.call_tool("synthesize", args)
            assert result.is_error, args
            codes.append(result.structured_content["error"]["code"])
    return codes


def test_the_same_bad_inputs_fail_the_same_way_everywhere(
    cosyvoice_emulator_env: RunningEmulator, cli: Any, tmp_path: Path
) -> None:
    cases = _cases(_voices(cosyvoice_emulator_env), tmp_path)
    assert not (tmp_path / "output").exists()  # a plain CosyVoice() writes no evidence files
    mcp_codes = asyncio.run(_mcp([args for _, args, _ in cases]))
    for (name, args, expected), from_mcp in zip(cases, mcp_codes, strict=True):
        code, exit_code = _library(args)
        assert code == expected, name
        assert _cli(cli, args) == (code, exit_code), name
        assert from_mcp == expected, name
    assert list((tmp_path / "speech").iterdir()) == []  # nothing was written


# --------------------------------------------------------------------------- the server's doors


def _door_cases(ids: dict[str, str]) -> list[tuple[str, dict[str, Any], str]]:
    """(name, speech arguments, expected code) for the doors that stream (no output file)."""
    return [
        ("deleted voice", {"voice": ids["gone"], "text": "Hi."}, "voice_deleted"),
        ("UNDEPLOYED voice", {"voice": ids["rej"], "text": "Hi."}, "voice_rejected"),
        ("DEPLOYING voice", {"voice": ids["dep"], "text": "Hi."}, "voice_deploying"),
        (
            "model mismatch",
            {"voice": ids["ok"], "text": "Hi.", "model": "cosyvoice-v2"},
            "model_mismatch",
        ),
        ("ambiguous prefix", {"voice": "twin", "text": "Hi."}, "ambiguous_voice"),
        ("unknown prefix", {"voice": "nobody", "text": "Hi."}, "unknown_voice"),
        ("empty text", {"voice": ids["ok"], "text": "   "}, "invalid_request"),
        (
            "unsupported format",
            {"voice": ids["ok"], "text": "Hi.", "format": "ogg"},
            "invalid_request",
        ),
        (
            "system voice the catalog does not list, without a model",
            {"voice": "longunlisted", "text": "Hi."},
            "unknown_voice",
        ),
    ]


def _streamed(args: dict[str, Any]) -> str:
    """The library's ``stream_speech`` (what the server calls)."""
    with CosyVoice() as client:
        try:
            client.stream_speech(args["text"], voice=args["voice"], model=args.get("model"),
                                 format=args.get("format", "mp3"))  # fmt: skip
        except CosyVoiceCloneError as err:
            return err.code
    raise AssertionError(f"the library streamed {args}")


def _http(base: str, args: dict[str, Any]) -> tuple[str, int, str]:
    body = {"model": args.get("model", "tts-1"), "input": args["text"], "voice": args["voice"],
            "response_format": args.get("format", "mp3")}  # fmt: skip
    answer = httpx.post(f"{base}/v1/audio/speech", json=body, timeout=30)
    assert answer.status_code >= 400, answer.text
    error = answer.json()["error"]
    return error["code"], answer.status_code, error["message"]


def _studio(base: str, token: str, args: dict[str, Any]) -> tuple[str, int, str]:
    body = {"voice": args["voice"], "text": args["text"], "format": args.get("format", "mp3")}
    answer = httpx.post(f"{base}/studio/api/speech", json=body, timeout=30,
                        headers={"X-Studio-Token": token})  # fmt: skip
    assert answer.status_code >= 400, answer.text
    error = answer.json()["error"]
    return error["code"], answer.status_code, error["message"]


def _tasks(emulator: RunningEmulator) -> int:
    recorded = emulator.backend.recorded("websocket").get("websocket", [])
    return sum(1 for e in recorded if e["message"]["header"]["action"] == "run-task")


def test_the_server_and_the_studio_answer_as_the_library_does(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    ids = _voices(cosyvoice_emulator_env)
    app = create_app(AsyncCosyVoice(), ServerConfig())
    token = app.state.protection.studio_token
    before = _tasks(cosyvoice_emulator_env)
    (tmp_path / "speech").mkdir()
    with start_server(app) as server:
        base = server.base_url.removesuffix("/v1")
        for name, args, expected in _door_cases(ids):
            assert _streamed(args) == expected, name
            out = str(tmp_path / "speech" / "out.wav")
            assert _library({**args, "out": out})[0] == expected, name  # the same as speak
            code, status, message = _http(base, args)
            assert code == expected, (name, message)
            assert "cosyvoice-clone " not in message and " --" not in message, message
            if "model" in args:
                continue  # the studio speaks with the voice's own model: it has no such field
            studio_code, studio_status, studio_message = _studio(base, token, args)
            assert (studio_code, studio_status) == (code, status), (name, studio_message)
            assert "cosyvoice-clone " not in studio_message and " --" not in studio_message
    assert _tasks(cosyvoice_emulator_env) == before  # every refusal came before any speech
    assert list((tmp_path / "speech").iterdir()) == []
