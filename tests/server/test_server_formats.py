"""Each of OpenAI's six formats through the `openai` package, decoded and measured."""

from __future__ import annotations

import io
from typing import Any

import pytest
import soundfile as sf
from tests.server.server_helpers import openai_client

from cosyvoice_clone.emulator.server import RunningEmulator

TEXT = "Hello from a cloned voice. This is the second sentence."


def decode(data: bytes, fmt: str) -> tuple[int, float]:
    """(sample rate, seconds) of the audio OpenAI-style clients would get."""
    if fmt == "pcm":  # raw 24 kHz 16-bit mono, as OpenAI defines it
        assert len(data) % 2 == 0
        return 24000, len(data) / 2 / 24000
    if fmt == "aac":
        import av

        with av.open(io.BytesIO(data)) as container:
            frames = list(container.decode(audio=0))
        rate = frames[0].sample_rate
        return rate, sum(f.samples for f in frames) / rate
    samples, rate = sf.read(io.BytesIO(data), dtype="float64")
    return int(rate), len(samples) / rate


@pytest.fixture
def reference_seconds(server: Any, voice: str) -> float:
    with openai_client(server) as client:
        data = client.audio.speech.create(
            model="tts-1", voice=voice, input=TEXT, response_format="pcm"
        ).content
    return len(data) / 2 / 24000


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
def test_each_format_decodes_at_24khz_with_the_right_duration(
    server: Any, fmt: str, reference_seconds: float
) -> None:
    with openai_client(server) as client:
        response = client.audio.speech.create(
            model="gpt-4o-mini-tts", voice="myvoice", input=TEXT, response_format=fmt
        )
    rate, seconds = decode(response.content, fmt)
    assert rate == 24000
    assert reference_seconds > 1.0
    assert abs(seconds - reference_seconds) < 0.15, (fmt, seconds, reference_seconds)
    assert response.response.headers["x-dashscope-request-id"]


def test_default_format_is_mp3(server: Any) -> None:
    with openai_client(server) as client:
        response = client.audio.speech.create(model="tts-1", voice="myvoice", input=TEXT)
    assert response.response.headers["content-type"] == "audio/mpeg"
    assert decode(response.content, "mp3")[0] == 24000


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
def test_long_input_beyond_openai_limit_is_one_valid_stream(
    server: Any, cosyvoice_emulator: RunningEmulator, fmt: str
) -> None:
    sentence = "The quick brown fox jumps over the lazy dog near the river bank. "
    text = sentence * 80  # 5,200 characters: more than OpenAI's 4,096, several tasks
    assert len(text) > 4096
    with openai_client(server) as client:
        data = client.audio.speech.create(
            model="tts-1", voice="myvoice", input=text, response_format=fmt
        ).content
        short = client.audio.speech.create(
            model="tts-1", voice="myvoice", input=sentence, response_format="pcm"
        ).content
    rate, seconds = decode(data, fmt)
    one = len(short) / 2 / 24000
    assert rate == 24000
    assert abs(seconds - 80 * one) < 0.05 * 80 * one, (seconds, one)
