"""The calls the doors use, on both faces, against the emulator: stream_speech, resolve_voice,
ping, check_sample/fix_sample, speak(timestamps=), design(preview_out=), wait's status."""

from __future__ import annotations

import asyncio
import io
import json
import os
from pathlib import Path

import pytest
import soundfile as sf
from tests.synthesis.synthesis_helpers import MODEL, make_voice, register_voice

from cosyvoice_clone import AsyncCosyVoice, CosyVoice, VoiceStatus, catalog, errors
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.models import PingResult, SpeakingVoice


def _registered(emulator: RunningEmulator, prefix: str = "reader") -> str:
    voice = make_voice(emulator, prefix=prefix)
    register_voice(os.environ["COSYVOICE_CLONE_HOME"], voice, prefix, emulator.http_base)
    return voice


def test_sync_stream_speech_yields_a_decodable_file_in_order(
    cosyvoice_emulator_env: RunningEmulator,
) -> None:
    voice = _registered(cosyvoice_emulator_env)
    text = "The first sentence is here. " * 30 + "And the last one."
    with CosyVoice() as cv, cv.stream_speech(text, voice="reader", format="wav") as stream:
        assert stream.voice == voice and stream.media_type == "audio/wav"
        assert stream.sample_rate == catalog.default_sample_rate("wav")
        data = b"".join(stream)
        assert stream.request_ids and stream.characters > 0
    audio, rate = sf.read(io.BytesIO(data))
    assert rate == 22050 and len(audio) / rate > 5.0


async def test_async_stream_speech_opus_and_first_errors_before_any_byte(
    cosyvoice_emulator_env: RunningEmulator,
) -> None:
    _registered(cosyvoice_emulator_env)
    async with AsyncCosyVoice() as cv:
        stream = await cv.stream_speech("Hello there.", voice="reader", format="opus")
        async with stream:
            data = b"".join([chunk async for chunk in stream])
        assert stream.sample_rate == 24000 and data[:4] == b"OggS"
        with pytest.raises(errors.UnknownVoiceError):
            await cv.stream_speech("Hello.", voice="nobody")
        with pytest.raises(errors.InvalidRequestError) as bad:
            await cv.stream_speech("Hello.", voice="reader", format="ogg")
        assert bad.value.field == "format"
        with pytest.raises(errors.ModelMismatchError):
            await cv.stream_speech("Hello.", voice="reader", model="cosyvoice-v1")


def test_resolve_voice_applies_the_speaking_rules(cosyvoice_emulator_env: RunningEmulator) -> None:
    voice = _registered(cosyvoice_emulator_env)
    with CosyVoice() as cv:
        assert cv.resolve_voice("reader") == SpeakingVoice(voice, MODEL, MODEL)
        system = cv.resolve_voice("longxiaochun_v2")
        assert system.system and system.model == "cosyvoice-v2"
        with pytest.raises(errors.UnknownVoiceError):
            cv.resolve_voice("nobody")
        assert cv.voices.system("cosyvoice-v2")  # an instance method on both faces


async def test_async_resolve_and_system_voices(cosyvoice_emulator_env: RunningEmulator) -> None:
    _registered(cosyvoice_emulator_env)
    async with AsyncCosyVoice() as cv:
        assert (await cv.resolve_voice("reader")).target_model == MODEL
        assert [v.name for v in await cv.voices.system("cosyvoice-v2")] == [
            v.name for v in catalog.system_voices("cosyvoice-v2")
        ]


def test_ping_accepts_the_key_and_reports_a_refused_one(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    where = {"http_base": cosyvoice_emulator.http_base, "region": "cn-beijing"}
    with CosyVoice(api_key=cosyvoice_emulator.api_key, **where) as cv:
        ok = cv.ping()
    assert isinstance(ok, PingResult) and ok.accepted is True and ok.error is None
    assert ok.to_dict()["endpoint"] == cosyvoice_emulator.http_base and "ok" not in ok.to_dict()
    with CosyVoice(api_key="sk-wrong-key-123456", retry=None, **where) as cv:
        refused = cv.ping()
    assert refused.accepted is False and isinstance(refused.error, errors.AuthenticationError)
    assert "sk-wrong-key-123456" not in json.dumps(refused.to_dict())
    with CosyVoice(api_key="sk-x", http_base="http://127.0.0.1:9", retry=None) as cv:
        unreachable = cv.ping()
    assert unreachable.accepted is None and isinstance(unreachable.error, errors.TransportError)


async def test_async_ping(cosyvoice_emulator_env: RunningEmulator) -> None:
    async with AsyncCosyVoice() as cv:
        assert (await cv.ping()).accepted is True


def test_check_and_fix_sample_on_both_faces(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    import numpy as np

    rate = 16000
    t = np.arange(rate * 12) / rate
    speech = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    quiet = tmp_path / "quiet.wav"
    sf.write(str(quiet), (speech * 0.02).astype("float32"), rate, subtype="PCM_16")
    with CosyVoice() as cv:
        report = cv.check_sample(quiet, target_model="cosyvoice-v2")
        assert report.to_dict()["verdict"] == report.verdict
        fixed = cv.fix_sample(quiet, tmp_path / "fixed.wav", target_model="cosyvoice-v2")
        assert fixed.written == (tmp_path / "fixed.wav").is_file()

    async def main() -> str:
        async with AsyncCosyVoice() as acv:
            return (await acv.check_sample(quiet)).verdict

    assert asyncio.run(main()) == report.verdict


def test_speak_writes_timestamps_and_refuses_the_same_file(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    _registered(cosyvoice_emulator_env)
    out, stamps = tmp_path / "a.wav", tmp_path / "subs" / "a.srt"
    with CosyVoice() as cv:
        result = cv.speak("Hello from the library.", out, voice="reader", timestamps=stamps,
                          mkdir=True)  # fmt: skip
        assert result.timestamps == stamps and result.to_dict()["timestamps"] == str(stamps)
        lines = stamps.read_text().splitlines()
        assert lines[0] == "1" and " --> " in lines[1] and lines[2] == "Hello"
        with pytest.raises(errors.InvalidRequestError) as same:
            cv.speak("Hi.", tmp_path / "b.wav", voice="reader", timestamps=tmp_path / "b.wav")
        assert same.value.field == "timestamps" and not (tmp_path / "b.wav").exists()


def test_design_writes_the_preview_and_wait_returns_a_status(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    with CosyVoice(
        api_key=cosyvoice_emulator.api_key,
        http_base=cosyvoice_emulator.http_base,
        websocket_url=cosyvoice_emulator.websocket_url,
    ) as cv:
        with pytest.raises(errors.InvalidRequestError):  # refused before a slot is spent
            cv.design(prefix="host", prompt="A calm narrator", preview_out=tmp_path / "n" / "p.mp3")
        assert cosyvoice_emulator.backend.voice_count() == 0
        result = cv.design(
            prefix="host", prompt="A calm narrator", target_model="cosyvoice-v3-flash",
            preview_out=tmp_path / "p.mp3",
        )  # fmt: skip
        assert result.preview_format == "mp3" and result.preview_out == str(tmp_path / "p.mp3")
        assert (tmp_path / "p.mp3").read_bytes() == result.preview
        assert result.to_dict()["preview"]["written_to"] == str(tmp_path / "p.mp3")
        status = cv.wait(result.voice_id, timeout=60)
        assert status is VoiceStatus.OK


def test_sync_face_takes_max_connections(cosyvoice_emulator_env: RunningEmulator) -> None:
    with CosyVoice(max_connections=2) as cv:
        assert cv.voices.list() == []
