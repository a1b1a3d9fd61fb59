"""Live speech sessions of the library against the emulator: text in over time, audio out."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from cosyvoice_clone import AsyncCosyVoice, CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError, ModelMismatchError, UnknownVoiceError
from cosyvoice_clone.synthesis.live import speak_live
from cosyvoice_clone.synthesis.sinks import FileSink
from cosyvoice_clone.synthesis.text import TextChunker

pytestmark = pytest.mark.timeout(60)

STORY = (
    "Once upon a time, there was a small robot. It liked to sing in the morning. "
    "每天早上，它都会唱歌。 Then it went to work, and it worked all day long! The end."
)


def tokens(text: str) -> list[str]:
    """LLM-like tokens: words with their following space, CJK one character at a time."""
    out: list[str] = []
    for word in text.split(" "):
        if any("\u4e00" <= c <= "\u9fff" for c in word):
            out.extend(word)
            out[-1] += " "
        else:
            out.append(word + " ")
    return out


def decode(data: bytes, fmt: str, rate: int) -> tuple[np.ndarray, int]:
    if fmt == "pcm":
        return np.frombuffer(data, dtype="<i2"), rate
    samples, sr = sf.read(io.BytesIO(data), dtype="int16")
    return samples, int(sr)


def websocket_actions(emulator: RunningEmulator) -> list[str]:
    entries = emulator.backend.recorded("websocket").get("websocket", [])
    return [e["message"]["header"]["action"] for e in entries]


def reference(voice: str, text: str, tmp_path: Path) -> tuple[float, int]:
    """Duration and billed characters of ``text`` spoken the ordinary way (one speak call)."""
    with CosyVoice() as cv:
        result = cv.speak(text, tmp_path / "reference.wav", voice=voice)
    return float(result.duration), result.characters


async def feed_tokens(live: Any, parts: list[str], log: list[str], delay: float = 0.02) -> None:
    for part in parts:
        await live.send(part)
        log.append("sent")
        await asyncio.sleep(delay)
    log.append("input complete")
    await live.close()


@pytest.mark.parametrize("fmt", ["wav", "mp3", "pcm"])
async def test_tokens_one_by_one_stream_audio_before_the_input_ends(
    voice: str, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path, fmt: str
) -> None:
    log: list[str] = []
    chunks: list[bytes] = []
    async with AsyncCosyVoice() as cv, cv.live(voice=voice, format=fmt, sample_rate=24000) as live:
        feeder = asyncio.create_task(feed_tokens(live, tokens(STORY), log))
        async for chunk in live.audio():
            if not chunks:
                log.append("first audio")
            chunks.append(chunk)
        await feeder
    assert log.index("first audio") < log.index("input complete")
    actions = websocket_actions(cosyvoice_emulator_env)
    samples, rate = decode(b"".join(chunks), fmt, 24000)
    assert rate == 24000
    seconds = samples.size / rate
    seconds_whole, billed_whole = reference(voice, STORY, tmp_path)
    assert seconds == pytest.approx(seconds_whole, abs=0.15 if fmt == "mp3" else 0.02)
    result = live.result
    assert result.tasks == 1 and result.characters == billed_whole
    assert result.time_to_first_audio is not None and result.bytes == len(b"".join(chunks))
    # Natural units: fewer continue-tasks than tokens, one run-task, one finish-task.
    assert actions.count("run-task") == 1 and actions.count("finish-task") == 1
    assert 3 <= actions.count("continue-task") < len(tokens(STORY)) / 2


async def test_a_task_that_would_exceed_its_limit_continues_in_a_new_task_seamlessly(
    voice: str, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    chunks: list[bytes] = []
    async with (
        AsyncCosyVoice() as cv,
        cv.live(voice=voice, format="mp3", sample_rate=24000, max_task_weight=50) as live,
    ):
        feeder = asyncio.create_task(feed_tokens(live, tokens(STORY), [], delay=0.0))
        async for chunk in live.audio():
            chunks.append(chunk)
        await feeder
    assert live.result.tasks >= 3
    assert len(set(live.result.request_ids)) == live.result.tasks
    actions = websocket_actions(cosyvoice_emulator_env)
    assert actions.count("run-task") == live.result.tasks
    # One valid mp3 stream, as long as the whole text spoken in one go: no gap, no overlap.
    samples, rate = decode(b"".join(chunks), "mp3", 24000)
    seconds_whole, billed_whole = reference(voice, STORY, tmp_path)
    assert samples.size / rate == pytest.approx(seconds_whole, abs=0.15)
    assert abs(live.result.characters - billed_whole) <= 2  # spaces at a seam are not billed


async def test_an_idle_task_is_finished_and_the_next_text_opens_a_new_one(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    cosyvoice_emulator_env.configure(idle_timeout=1.0)  # the service's 23 s, shortened
    async with AsyncCosyVoice() as cv, cv.live(voice=voice, idle_timeout=0.3) as live:
        await live.send("First sentence. ")
        finished = live._tasks[0].reader
        assert finished is not None
        await asyncio.wait_for(finished, 10)  # finished by us, not failed by the service
        await live.send("Second sentence after a pause.")
        await live.close()
        audio = b"".join([c async for c in live.audio()])
    assert live.result.tasks == 2
    assert np.frombuffer(audio, "<i2").size > 0
    assert websocket_actions(cosyvoice_emulator_env).count("run-task") == 2


async def test_flush_speaks_held_text_without_a_sentence_end(voice: str) -> None:
    async with AsyncCosyVoice() as cv, cv.live(voice=voice) as live:
        await live.send("no sentence end yet")
        audio = live.audio()
        await live.flush()
        first = await asyncio.wait_for(audio.__anext__(), 10)  # before any close
        assert first
        await live.close()
        rest = [c async for c in audio]
    assert live.result.characters == len("no sentence end yet")
    assert rest is not None


async def test_cancel_stops_the_task_on_the_service(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    cosyvoice_emulator_env.set_rtf(0.5)  # slow enough to cancel mid-way
    async with AsyncCosyVoice() as cv:
        live = cv.live(voice=voice, format="wav")
        async with live:
            await live.send(STORY * 3)
            await live.flush()
            audio = live.audio()
            assert await asyncio.wait_for(audio.__anext__(), 10)
            await live.cancel()
            assert [c async for c in audio] == []
    assert live.result.cancelled
    assert cosyvoice_emulator_env.backend.counters.get("synthesis:cancelled", 0) == 1


async def test_a_failure_inside_the_block_cancels_and_a_file_sink_leaves_nothing(
    voice: str, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    cosyvoice_emulator_env.set_rtf(0.5)
    out = tmp_path / "out" / "story.mp3"

    async def source() -> Any:
        yield STORY
        await asyncio.sleep(0.5)  # audio is being written meanwhile
        raise InvalidRequestError("the text source broke")

    async with AsyncCosyVoice() as cv:
        session = cv.live(voice=voice, format="pcm", sample_rate=24000)
        with pytest.raises(InvalidRequestError, match="source broke"):
            await speak_live(session, source(), [FileSink(out, "mp3", 24000)])
    assert list(out.parent.iterdir()) == []  # no file under the final name, no partial
    assert session.result.cancelled


async def test_voice_rules_apply_before_connecting(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    async with AsyncCosyVoice() as cv:
        with pytest.raises(ModelMismatchError):
            async with cv.live(voice=voice, model="cosyvoice-v2"):
                pass
        with pytest.raises(UnknownVoiceError):
            async with cv.live(voice="nosuchvoice"):
                pass
        with pytest.raises(InvalidRequestError, match="sample rate"):
            cv.live(voice=voice, format="opus", sample_rate=22050)
    assert websocket_actions(cosyvoice_emulator_env) == []


def test_the_sync_session_sends_from_one_thread_and_plays_in_another(
    voice: str, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    log: list[str] = []
    with CosyVoice() as cv, cv.live(voice=voice, format="wav", sample_rate=16000) as live:

        def feed() -> None:
            for part in tokens(STORY):
                live.send(part)
                log.append("sent")
            log.append("input complete")
            live.close()

        sender = threading.Thread(target=feed)
        sender.start()
        data = b"".join(live.audio())
        sender.join()
    samples, rate = decode(data, "wav", 16000)
    assert rate == 16000
    seconds_whole, _ = reference(voice, STORY, tmp_path)
    assert samples.size / rate == pytest.approx(seconds_whole, abs=0.02)
    assert live.result.tasks == 1


def test_text_is_cut_into_natural_units() -> None:
    chunker = TextChunker(clause_weight=30)
    units: list[str] = []
    text = (
        "Pi is 3.14 and more. Really? Yes! A long clause without an end, goes on, "
        "and on and on and on. 你好。世界"
    )
    for char in text:
        units.extend(chunker.push(char))
    units.extend(chunker.flush())
    assert "".join(units) == text
    assert units[0] == "Pi is 3.14 and more. "  # not inside 3.14; '.' cut once a space came
    assert "Really?" in units and " Yes!" in units  # '?' and '!' need no look-ahead
    assert any(u.endswith(",") for u in units)  # a long sentence goes out at a clause mark
    assert units[-2:] == ["你好。", "世界"]
    small = TextChunker(message_weight=10)
    assert small.push("x" * 25) == ["x" * 10, "x" * 10] and small.flush() == ["x" * 5]
