"""Issue 28: a Qwen-Audio-TTS system voice spoken through the library, the CLI, the speech server
and the emulator's HTTP endpoint; what goes on the wire."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf
from tests.facts.facts_helpers import Run
from tests.server.server_helpers import ServerFactory, emulator_settings, openai_client

from cosyvoice_clone.client import CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import CosyVoiceCloneError

QA_FLASH = "qwen-audio-3.0-tts-flash"
QA_PLUS = "qwen-audio-3.0-tts-plus"
TEXT = "Hello from Qwen-Audio-TTS. A second sentence follows."
PATH = "/services/audio/tts/SpeechSynthesizer"


def post(emulator: RunningEmulator, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    return httpx.post(emulator.http_base + PATH, json=body, timeout=30, headers=headers)


def run_tasks(emulator: RunningEmulator) -> list[dict[str, Any]]:
    return [
        e["message"]["payload"]
        for e in emulator.backend.recorded("websocket").get("websocket", [])
        if e["message"]["header"]["action"] == "run-task"
    ]


def sent_texts(emulator: RunningEmulator) -> list[str]:
    return [
        e["message"]["payload"]["input"]["text"]
        for e in emulator.backend.recorded("websocket").get("websocket", [])
        if e["message"]["header"]["action"] == "continue-task"
    ]


def test_library_speaks_a_qwen_audio_voice_with_the_asked_rate_and_instruction(
    cosyvoice_emulator: RunningEmulator, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "qa.wav"
    with CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as client:
        client.speak(TEXT, out, voice="longanfengyue", model=QA_FLASH, sample_rate=24000,
                     instruction="Speak warmly.")  # fmt: skip
    info = sf.info(out)
    assert info.samplerate == 24000 and info.duration > 1.0
    (task,) = run_tasks(cosyvoice_emulator)
    assert task["model"] == QA_FLASH and task["parameters"]["voice"] == "longanfengyue"
    assert task["parameters"]["instruction"] == "Speak warmly."


def test_a_voice_speaks_with_its_own_model_by_default_and_is_refused_with_another(
    cosyvoice_emulator: RunningEmulator, home: Path, tmp_path: Path
) -> None:
    with CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as client:
        client.speak(TEXT, tmp_path / "plus.mp3", voice="longanlingxin")
        assert [t["model"] for t in run_tasks(cosyvoice_emulator)] == [QA_PLUS]
        with pytest.raises(CosyVoiceCloneError) as info:
            client.speak(TEXT, tmp_path / "no.wav", voice="longanfengyue",
                         model="cosyvoice-v3-flash")  # fmt: skip
    assert "cosyvoice-v3-flash" in str(info.value)
    assert len(run_tasks(cosyvoice_emulator)) == 1  # the refusal sent nothing
    assert not (tmp_path / "no.wav").exists()
    assert sf.info(tmp_path / "plus.mp3").duration > 1.0


def test_the_emulator_refuses_a_qwen_audio_voice_on_another_model(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    body = {"model": "cosyvoice-v3-flash", "input": {"text": TEXT, "voice": "longanfengyue"}}
    answer = post(cosyvoice_emulator, body)
    assert answer.status_code == 400 and "418" in answer.json()["message"]


def test_cli_speaks_a_qwen_audio_voice(
    cli: Callable[..., Run], cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "cli.wav"
    result = cli("--json", "speak", "--voice", "longanxiaoxin", "--model", QA_FLASH,
                 "--text", TEXT, "--out", str(out), "--sample-rate", "16000")  # fmt: skip
    assert result.code == 0, result.err
    info = sf.info(out)
    assert info.samplerate == 16000 and info.duration > 1.0
    assert [t["model"] for t in run_tasks(cosyvoice_emulator_env)] == [QA_FLASH]
    listed = cli("--json", "voices", "list", "--system", "--model", QA_PLUS)
    assert listed.code == 0, listed.err
    names = [v["name"] for v in json.loads(listed.out)["voices"]]
    assert names == ["longanlingxin", "longanlufeng"]


def test_server_speaks_a_qwen_audio_voice(
    make_server: ServerFactory, cosyvoice_emulator: RunningEmulator
) -> None:
    server = make_server()
    with openai_client(server) as client:
        spoken = client.audio.speech.create(
            model=QA_FLASH, voice="longanfengyue", input=TEXT, response_format="wav"
        )
    data = spoken.content
    assert data[:4] == b"RIFF" and len(data) > 44 + 24000
    assert [(t["model"], t["parameters"]["voice"]) for t in run_tasks(cosyvoice_emulator)] == [
        (QA_FLASH, "longanfengyue")
    ]
    with httpx.Client(timeout=30) as http:
        models = {m["id"] for m in http.get(f"{server.base_url}/models").json()["data"]}
    assert {QA_FLASH, QA_PLUS, "qwen-audio-3.1-tts-flash"} <= models


@pytest.mark.parametrize(
    ("model", "voice", "region", "status"),
    [
        (QA_FLASH, "longanfengyue", "ap-southeast-1", 200),  # Qwen-Audio-TTS HTTP: Singapore too
        (QA_FLASH, "longanfengyue", "cn-beijing", 200),
        ("qwen-audio-3.1-tts-flash", "longanhuan_v3.1", "ap-southeast-1", 200),
        ("cosyvoice-v3-flash", "longanyang", "ap-southeast-1", 400),  # CosyVoice: Beijing only
    ],
)
def test_http_synthesis_regions_follow_the_model_family(
    cosyvoice_emulator: RunningEmulator, model: str, voice: str, region: str, status: int
) -> None:
    cosyvoice_emulator.set_region(region)
    body = {"model": model, "input": {"text": TEXT, "voice": voice, "format": "wav"}}
    answer = post(cosyvoice_emulator, body)
    assert answer.status_code == status, answer.text
    if status == 200:
        audio = httpx.get(answer.json()["output"]["audio"]["url"]).content
        assert audio[:4] == b"RIFF"
    else:
        assert region in answer.json()["message"] and "cn-beijing" in answer.json()["message"]


def test_a_formula_reaches_the_service_unchanged(
    cosyvoice_emulator: RunningEmulator, home: Path, tmp_path: Path
) -> None:
    text = "勾股定理是 $a^2 + b^2 = c^2$。它很有用。"
    with CosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as client:
        client.speak(text, tmp_path / "math.wav", voice="longanyang", model="cosyvoice-v3-flash")
    sent = sent_texts(cosyvoice_emulator)
    assert any("$a^2 + b^2 = c^2$" in part for part in sent), sent
    assert "".join(sent).replace(" ", "") == text.replace(" ", "")
