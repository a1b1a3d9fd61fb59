"""Wire compatibility: what the official SDK sends and what our client sends, as the emulator
recorded them (``Backend.recorded``), agree in field names, nesting and value types.

Fields the SDK sends with default values may be absent on our side; anything we send must be
something the SDK also sends, with the same type.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import dashscope
import httpx
import pytest
from dashscope.audio.tts_v2 import SpeechSynthesizer, VoiceEnrollmentService
from emulator_helpers import action

from cosyvoice_clone.client import AsyncCosyVoice, CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator

ACTIONS = ("create_voice", "list_voice", "query_voice", "update_voice", "delete_voice")


def shape(value: Any) -> Any:
    """Field names and nesting with the JSON type of every leaf (ints and floats are numbers)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else type(value).__name__


def disagreements(ours: Any, sdk: Any, path: str = "") -> list[str]:
    """Where ``ours`` has a field the SDK does not send, or a different type or nesting."""
    if isinstance(ours, dict) and isinstance(sdk, dict):
        problems = []
        for key, item in ours.items():
            if key not in sdk:
                problems.append(f"{path}.{key}: sent by us, not by the SDK")
            else:
                problems += disagreements(item, sdk[key], f"{path}.{key}")
        return problems
    if isinstance(ours, list) and isinstance(sdk, list):
        if ours and sdk:
            return disagreements(ours[0], sdk[0], path + "[]")
        return []
    return [] if ours == sdk else [f"{path}: ours {ours!r}, SDK {sdk!r}"]


def bodies_by_action(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        body = entry["body"]
        found.setdefault(body["input"]["action"], body)
    return found


def recorded_since(emulator: RunningEmulator, endpoint: str, start: int) -> list[dict[str, Any]]:
    return emulator.backend.recorded(endpoint).get(endpoint, [])[start:]


def count(emulator: RunningEmulator, endpoint: str) -> int:
    return len(emulator.backend.recorded(endpoint).get(endpoint, []))


def test_recorded_requests_carry_no_credentials(cosyvoice_emulator_env: RunningEmulator) -> None:
    service = VoiceEnrollmentService(
        api_key=cosyvoice_emulator_env.api_key, base_address=cosyvoice_emulator_env.http_base
    )
    service.list_voices()
    entry = cosyvoice_emulator_env.backend.recorded("enrollment")["enrollment"][0]
    assert entry["body"]["input"]["action"] == "list_voice"
    assert "authorization" not in entry["headers"]
    assert cosyvoice_emulator_env.api_key not in repr(entry)


def test_enrollment_actions_agree_with_the_sdk(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    sample = emulator.sample_url()
    service = VoiceEnrollmentService(api_key=emulator.api_key, base_address=emulator.http_base)
    voice = service.create_voice(
        "cosyvoice-v3-flash",
        "sdk",
        sample,
        language_hints=["en"],
        max_prompt_audio_length=10.0,
        enable_preprocess=False,
    )
    service.list_voices(prefix="sdk")
    service.query_voice(voice)
    service.update_voice(voice, sample)
    service.delete_voice(voice)
    sdk = bodies_by_action(recorded_since(emulator, "enrollment", 0))

    start = count(emulator, "enrollment")
    with CosyVoice() as client:
        result = client.clone(
            prefix="ours",
            sample=sample,
            target_model="cosyvoice-v3-flash",
            language_hints=["en"],
            skip_check=True,
            wait=True,
        )
        client.voices.list(prefix="ours")
        client.voices.show(result.voice_id)
        client.voices.update(result.voice_id, sample, skip_check=True)
        client.voices.delete(result.voice_id)
    ours = bodies_by_action(recorded_since(emulator, "enrollment", start))

    assert set(ours) == set(sdk) == set(ACTIONS)
    problems = {a: disagreements(shape(ours[a]), shape(sdk[a])) for a in ACTIONS}
    assert not any(problems.values()), (problems, ours, sdk)


def commands(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The first run-task, continue-task and finish-task of a recorded WebSocket session."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        found.setdefault(entry["message"]["header"]["action"], entry["message"])
    return found


def test_websocket_run_task_agrees_with_the_sdk(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = cosyvoice_emulator_env
    monkeypatch.setattr(dashscope, "api_key", emulator.api_key)
    service = VoiceEnrollmentService(api_key=emulator.api_key, base_address=emulator.http_base)
    voice = service.create_voice("cosyvoice-v3-flash", "wire", emulator.sample_url())
    SpeechSynthesizer(model="cosyvoice-v3-flash", voice=voice, url=emulator.websocket_url).call(
        "Hello from the SDK."
    )
    sdk = commands(recorded_since(emulator, "websocket", 0))

    start = count(emulator, "websocket")
    with CosyVoice() as client:
        client.speak(
            "Hello from our client.", tmp_path / "ours.mp3", voice=voice, model="cosyvoice-v3-flash"
        )
    ours = commands(recorded_since(emulator, "websocket", start))

    start = count(emulator, "websocket")

    async def speak_async() -> None:
        async with AsyncCosyVoice() as client:
            await client.speak(
                "Hello again.", tmp_path / "a.wav", voice=voice, model="cosyvoice-v3-flash"
            )

    asyncio.run(speak_async())
    ours_async = commands(recorded_since(emulator, "websocket", start))

    names = {"run-task", "continue-task", "finish-task"}
    for client in (ours, ours_async):
        assert set(client) == set(sdk) == names
        problems = {name: disagreements(shape(client[name]), shape(sdk[name])) for name in names}
        assert not any(problems.values()), (problems, client, sdk)


def test_synthesis_options_agree_with_the_sdk(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A system voice (no model on our side) with every option both clients have: opus with a
    bit rate, instruction, language hints, SSML, the Markdown filter, word timestamps."""
    from dashscope.audio.tts_v2 import AudioFormat

    emulator = cosyvoice_emulator_env
    monkeypatch.setattr(dashscope, "api_key", emulator.api_key)
    SpeechSynthesizer(
        model="cosyvoice-v3-flash",
        voice="longanyang",
        url=emulator.websocket_url,
        format=AudioFormat.OGG_OPUS_24KHZ_MONO_64KBPS,
        instruction="Speak slowly.",
        language_hints=["en"],
        additional_params={"enable_markdown_filter": True, "word_timestamp_enabled": True},
    ).call("<speak>Hello from the SDK.</speak>")  # call() always sends enable_ssml
    sdk = commands(recorded_since(emulator, "websocket", 0))
    assert sdk["run-task"]["payload"]["parameters"]["enable_ssml"] is True

    start = count(emulator, "websocket")
    with CosyVoice() as client:
        result = client.speak(
            "<speak>Hello from our client.</speak>", tmp_path / "ours.opus", voice="longanyang",
            bit_rate=64, instruction="Speak slowly.", language_hints=["en"], ssml=True,
            markdown_filter=True, word_timestamps=True,
        )  # fmt: skip
    assert result.model == "cosyvoice-v3-flash" and result.words
    ours = commands(recorded_since(emulator, "websocket", start))

    params, sdk_params = ours["run-task"]["payload"]["parameters"], sdk["run-task"]["payload"][
        "parameters"]  # fmt: skip
    for name in ("bit_rate", "instruction", "language_hints", "enable_ssml",
                 "enable_markdown_filter", "word_timestamp_enabled", "voice"):  # fmt: skip
        assert params[name] == sdk_params[name], name
    problems = {n: disagreements(shape(ours[n]), shape(sdk[n])) for n in ours}
    assert set(ours) == set(sdk) and not any(problems.values()), (problems, ours, sdk)


def test_admin_requests_endpoint_lists_what_was_sent(cosyvoice_emulator: RunningEmulator) -> None:
    action(cosyvoice_emulator, "list_voice", page_size=5)
    url = cosyvoice_emulator.admin_url + "/requests"
    recorded = httpx.get(url, params={"endpoint": "enrollment"}).json()
    assert list(recorded) == ["enrollment"]
    assert recorded["enrollment"][-1]["body"]["input"] == {"action": "list_voice", "page_size": 5}
    assert recorded["enrollment"][-1]["headers"]["x-dashscope-ossresourceresolve"] == "enable"
    cosyvoice_emulator.reset()
    assert httpx.get(url).json() == {}
