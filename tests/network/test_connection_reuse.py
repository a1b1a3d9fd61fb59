"""Connection reuse on the face, against the emulator's own count of connections: sequential
tasks share one connection, a dead idle one is replaced without a second billing, drops follow
the retry rules, close leaves nothing open, concurrency still uses several connections."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import soundfile as sf
from tests.network.helpers import MODEL, VOICE, eventually, last_id, seed_dropping_first, since

from cosyvoice_clone import AsyncCosyVoice, CosyVoice, errors
from cosyvoice_clone.emulator.server import RunningEmulator

TEXT = "The train leaves at seven, and the next one at nine."


def _seconds(path: Path) -> float:
    info = sf.info(str(path))
    return float(info.frames) / info.samplerate


async def test_sequential_tasks_on_one_client_share_one_connection(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    async with AsyncCosyVoice() as cv:
        for i in range(5):
            await cv.speak(f"{TEXT} ({i})", tmp_path / f"{i}.wav", voice=VOICE, model=MODEL)
        stats = cv.connection_stats
    connections = since(emulator, start)
    assert len(connections) == 1 and connections[0]["tasks"] == 5
    assert (stats.opened, stats.reused) == (1, 4)
    assert emulator.backend.counters["synthesis:tasks"] == 5
    for i in range(5):
        assert _seconds(tmp_path / f"{i}.wav") > 1.0


async def test_a_connection_closed_while_idle_is_replaced(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    emulator.configure(connection_idle_timeout=0.3)
    start = last_id(emulator)
    async with AsyncCosyVoice() as cv:
        await cv.speak(TEXT, tmp_path / "a.wav", voice=VOICE, model=MODEL)
        await asyncio.sleep(0.8)  # the emulator closes the idle connection meanwhile
        await cv.speak(TEXT, tmp_path / "b.wav", voice=VOICE, model=MODEL)
        stats = cv.connection_stats
    first, second = since(emulator, start)
    assert first["closed_at"] is not None and first["closed_at"] < second["opened_at"]
    assert (first["tasks"], second["tasks"]) == (1, 1)
    assert stats.opened == 2 and stats.discarded == 1 and stats.stale_retries == 0
    assert _seconds(tmp_path / "a.wav") == pytest.approx(_seconds(tmp_path / "b.wav"))


async def test_a_reused_connection_dead_before_task_started_is_replaced_once(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    async with AsyncCosyVoice() as cv:
        first = await cv.speak(TEXT, tmp_path / "a.wav", voice=VOICE, model=MODEL)
        emulator.configure(stale_drops=1)  # the next run-task on a reused connection: dropped
        second = await cv.speak(TEXT, tmp_path / "b.wav", voice=VOICE, model=MODEL)
        stats = cv.connection_stats
    counters = emulator.backend.counters
    assert counters["websocket:stale_drops"] == 1
    assert counters["synthesis:tasks"] == 2  # the dropped run-task was never a task
    assert stats.stale_retries == 1 and stats.opened == 2
    assert [c["tasks"] for c in since(emulator, start)] == [1, 1]
    assert second.characters == first.characters
    assert _seconds(tmp_path / "a.wav") == pytest.approx(_seconds(tmp_path / "b.wav"))


async def test_a_drop_mid_task_in_a_file_is_retried_without_duplicate_audio(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    async with AsyncCosyVoice() as cv:
        clean = await cv.speak(TEXT, tmp_path / "clean.wav", voice=VOICE, model=MODEL)
        start = last_id(emulator)
        emulator.configure(seed=seed_dropping_first(0.5))
        emulator.set_faults(ws_drop=0.5)  # the next task drops after its first frame
        dropped = await cv.speak(TEXT, tmp_path / "dropped.wav", voice=VOICE, model=MODEL)
        emulator.set_faults(None)
        stats = cv.connection_stats
    assert emulator.backend.counters["synthesis:tasks"] == 3  # clean, dropped, retried
    connections = since(emulator, start)
    # the reused connection dropped; its retry went out on a new one (the dead one not pooled)
    assert len(connections) == 1 and connections[0]["tasks"] == 1
    assert stats.opened == 2
    assert dropped.characters == clean.characters  # billed once
    assert _seconds(tmp_path / "dropped.wav") == pytest.approx(_seconds(tmp_path / "clean.wav"))


async def test_a_drop_after_audio_left_is_not_resubmitted_and_not_pooled(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    emulator.set_faults(ws_drop=1)
    async with AsyncCosyVoice() as cv:
        with pytest.raises(errors.TransportError):
            stream = await cv.stream_speech(TEXT * 3, voice=VOICE, model=MODEL, retries=0)
            async for _ in stream:
                pass
        assert emulator.backend.counters["synthesis:tasks"] == 1
        emulator.set_faults(None)
        await cv.speak(TEXT, tmp_path / "after.wav", voice=VOICE, model=MODEL)
        stats = cv.connection_stats
    assert [c["tasks"] for c in since(emulator, start)] == [1, 1]
    assert stats.reused == 0 and stats.opened == 2


async def test_close_leaves_no_connection_open(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    cv = AsyncCosyVoice(warm=2)
    async with cv:
        assert cv.connection_stats.idle == 2
        await cv.speak(TEXT, tmp_path / "a.wav", voice=VOICE, model=MODEL)
    assert len(since(emulator, start)) == 2
    assert eventually(lambda: all(c["closed_at"] for c in since(emulator, start)))
    assert cv.connection_stats.idle == 0 and cv.connection_stats.busy == 0


def test_sync_calls_close_their_connections_at_the_end(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    text = "A sentence of a longer text, to be spoken in several parts. " * 50  # ~3000 chars
    with CosyVoice() as cv:
        cv.speak(TEXT, tmp_path / "a.wav", voice=VOICE, model=MODEL)
        assert eventually(lambda: all(c["closed_at"] for c in since(emulator, start)))
        middle = last_id(emulator)
        cv.speak(text, tmp_path / "b.wav", voice=VOICE, model=MODEL, concurrency=1)
        assert eventually(lambda: all(c["closed_at"] for c in since(emulator, start)))
    parts = since(emulator, middle)
    assert len(parts) == 1 and parts[0]["tasks"] >= 2  # the parts of one call share it


async def test_concurrency_still_uses_several_connections(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    emulator.set_rtf(0.05)  # parts take long enough to overlap
    start = last_id(emulator)
    text = " ".join(f"Sentence number {i} of a long reading, spoken in parts." for i in range(110))
    async with AsyncCosyVoice() as cv:
        result = await cv.speak(
            text, tmp_path / "long.wav", voice=VOICE, model=MODEL, concurrency=3
        )
    connections = since(emulator, start)
    tasks = emulator.backend.counters["synthesis:tasks"]
    assert tasks >= 5 and sum(c["tasks"] for c in connections) == tasks
    assert 2 <= len(connections) <= 3 < tasks  # several at once, then reused
    assert result.retries == 0 and _seconds(tmp_path / "long.wav") > 60


async def test_warm_opens_connections_before_any_task(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    async with AsyncCosyVoice() as cv:
        assert await cv.warm(2) == 2
        opened = since(emulator, start)
        assert len(opened) == 2 and all(c["tasks"] == 0 for c in opened)
        await cv.speak(TEXT, tmp_path / "a.wav", voice=VOICE, model=MODEL)
        assert len(since(emulator, start)) == 2
        assert sum(c["tasks"] for c in since(emulator, start)) == 1
        assert cv.connection_stats.reused == 1


async def test_renewal_replaces_idle_connections(cosyvoice_emulator_env: RunningEmulator) -> None:
    emulator = cosyvoice_emulator_env
    start = last_id(emulator)
    async with AsyncCosyVoice(renew_connections_after=0.3) as cv:
        await cv.warm(1)
        await asyncio.sleep(1.5)
        stats = cv.connection_stats
        opened = since(emulator, start)
        assert stats.renewed >= 1 and stats.opened == 1 + stats.renewed
        assert len(opened) == stats.opened
        assert eventually(lambda: sum(1 for c in since(emulator, start) if not c["closed_at"]) == 1)


def test_the_warm_settings_are_checked(cosyvoice_emulator_env: RunningEmulator) -> None:
    with pytest.raises(errors.InvalidRequestError, match="warm"):
        AsyncCosyVoice(warm=-1)
    with pytest.raises(errors.InvalidRequestError, match="renew_connections_after"):
        CosyVoice(renew_connections_after=0)
