"""The non-streaming HTTP synthesis endpoint (protocol section 4): plain and SSE."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import pytest
import soundfile as sf
from emulator_helpers import action

from cosyvoice_clone.emulator.server import RunningEmulator

PATH = "/services/audio/tts/SpeechSynthesizer"
TEXT = "Hello from the offline emulator. This is a second sentence."


def make_voice(emulator: RunningEmulator, model: str = "cosyvoice-v3-flash") -> str:
    response = action(
        emulator, "create_voice", target_model=model, prefix="http", url=emulator.sample_url()
    )
    return str(response.json()["output"]["voice_id"])


def post(
    emulator: RunningEmulator, payload: Any, *, sse: bool = False, key: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or emulator.api_key}"}
    if sse:
        headers["X-DashScope-SSE"] = "enable"
    return httpx.post(emulator.http_base + PATH, json=payload, headers=headers, timeout=30)


@pytest.mark.parametrize(("fmt", "rate"), [("wav", 24000), ("mp3", 22050), ("opus", 48000)])
def test_plain_returns_a_url_to_a_decodable_file(
    cosyvoice_emulator: RunningEmulator, fmt: str, rate: int
) -> None:
    voice = make_voice(cosyvoice_emulator)
    response = post(
        cosyvoice_emulator,
        {
            "model": "cosyvoice-v3-flash",
            "input": {"text": TEXT, "voice": voice, "format": fmt, "sample_rate": rate},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"]["finish_reason"] == "stop"
    assert body["usage"] == {"characters": len(TEXT)}
    audio = body["output"]["audio"]
    assert audio["expires_at"] > 0 and audio["id"] == body["request_id"]
    data = httpx.get(audio["url"]).content
    info = sf.info(io.BytesIO(data))
    assert info.samplerate == rate and 2.0 < info.duration < 8.0
    if fmt == "wav":  # a downloadable WAV carries its real sizes
        assert int.from_bytes(data[40:44], "little") == len(data) - 44


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]


def test_sse_streams_sentences_with_audio_then_stop_with_a_url(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    voice = make_voice(cosyvoice_emulator)
    payload = {
        "model": "cosyvoice-v3-flash",
        "input": {"text": TEXT, "voice": voice, "format": "pcm", "sample_rate": 16000},
    }
    response = post(cosyvoice_emulator, payload, sse=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    *chunks, final = (e["output"] for e in events)
    assert {c["type"] for c in chunks} == {"sentence-begin", "sentence-synthesis", "sentence-end"}
    assert [c["sentence"]["index"] for c in chunks if c["type"] == "sentence-end"] == [0, 1]
    assert final["finish_reason"] == "stop" and "type" not in final
    pcm = b"".join(base64.b64decode(c["audio"]["data"]) for c in chunks if "audio" in c)
    assert httpx.get(final["audio"]["url"]).content == pcm  # the full audio, fetchable
    seconds = len(pcm) / 2 / 16000
    plain = post(cosyvoice_emulator, {**payload, "input": {**payload["input"], "format": "wav"}})
    wav = httpx.get(plain.json()["output"]["audio"]["url"]).content
    assert wav[44:] == pcm  # deterministic: the same speech either way
    assert 2.0 < seconds < 8.0


def test_sse_word_timestamps_when_asked(cosyvoice_emulator: RunningEmulator) -> None:
    voice = make_voice(cosyvoice_emulator)
    data = {"text": TEXT, "voice": voice, "word_timestamp_enabled": True}
    events = sse_events(
        post(cosyvoice_emulator, {"model": "cosyvoice-v3-flash", "input": data}, sse=True)
    )
    ends = [e["output"] for e in events if e["output"].get("type") == "sentence-end"]
    words = [w for end in ends for w in end["sentence"]["words"]]
    assert [w["text"] for w in words][:3] == ["Hello", "from", "the"]
    assert all(w["end_time"] > w["begin_time"] for w in words)
    assert words == sorted(words, key=lambda w: w["begin_time"])


@pytest.mark.parametrize("fmt", ["mp3", "opus"])
def test_sse_encoder_tail_stays_inside_the_last_sentence(
    cosyvoice_emulator: RunningEmulator, fmt: str
) -> None:
    voice = make_voice(cosyvoice_emulator)
    data = {"text": TEXT, "voice": voice, "format": fmt, "sample_rate": 24000}
    events = sse_events(
        post(cosyvoice_emulator, {"model": "cosyvoice-v3-flash", "input": data}, sse=True)
    )
    outputs = [e["output"] for e in events[:-1]]
    assert outputs[-1]["type"] == "sentence-end"
    assert {o["sentence"]["index"] for o in outputs} == {0, 1}
    audio = b"".join(base64.b64decode(o["audio"]["data"]) for o in outputs if "audio" in o)
    assert 2.0 < sf.info(io.BytesIO(audio)).duration < 8.0


def test_http_synthesis_is_beijing_only(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_region("ap-southeast-1")
    data = {"text": TEXT, "voice": "longxiaochun_v2"}
    for sse in (False, True):
        r = post(cosyvoice_emulator, {"model": "cosyvoice-v2", "input": data}, sse=sse)
        assert (r.status_code, r.json()["code"]) == (400, "InvalidParameter")
        assert "ap-southeast-1" in r.json()["message"]


def test_sdk_http_synthesizer_streams_audio_and_gives_a_url(
    cosyvoice_emulator_env: RunningEmulator,
) -> None:
    from dashscope.audio.http_tts import HttpSpeechSynthesizer

    args = {
        "model": "cosyvoice-v3-flash",
        "text": TEXT,
        "voice": "longanyang",
        "api_key": cosyvoice_emulator_env.api_key,
        "url": cosyvoice_emulator_env.http_base,
    }
    parts = list(
        HttpSpeechSynthesizer.call(**args, audio_format="pcm", sample_rate=16000, stream=True)
    )
    *chunks, last = parts
    streamed = b"".join(p.audio_data for p in chunks)
    assert chunks and len(streamed) > 16000 * 2 * 2  # over two seconds of 16-bit audio
    assert last.audio_data == streamed and last.audio_url
    assert [s["index"] for s in last.sentences if s.get("begin_time") is not None] == [0, 1]
    assert httpx.get(last.audio_url).content == streamed

    plain = HttpSpeechSynthesizer.call(**args, audio_format="wav", sample_rate=24000)
    assert plain.status_code == 200 and plain.audio_data is None
    info = sf.info(io.BytesIO(httpx.get(plain.audio_url).content))
    assert info.samplerate == 24000 and 2.0 < info.duration < 8.0


def test_refusals(cosyvoice_emulator: RunningEmulator) -> None:
    voice = make_voice(cosyvoice_emulator)

    def code(payload: Any, **kwargs: Any) -> tuple[int, str, str]:
        r = post(cosyvoice_emulator, payload, **kwargs)
        return r.status_code, r.json()["code"], r.json()["message"]

    base = {"text": TEXT, "voice": voice}
    assert code({"model": "cosyvoice-v2", "input": base}) == (
        400,
        "InvalidParameter",
        "[tts:]Engine return error code: 418",
    )
    unknown = {"text": TEXT, "voice": "cosyvoice-v3-flash-x-" + "0" * 32}
    assert code({"model": "cosyvoice-v3-flash", "input": unknown})[2].endswith("418")
    assert code({"model": "cosyvoice-v3-flash", "input": base}, key="wrong")[:2] == (
        401,
        "InvalidApiKey",
    )
    for bad in (
        {"text": "", "voice": voice},
        {"text": TEXT},
        {"text": "字" * 10_001, "voice": voice},
        {**base, "format": "flac"},
        {**base, "format": "opus", "sample_rate": 22050},
        {**base, "volume": 101},
        {**base, "rate": "fast"},
    ):
        assert code({"model": "cosyvoice-v3-flash", "input": bad})[:2] == (
            400,
            "InvalidParameter",
        ), bad
    assert code({"model": "nope", "input": base})[1] == "InvalidParameter"
    assert code({"model": "cosyvoice-v3-flash"})[1] == "InvalidParameter"

    cosyvoice_emulator.set_rate_limits(True)  # 3 requests/s per model
    short = {"model": "cosyvoice-v3-flash", "input": {"text": "Hi.", "voice": voice}}
    statuses = [post(cosyvoice_emulator, short).status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses
