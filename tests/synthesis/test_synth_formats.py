"""Audio from the emulator through our client: every format and rate decodes, and is honest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthesis_helpers import decode, fundamental_hz, pad_allowance

from cosyvoice_clone import catalog
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.emulator.speech import spoken_seconds
from cosyvoice_clone.synthesis import SynthesisOptions, Synthesizer

TEXT = "Hello there, this is a cloned voice. 你好，世界。"

COMBOS = [
    (fmt, rate)
    for fmt in catalog.AUDIO_FORMATS
    for rate in (catalog.OPUS_SAMPLE_RATES if fmt == "opus" else catalog.SAMPLE_RATES)
]


@pytest.mark.parametrize(("fmt", "rate"), COMBOS, ids=[f"{f}-{r}" for f, r in COMBOS])
def test_every_format_and_rate_decodes_with_a_duration_that_follows_the_text(
    synth: Synthesizer, voice: str, cosyvoice_emulator: RunningEmulator, fmt: str, rate: int
) -> None:
    audio = synth.synthesize(
        TEXT, voice=voice, options=SynthesisOptions(format=fmt, sample_rate=rate)
    )
    samples, decoded_rate = decode(audio, fmt, rate)
    assert decoded_rate == rate
    expected = spoken_seconds(TEXT)
    duration = samples.size / rate
    assert expected - 0.01 <= duration <= expected + pad_allowance(fmt)
    if fmt == "wav":
        assert audio[:4] == b"RIFF" and audio.count(b"RIFF") == 1  # one header, first frame only


@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus", "pcm"])
def test_speak_writes_one_file_in_the_format_of_the_extension(
    synth: Synthesizer, voice: str, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out" / f"hello.{fmt}"
    result = synth.speak(
        TEXT, out, voice=voice, options=SynthesisOptions(format=fmt, sample_rate=16000)
    )
    samples, rate = decode(out, fmt, 16000)
    assert rate == 16000
    assert result.path == out and result.format == fmt and result.parts == 1
    assert abs(result.duration - samples.size / rate) < 0.05
    assert result.characters == catalog.text_weight(
        "Hello there, this is a cloned voice."
    ) + catalog.text_weight("你好，世界。")
    assert len(result.request_ids) == 1 and len(result.request_ids[0]) == 32
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary file left


def test_default_format_is_mp3_at_22050(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    import json
    import uuid

    from websockets.sync.client import connect

    headers = {"Authorization": f"Bearer {cosyvoice_emulator.api_key}"}
    with connect(cosyvoice_emulator.websocket_url, additional_headers=headers) as ws:
        task = uuid.uuid4().hex
        ws.send(
            json.dumps(
                {
                    "header": {"action": "run-task", "task_id": task, "streaming": "duplex"},
                    "payload": {
                        "model": "cosyvoice-v3.5-plus",
                        "input": {},
                        "parameters": {"voice": voice, "format": "Default", "sample_rate": 0},
                    },
                }
            )
        )
        ws.send(
            json.dumps(
                {
                    "header": {"action": "continue-task", "task_id": task},
                    "payload": {"input": {"text": "Default format."}},
                }
            )
        )
        ws.send(
            json.dumps(
                {"header": {"action": "finish-task", "task_id": task}, "payload": {"input": {}}}
            )
        )
        audio = b""
        while True:
            frame = ws.recv(timeout=10)
            if isinstance(frame, bytes):
                audio += frame
            elif json.loads(frame)["header"]["event"] in ("task-finished", "task-failed"):
                assert json.loads(frame)["header"]["event"] == "task-finished"
                break
    samples, rate = decode(audio, "mp3", 0)
    assert rate == 22050 and samples.size > 0


def test_duration_follows_text_length_language_and_rate(synth: Synthesizer, voice: str) -> None:
    def seconds(text: str, **kw: float) -> float:
        audio = synth.synthesize(
            text, voice=voice, options=SynthesisOptions(format="pcm", sample_rate=8000, **kw)
        )  # type: ignore[arg-type]
        return len(audio) / 2 / 8000

    short = seconds("Hello world.")
    long = seconds("Hello world. " * 6)
    assert 5.0 < long / short < 7.0
    latin = seconds("abcdefghij")  # 10 Latin letters
    cjk = seconds("一二三四五六七八九十")  # 10 ideographs are spoken more slowly
    assert cjk > 2.5 * latin
    fast = seconds("Hello world. " * 6, rate=2.0)
    assert abs(fast / long - 0.5) < 0.02


def test_pitch_follows_the_voice_and_the_pitch_parameter(
    cosyvoice_emulator: RunningEmulator, synth: Synthesizer
) -> None:
    from synthesis_helpers import make_voice

    low = make_voice(cosyvoice_emulator, prefix="low", pitch_hz=110.0)
    high = make_voice(cosyvoice_emulator, prefix="high", pitch_hz=220.0)
    text = "Aaaa aaaa aaaa aaaa aaaa aaaa aaaa aaaa."

    def f0(voice_id: str, pitch: float = 1.0) -> float:
        audio = synth.synthesize(
            text,
            voice=voice_id,
            options=SynthesisOptions(format="pcm", sample_rate=16000, pitch=pitch),
        )
        samples, rate = decode(audio, "pcm", 16000)
        return fundamental_hz(samples, rate)

    assert abs(f0(low) / 110.0 - 1) < 0.1
    assert abs(f0(high) / 220.0 - 1) < 0.1
    assert abs(f0(low, pitch=1.5) / 165.0 - 1) < 0.1


def test_volume_and_determinism(synth: Synthesizer, voice: str) -> None:
    def audio(**kw: int) -> np.ndarray:
        data = synth.synthesize(
            "Same text, same seed.",
            voice=voice,
            options=SynthesisOptions(format="pcm", sample_rate=8000, **kw),
        )
        return np.frombuffer(data, dtype="<i2").astype(np.float64)

    first, again = audio(seed=7), audio(seed=7)
    assert np.array_equal(first, again)
    quiet, loud, silent = audio(volume=25), audio(volume=100), audio(volume=0)
    assert np.max(np.abs(loud)) > 3 * np.max(np.abs(quiet))
    assert not np.any(silent)
