"""`CosyVoice.speak` / `AsyncCosyVoice.speak`: the library's one-call synthesis."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import soundfile as sf
from synthesis_helpers import make_voice, register_voice

from cosyvoice_clone.client import AsyncCosyVoice, CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import ModelMismatchError
from cosyvoice_clone.speech import write_timestamps


def test_speak_with_a_registered_prefix(cosyvoice_emulator_env: RunningEmulator,
                                        tmp_path: Path) -> None:  # fmt: skip
    voice = make_voice(cosyvoice_emulator_env, prefix="reader")
    register_voice(os.environ["COSYVOICE_CLONE_HOME"], voice, "reader",
                   cosyvoice_emulator_env.http_base)  # fmt: skip
    with CosyVoice() as client:
        result = client.speak("Hello from the library.", tmp_path / "lib.opus", voice="reader",
                              sample_rate=16000, word_timestamps=True)  # fmt: skip
        assert result.voice == voice and result.format == "opus" and result.sample_rate == 16000
        assert [w.text for w in result.words] == ["Hello", "from", "the", "library"]
        assert sf.info(str(tmp_path / "lib.opus")).samplerate == 16000
        lines = (
            write_timestamps(tmp_path / "subs" / "lib.srt", result, mkdir=True)
            .read_text()
            .splitlines()
        )
        assert lines[0] == "1" and " --> " in lines[1] and lines[2] == "Hello"
        with pytest.raises(ModelMismatchError):
            client.speak("No.", tmp_path / "no.wav", voice="reader", model="cosyvoice-v2")

    async def main() -> float:
        async with AsyncCosyVoice() as client:
            result = await client.speak("And asynchronously.", tmp_path / "a.wav", voice=voice)
            return result.duration

    assert asyncio.run(main()) > 1.0
