"""Word timings in live speech (``word_timestamps=True``): the emulator sends them over the
WebSocket in each sentence-end; ``timed_audio()`` yields them after their sentence's audio, in
milliseconds from the start of the session's audio, across tasks."""

from __future__ import annotations

import asyncio

import pytest

from cosyvoice_clone import AsyncCosyVoice, CosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator

pytestmark = pytest.mark.timeout(60)

TEXT = "Hello brave new world. This is a second sentence! And a third one."
RATE = 16000


def run_params(emulator: RunningEmulator) -> list[dict[str, object]]:
    entries = emulator.backend.recorded("websocket").get("websocket", [])
    return [
        e["message"]["payload"]["parameters"]
        for e in entries
        if e["message"]["header"]["action"] == "run-task"
    ]


async def collect(live: object) -> tuple[list[object], int]:
    items: list[object] = []
    pcm = 0
    async for item in live.timed_audio():  # type: ignore[attr-defined]
        items.append(item)
        if isinstance(item, bytes):
            pcm += len(item)
    return items, pcm


async def test_words_follow_their_audio_with_times_inside_the_audio(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    async with AsyncCosyVoice() as cv:
        live = cv.live(voice=voice, sample_rate=RATE, word_timestamps=True)
        async with live:

            async def feed() -> None:
                for token in TEXT.split(" "):
                    await live.send(token + " ")
                    await asyncio.sleep(0.01)
                await live.close()

            feeder = asyncio.create_task(feed())
            items, pcm = await collect(live)
            await feeder
    assert run_params(cosyvoice_emulator_env)[0].get("word_timestamp_enabled") is True
    words = [i for i in items if not isinstance(i, bytes)]
    assert [w.text for w in words] == [  # type: ignore[attr-defined]
        t.strip(".!") for t in TEXT.split(" ")
    ]
    duration_ms = pcm / 2 / RATE * 1000
    begins = [w.begin_ms for w in words]  # type: ignore[attr-defined]
    assert begins == sorted(begins) and begins[0] >= 0
    assert all(w.end_ms <= duration_ms + 1 for w in words)  # type: ignore[attr-defined]
    # Each word comes after some audio that covers its start: the first word after audio.
    first_word = next(n for n, i in enumerate(items) if not isinstance(i, bytes))
    heard = sum(len(i) for i in items[:first_word] if isinstance(i, bytes)) / 2 / RATE * 1000
    assert heard >= words[0].end_ms  # type: ignore[attr-defined]


async def test_words_of_a_later_task_are_moved_by_the_earlier_audio(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    # A task limit of 30 characters puts each sentence in its own task (times restart at 0
    # on the service); the session moves them to the start of the whole audio.
    async with AsyncCosyVoice() as cv:
        live = cv.live(voice=voice, sample_rate=RATE, word_timestamps=True, max_task_weight=30)
        async with live:
            await live.send(TEXT)
            await live.close()
            items, pcm = await collect(live)
    assert live.result.tasks >= 2
    words = [i for i in items if not isinstance(i, bytes)]
    begins = [w.begin_ms for w in words]  # type: ignore[attr-defined]
    assert begins == sorted(begins)
    assert words[-1].end_ms > pcm / 2 / RATE * 1000 / 2  # type: ignore[attr-defined]


async def test_without_the_option_no_words_are_asked_or_yielded(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    async with AsyncCosyVoice() as cv, cv.live(voice=voice, sample_rate=RATE) as live:
        await live.send(TEXT)
        await live.close()
        items, _ = await collect(live)
    assert all(isinstance(i, bytes) for i in items) and items
    assert not run_params(cosyvoice_emulator_env)[0].get("word_timestamp_enabled")


def test_sync_face_yields_the_same_words(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    with CosyVoice() as cv, cv.live(voice=voice, sample_rate=RATE, word_timestamps=True) as live:
        live.send(TEXT)
        live.close()
        items = list(live.timed_audio())
    assert len([i for i in items if not isinstance(i, bytes)]) == len(TEXT.split(" "))
