"""The contract the emulator relies on: service_rejection() and voice_pitch_hz()."""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
import pytest
import soundfile as sf
import soxr

from cosyvoice_clone.audio import SERVICE_MESSAGES, service_rejection, voice_pitch_hz


def _ref() -> bytes:
    return resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()


def _wav(y: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    x, rate = sf.read(io.BytesIO(_ref()), dtype="float32")
    return x, rate


def test_good_sample_is_accepted() -> None:
    assert service_rejection(_ref(), "reference_en.wav") is None


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("short", "Audio.AudioShortError"),
        ("silence", "Audio.AudioSilentError"),
        ("noise", "Audio.AudioShortError"),
        ("8k", "Audio.AudioRateError"),
        ("truncated", "Audio.DecoderError"),
        ("text", "BadRequest.UnsupportedFileFormat"),
    ],
)
def test_bad_samples_get_the_documented_answer(
    speech: tuple[np.ndarray, int], kind: str, code: str
) -> None:
    x, rate = speech
    rng = np.random.default_rng(1)
    data = {
        "short": lambda: _wav(x[: 2 * rate], rate),
        "silence": lambda: _wav(np.zeros(10 * rate, dtype=np.float32), rate),
        "noise": lambda: _wav(0.1 * rng.standard_normal(10 * rate), rate),
        "8k": lambda: _wav(soxr.resample(x, rate, 8000), 8000),
        "truncated": lambda: _ref()[:40],
        "text": lambda: b"this is a text file, not audio\n" * 20,
    }[kind]()
    assert service_rejection(data, "sample.wav") == (code, SERVICE_MESSAGES[code])


def test_messages_are_the_documented_ones() -> None:
    assert SERVICE_MESSAGES == {
        "BadRequest.UnsupportedFileFormat": "File format unsupported.",
        "Audio.DecoderError": "Decoder audio file failed.",
        "Audio.AudioShortError": "valid audio too short!",
        "Audio.AudioSilentError": "silent audio error.",
        "Audio.AudioRateError": "File sample rate unsupported.",
    }


@pytest.mark.parametrize("f0", [90.0, 180.0, 300.0])
def test_pitch_of_a_buzz(f0: float) -> None:
    rate = 16000
    t = np.arange(4 * rate) / rate
    buzz = 0.3 * ((t * f0) % 1.0 - 0.5) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    pitch = voice_pitch_hz(_wav(buzz, rate))
    assert pitch is not None
    assert abs(pitch - f0) / f0 < 0.03


def test_pitch_of_real_speech_is_a_voice_pitch() -> None:
    pitch = voice_pitch_hz(_ref())
    assert pitch is not None and 70 < pitch < 300
    assert voice_pitch_hz(_wav(np.zeros(16000, dtype=np.float32), 16000)) is None
    assert voice_pitch_hz(b"not audio") is None


def test_public_names() -> None:
    import cosyvoice_clone.audio as audio

    assert set(audio.__all__) == {
        "SERVICE_MESSAGES",
        "THRESHOLDS",
        "CheckReport",
        "Decoded",
        "FixResult",
        "Problem",
        "Thresholds",
        "check_sample",
        "decode",
        "fix_sample",
        "service_rejection",
        "voice_pitch_hz",
    }
    for name in audio.__all__:
        assert getattr(audio, name) is not None
