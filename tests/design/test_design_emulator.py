"""Voice design on the emulator, driven by the official dashscope SDK (2.0.2) and raw HTTP.

SDK 2.0.2 has no CosyVoice design call of its own: its 2.0 client's ``audio.voices.create``
(``extra_input=``, ``parameters=``) sends the documented body and models ``preview_audio`` on the
answer; its 1.x ``VoiceEnrollmentService`` lists, queries and deletes designed voices unchanged,
and ``SpeechSynthesizer`` speaks with them.
"""

from __future__ import annotations

import base64
import io
import warnings
from typing import Any

import dashscope
import httpx
import pytest
import soundfile as sf
from dashscope.audio.tts_v2 import SpeechSynthesizer, VoiceEnrollmentService
from dashscope.audio.tts_v2.enrollment import VoiceEnrollmentException

from cosyvoice_clone import audio, catalog
from cosyvoice_clone.emulator.backend import design_traits
from cosyvoice_clone.emulator.server import RunningEmulator

DEEP = "A deep, slow male announcer with a magnetic voice"
HIGH = "A bright, high and fast young female host"


def sdk_design(emulator: RunningEmulator, prompt: str, **parameters: Any) -> Any:
    from dashscope.v2 import Client

    client = Client(api_key=emulator.api_key, base_url=emulator.http_base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "2.0 audio API is a preview"
        return client.audio.voices.create(
            target_model="cosyvoice-v3.5-plus",
            prefix="news",
            url="",
            extra_input={"voice_prompt": prompt, "preview_text": "Good evening. Here is the news."},
            parameters=parameters or None,
        )


def post(emulator: RunningEmulator, data: dict[str, Any], **parameters: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "model": "voice-enrollment",
        "input": {"action": "create_voice", **data},
    }
    if parameters:
        body["parameters"] = parameters
    return httpx.post(
        f"{emulator.http_base}/services/audio/tts/customization",
        json=body,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        timeout=30,
    )


def design_input(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "target_model": "cosyvoice-v3.5-plus",
        "prefix": "news",
        "voice_prompt": DEEP,
        "preview_text": "Good evening.",
        "language_hints": ["en"],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_sdk_designs_then_lists_queries_speaks_and_deletes(
    cosyvoice_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = sdk_design(cosyvoice_emulator, DEEP, sample_rate=16000, response_format="wav")
    voice_id = made.voice_id
    assert voice_id.startswith("cosyvoice-v3.5-plus-vd-news-")
    assert len(voice_id.rsplit("-", 1)[1]) == 32
    assert set(made.preview_audio) == {"data", "sample_rate", "response_format"}
    assert (made.preview_audio["sample_rate"], made.preview_audio["response_format"]) == (
        16000,
        "wav",
    )
    preview = base64.b64decode(made.preview_audio["data"])
    info = sf.info(io.BytesIO(preview))
    assert info.samplerate == 16000 and 1.0 < info.duration < 6.0

    sdk = VoiceEnrollmentService(
        api_key=cosyvoice_emulator.api_key, base_address=cosyvoice_emulator.http_base
    )
    details = sdk.query_voice(voice_id)
    assert details["status"] == "OK" and details["target_model"] == "cosyvoice-v3.5-plus"
    assert set(details) == {"gmt_create", "gmt_modified", "status", "target_model", "resource_link"}
    assert [v["voice_id"] for v in sdk.list_voices(prefix="news")] == [voice_id]

    monkeypatch.setattr(dashscope, "api_key", cosyvoice_emulator.api_key)
    synthesizer = SpeechSynthesizer(
        model="cosyvoice-v3.5-plus", voice=voice_id, url=cosyvoice_emulator.websocket_url
    )
    spoken = bytes(synthesizer.call("Good evening, listeners.", timeout_millis=20_000))
    assert sf.info(io.BytesIO(spoken)).duration > 0.5
    other = SpeechSynthesizer(  # bound to its target model, like a clone
        model="cosyvoice-v3-flash", voice=voice_id, url=cosyvoice_emulator.websocket_url
    )
    with pytest.raises(Exception, match="418"):
        other.call("Good evening.", timeout_millis=20_000)

    assert sdk.delete_voice(voice_id) is None
    assert sdk.list_voices(prefix="news") == []
    with pytest.raises(VoiceEnrollmentException) as gone:
        sdk.query_voice(voice_id)
    assert gone.value._code == "BadRequest.ResourceNotExist"


def test_the_description_decides_pitch_and_rate(cosyvoice_emulator: RunningEmulator) -> None:
    deep = sdk_design(cosyvoice_emulator, DEEP)
    high = sdk_design(cosyvoice_emulator, HIGH)
    deep_audio = base64.b64decode(deep.preview_audio["data"])
    high_audio = base64.b64decode(high.preview_audio["data"])
    assert deep.preview_audio["sample_rate"] == catalog.DEFAULT_DESIGN_SAMPLE_RATE
    deep_pitch, high_pitch = audio.voice_pitch_hz(deep_audio), audio.voice_pitch_hz(high_audio)
    assert deep_pitch is not None and high_pitch is not None
    assert deep_pitch < 150 < 190 < high_pitch
    # same preview text: the slow voice takes longer than the fast one
    assert sf.info(io.BytesIO(deep_audio)).duration > 1.3 * sf.info(io.BytesIO(high_audio)).duration
    # the same description always makes the same voice
    assert design_traits(DEEP) == design_traits(DEEP)
    assert design_traits("低沉缓慢的男声")[1] == 0.8 and design_traits("语速很快的女声")[1] == 1.25
    assert design_traits("低沉的男声")[0] < design_traits("清亮高亢的女声")[0]


@pytest.mark.parametrize("fmt", ["pcm", "mp3", "opus"])
def test_every_preview_format(cosyvoice_emulator: RunningEmulator, fmt: str) -> None:
    response = post(cosyvoice_emulator, design_input(), sample_rate=48000, response_format=fmt)
    assert response.status_code == 200, response.text
    preview = response.json()["output"]["preview_audio"]
    data = base64.b64decode(preview["data"])
    assert preview["response_format"] == fmt and preview["sample_rate"] == 48000
    if fmt == "pcm":
        assert len(data) % 2 == 0 and len(data) > 48000  # over half a second of 16-bit mono
    else:
        assert sf.info(io.BytesIO(data)).samplerate == 48000


@pytest.mark.parametrize(
    ("changes", "parameters", "message"),
    [
        ({"voice_prompt": ""}, {}, "Missing required parameter: voice_prompt"),
        ({"preview_text": None}, {}, "Missing required parameter: preview_text"),
        ({"voice_prompt": "x" * 501}, {}, "voice_prompt is too long"),
        ({"voice_prompt": "深" * 500}, {}, None),  # 500 characters is fine
        ({"preview_text": "y" * 201}, {}, "preview_text is too long"),
        ({"voice_prompt": "Низкий мужской голос"}, {}, "Chinese or English"),
        ({"preview_text": "こんにちは"}, {}, "Chinese or English"),
        ({"language_hints": ["ja"]}, {}, "not supported by voice design"),
        ({"target_model": "cosyvoice-v2"}, {}, "does not support voice design"),
        ({"target_model": None}, {}, "Missing required parameter: target_model"),
        ({"prefix": "bad_prefix!"}, {}, "prefix must be"),
        ({"url": "https://example.com/a.wav"}, {}, "cannot be used together"),
        ({}, {"sample_rate": 11025}, "sample_rate 11025"),
        ({}, {"response_format": "flac"}, "response_format 'flac'"),
    ],
)
def test_documented_validation(
    cosyvoice_emulator: RunningEmulator,
    changes: dict[str, Any],
    parameters: dict[str, Any],
    message: str | None,
) -> None:
    response = post(cosyvoice_emulator, design_input(**changes), **parameters)
    if message is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameter" and message in body["message"]
    assert cosyvoice_emulator.backend.voice_count() == 0


def test_region_rule_and_quota(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_region("ap-southeast-1")
    for model in catalog.DESIGN_MODELS:
        refused = post(cosyvoice_emulator, design_input(target_model=model))
        assert refused.status_code == 400 and "not supported in region" in refused.json()["message"]
    cosyvoice_emulator.set_region("cn-beijing")
    cosyvoice_emulator.set_quota(1)
    assert post(cosyvoice_emulator, design_input()).status_code == 200
    full = post(cosyvoice_emulator, design_input())
    assert full.json()["code"] == "Throttling.AllocationQuota"  # designed voices use slots too
