"""The official dashscope SDK's SpeechSynthesizer (unchanged) against the emulator's WebSocket."""

from __future__ import annotations

import io
import json
import threading

import dashscope
import numpy as np
import pytest
import soundfile as sf
from dashscope.audio.tts_v2 import AudioFormat, ResultCallback, SpeechSynthesizer

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.emulator.speech import spoken_seconds

TEXT = "Hello from the official SDK. 这是一个测试。"


@pytest.fixture
def sdk(cosyvoice_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    """Point the SDK at the emulator (its URL is also passed explicitly to each synthesizer)."""
    monkeypatch.setattr(dashscope, "api_key", cosyvoice_emulator.api_key)
    cosyvoice_emulator.set_rate_limits(False)
    return cosyvoice_emulator


def decode(audio: bytes, fmt: str, rate: int) -> tuple[np.ndarray, int]:
    if fmt == "pcm":
        return np.frombuffer(audio, dtype="<i2"), rate
    data, decoded = sf.read(io.BytesIO(audio))
    return data, int(decoded)


@pytest.mark.parametrize(
    "audio_format",
    [
        AudioFormat.WAV_16000HZ_MONO_16BIT,
        AudioFormat.WAV_48000HZ_MONO_16BIT,
        AudioFormat.MP3_22050HZ_MONO_256KBPS,
        AudioFormat.MP3_8000HZ_MONO_128KBPS,
        AudioFormat.PCM_24000HZ_MONO_16BIT,
        AudioFormat.OGG_OPUS_16KHZ_MONO_32KBPS,
        AudioFormat.OGG_OPUS_48KHZ_MONO_64KBPS,
        AudioFormat.DEFAULT,
    ],
    ids=lambda f: f.name,
)
def test_call_returns_decodable_audio(sdk: RunningEmulator, voice: str,
                                      audio_format: AudioFormat) -> None:  # fmt: skip
    synthesizer = SpeechSynthesizer(
        model="cosyvoice-v3.5-plus", voice=voice, format=audio_format, url=sdk.websocket_url
    )
    audio = synthesizer.call(TEXT, timeout_millis=20_000)
    fmt = "mp3" if audio_format.format == "Default" else audio_format.format
    rate = audio_format.sample_rate or 22050
    samples, decoded_rate = decode(audio, fmt, rate)
    assert decoded_rate == rate
    duration = len(samples) / rate
    assert spoken_seconds(TEXT) - 0.01 <= duration <= spoken_seconds(TEXT) + 0.3
    assert len(synthesizer.get_last_request_id()) == 32
    assert 0 <= synthesizer.get_first_package_delay() < 5000


def test_streaming_call_with_callbacks(sdk: RunningEmulator, voice: str) -> None:
    class Collect(ResultCallback):
        def __init__(self) -> None:
            self.audio = bytearray()
            self.events: list[dict[str, object]] = []
            self.opened = self.completed = self.closed = False
            self.errors: list[str] = []
            self.done = threading.Event()

        def on_open(self) -> None:
            self.opened = True

        def on_data(self, data: bytes) -> None:
            self.audio += data

        def on_event(self, message: str) -> None:
            self.events.append(json.loads(message))

        def on_complete(self) -> None:
            self.completed = True

        def on_error(self, message: str) -> None:
            self.errors.append(message)

        def on_close(self) -> None:
            self.closed = True
            self.done.set()

    callback = Collect()
    synthesizer = SpeechSynthesizer(
        model="cosyvoice-v3.5-plus", voice=voice, format=AudioFormat.WAV_24000HZ_MONO_16BIT,
        callback=callback, url=sdk.websocket_url,
    )  # fmt: skip
    pieces = ["Streaming text ", "arrives in pieces. ", "第二句话", "在这里。", "And the end."]
    for piece in pieces:
        synthesizer.streaming_call(piece)
    synthesizer.streaming_complete(complete_timeout_millis=20_000)
    assert callback.done.wait(5)
    assert callback.opened and callback.completed and not callback.errors
    samples, rate = decode(bytes(callback.audio), "wav", 24000)
    assert rate == 24000
    full = "".join(pieces)
    assert abs(len(samples) / rate - spoken_seconds(full)) < 0.05
    kinds = [e["payload"]["output"]["type"] for e in callback.events]  # type: ignore[index]
    assert kinds[0] == "sentence-begin" and kinds[-1] == "sentence-end"
    ends = [e for e in callback.events if e["payload"]["output"]["type"] == "sentence-end"]  # type: ignore[index]
    spoken = [e["payload"]["output"]["original_text"] for e in ends]  # type: ignore[index]
    assert spoken == ["Streaming text arrives in pieces.", "第二句话在这里。", "And the end."]
    usage = [e["payload"]["usage"]["characters"] for e in ends]  # type: ignore[index]
    assert usage == sorted(usage) and usage[-1] > 0  # cumulative


def test_model_mismatch_fails_with_the_services_418(sdk: RunningEmulator, voice: str) -> None:
    synthesizer = SpeechSynthesizer(
        model="cosyvoice-v2", voice=voice, format=AudioFormat.WAV_16000HZ_MONO_16BIT,
        url=sdk.websocket_url,
    )  # fmt: skip
    with pytest.raises(Exception) as caught:
        synthesizer.call("This voice belongs to another model.", timeout_millis=10_000)
    assert "InvalidParameter" in str(caught.value) and "418" in str(caught.value)


def test_cancel_stops_the_task(sdk: RunningEmulator, voice: str) -> None:
    sdk.set_rtf(1.0)  # slow enough to cancel in the middle

    class Collect(ResultCallback):
        def __init__(self) -> None:
            self.audio = bytearray()
            self.completed = threading.Event()

        def on_data(self, data: bytes) -> None:
            self.audio += data

        def on_complete(self) -> None:
            self.completed.set()

    callback = Collect()
    synthesizer = SpeechSynthesizer(
        model="cosyvoice-v3.5-plus", voice=voice, format=AudioFormat.PCM_16000HZ_MONO_16BIT,
        callback=callback, url=sdk.websocket_url,
    )  # fmt: skip
    synthesizer.streaming_call("A long sentence that would take many seconds to speak. " * 5)
    synthesizer.streaming_flush()
    synthesizer.streaming_cancel(complete_timeout_millis=5_000)
    assert callback.completed.is_set()
    assert len(callback.audio) / 2 / 16000 < 5  # far less than the whole text
