"""The emulator's distance: a handshake costs its round trips, every frame arrives one delay
later, several tasks run on one connection, an idle one closes after the knob; and what the
library's warm connections save at a distance, measured."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from tests.network.helpers import MODEL, VOICE, last_id, since

from cosyvoice_clone import AsyncCosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator

DELAY = 0.05
"""One-way seconds; a handshake is 3 round trips = 6 delays."""


def _run_task(task_id: str) -> str:
    return json.dumps(
        {
            "header": {"action": "run-task", "task_id": task_id, "streaming": "duplex"},
            "payload": {
                "task_group": "audio",
                "task": "tts",
                "function": "SpeechSynthesizer",
                "model": MODEL,
                "parameters": {"voice": VOICE, "format": "pcm", "sample_rate": 22050},
                "input": {},
            },
        }
    )


def _command(action: str, task_id: str, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "header": {"action": action, "task_id": task_id, "streaming": "duplex"},
            "payload": {"input": data},
        }
    )


async def _connect(emulator: RunningEmulator) -> Any:
    from websockets.asyncio.client import connect

    return await connect(
        emulator.websocket_url,
        additional_headers={"Authorization": f"Bearer {emulator.api_key}"},
        max_size=None,
    )


async def _event(ws: Any) -> str:
    while True:
        frame = await ws.recv()
        if isinstance(frame, str):
            event: str = json.loads(frame)["header"]["event"]
            if event in ("task-started", "task-finished", "task-failed"):
                return event


async def _one_task(ws: Any) -> tuple[float, float]:
    """(seconds to task-started, seconds from the text to the first audio frame)."""
    task_id = uuid.uuid4().hex
    sent = time.monotonic()
    await ws.send(_run_task(task_id))
    assert await _event(ws) == "task-started"
    started = time.monotonic() - sent
    sent = time.monotonic()
    await ws.send(_command("continue-task", task_id, {"text": "Hello there."}))
    await ws.send(_command("finish-task", task_id, {}))
    first = None
    while True:
        frame = await ws.recv()
        if isinstance(frame, bytes):
            first = first if first is not None else time.monotonic() - sent
        elif json.loads(frame)["header"]["event"] == "task-finished":
            break
    assert first is not None
    return started, first


async def _handshake_seconds(emulator: RunningEmulator) -> float:
    began = time.monotonic()
    ws = await _connect(emulator)
    spent = time.monotonic() - began
    await ws.close()
    return spent


async def test_the_handshake_costs_its_round_trips(cosyvoice_emulator: RunningEmulator) -> None:
    await _handshake_seconds(cosyvoice_emulator)  # imports and first-use costs
    near = await _handshake_seconds(cosyvoice_emulator)
    cosyvoice_emulator.set_network_delay(DELAY)
    far = await _handshake_seconds(cosyvoice_emulator)
    assert near < 0.1
    assert 6 * DELAY <= far < 6 * DELAY + 0.2
    cosyvoice_emulator.configure(handshake_round_trips=4)  # TLS 1.2
    assert await _handshake_seconds(cosyvoice_emulator) >= 8 * DELAY


async def test_every_frame_arrives_one_delay_later(cosyvoice_emulator: RunningEmulator) -> None:
    cosyvoice_emulator.set_latency(0.1)
    await _handshake_seconds(cosyvoice_emulator)  # imports and first-use costs
    ws = await _connect(cosyvoice_emulator)
    near_started, near_first = await _one_task(ws)
    await ws.close()
    cosyvoice_emulator.set_network_delay(DELAY)
    ws = await _connect(cosyvoice_emulator)
    far_started, far_first = await _one_task(ws)
    await ws.close()
    assert near_started < 0.05 and 0.1 <= near_first < 0.2
    assert 2 * DELAY <= far_started < 2 * DELAY + 0.1  # run-task out, task-started back
    assert 2 * DELAY + 0.1 <= far_first < 2 * DELAY + 0.25  # the text out, the audio back


async def test_several_tasks_on_one_connection_and_the_idle_close_knob(
    cosyvoice_emulator: RunningEmulator,
) -> None:
    from websockets.exceptions import ConnectionClosed

    cosyvoice_emulator.configure(connection_idle_timeout=0.3)
    start = last_id(cosyvoice_emulator)
    ws = await _connect(cosyvoice_emulator)
    await _one_task(ws)
    await _one_task(ws)
    began = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert 0.25 <= time.monotonic() - began < 1.0
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    (connection,) = since(cosyvoice_emulator, start)
    assert connection["tasks"] == 2
    state = cosyvoice_emulator.backend.snapshot()["websockets"]
    assert state["opened"] >= 1


async def test_warm_connections_save_the_handshake_at_a_distance(
    cosyvoice_emulator_env: RunningEmulator,
) -> None:
    emulator = cosyvoice_emulator_env
    emulator.set_latency(0.1)
    emulator.set_network_delay(DELAY)

    async def first_audio(cv: AsyncCosyVoice) -> float:
        began = time.monotonic()
        stream = await cv.stream_speech("Hello there.", voice=VOICE, model=MODEL, format="pcm")
        spent = time.monotonic() - began
        async for _ in stream:
            pass
        await stream.aclose()
        return spent

    async with AsyncCosyVoice() as cv:
        cold = await first_audio(cv)  # handshake 6d + run-task 2d + text and audio 2d + 0.1
        warm = await first_audio(cv)  # 4d + 0.1
    async with AsyncCosyVoice(warm=1) as cv:
        prewarmed = await first_audio(cv)
    assert 10 * DELAY + 0.1 <= cold < 10 * DELAY + 0.35
    assert 4 * DELAY + 0.1 <= warm < 4 * DELAY + 0.3
    assert 4 * DELAY + 0.1 <= prewarmed < 4 * DELAY + 0.3
