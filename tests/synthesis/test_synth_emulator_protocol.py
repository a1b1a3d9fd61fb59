"""The emulator's synthesis WebSocket, frame by frame: rules, limits and misuse."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from cosyvoice_clone.emulator.server import RunningEmulator

MODEL = "cosyvoice-v3.5-plus"


@contextmanager
def ws(emulator: RunningEmulator, key: str | None = None) -> Iterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {key or emulator.api_key}"}
    with connect(emulator.websocket_url, additional_headers=headers, open_timeout=5) as conn:
        yield conn


def send(conn: ClientConnection, action: str, task: str, payload: dict[str, Any]) -> None:
    conn.send(json.dumps({"header": {"action": action, "task_id": task, "streaming": "duplex"},
                          "payload": payload}))  # fmt: skip


def run_task(conn: ClientConnection, voice: str, task: str | None = None,
             **parameters: Any) -> str:  # fmt: skip
    task = task or uuid.uuid4().hex
    send(conn, "run-task", task, {"model": parameters.pop("model", MODEL), "task_group": "audio",
                                  "task": "tts", "function": "SpeechSynthesizer", "input": {},
                                  "parameters": {"voice": voice, "format": "pcm",
                                                 "sample_rate": 8000, **parameters}})  # fmt: skip
    return task


def events(conn: ClientConnection, until: tuple[str, ...] = ("task-finished", "task-failed"),
           timeout: float = 10) -> tuple[list[dict[str, Any]], bytes]:  # fmt: skip
    seen: list[dict[str, Any]] = []
    audio = bytearray()
    deadline = time.monotonic() + timeout
    while True:
        frame = conn.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(frame, bytes):
            audio += frame
            continue
        event = json.loads(frame)
        seen.append(event)
        if event["header"]["event"] in until:
            return seen, bytes(audio)


def closed(conn: ClientConnection) -> bool:
    try:
        conn.recv(timeout=5)
    except ConnectionClosed:
        return True
    return False


def test_several_tasks_on_one_connection(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    with ws(cosyvoice_emulator) as conn:
        for text in ("First task.", "Second task, a little longer."):
            task = run_task(conn, voice)
            started, _ = events(conn, until=("task-started",))
            assert started[-1]["header"] == {"task_id": task, "event": "task-started",
                                             "attributes": {}}  # fmt: skip
            send(conn, "continue-task", task, {"input": {"text": text}})
            send(conn, "finish-task", task, {"input": {}})
            seen, audio = events(conn)
            finished = seen[-1]
            assert finished["header"]["event"] == "task-finished"
            assert finished["header"]["attributes"]["request_uuid"]
            assert finished["payload"]["usage"]["characters"] == len(text)
            assert len(audio) > 8000


def test_event_order_and_binary_frames(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    with ws(cosyvoice_emulator) as conn:
        task = run_task(conn, voice, word_timestamp_enabled=True)
        send(conn, "continue-task", task, {"input": {"text": "Hello world. 你好。"}})
        send(conn, "finish-task", task, {"input": {}})
        order: list[str] = []
        while True:
            frame = conn.recv(timeout=10)
            if isinstance(frame, bytes):
                order.append("binary")
                continue
            event = json.loads(frame)
            name = event["header"]["event"]
            order.append(event["payload"]["output"]["type"] if name == "result-generated" else name)
            if name == "sentence-end" or order[-1] == "sentence-end":
                words = event["payload"]["output"]["sentence"]["words"]
                assert words and all(w["end_time"] > w["begin_time"] for w in words)
            if name == "task-finished":
                break
    assert order[0] == "task-started" and order[-1] == "task-finished"
    for i, item in enumerate(order):
        if item == "sentence-synthesis":
            assert order[i + 1] == "binary"  # each synthesis event is followed by its audio
    assert order.count("sentence-begin") == order.count("sentence-end") == 2


def test_bad_key_is_refused_at_the_handshake(cosyvoice_emulator: RunningEmulator) -> None:
    with pytest.raises(InvalidStatus) as caught, ws(cosyvoice_emulator, key="sk-not-a-key-1234"):
        pass
    assert caught.value.response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"model": MODEL, "parameters": {}}, "task can not be null"),
        ({"model": MODEL, "input": {}, "parameters": {"voice": "nope"}}, "418"),
        ({"model": MODEL, "input": {}, "parameters": {"format": "flac"}}, "voice"),
    ],
)
def test_run_task_refusals(cosyvoice_emulator: RunningEmulator, voice: str,
                           payload: dict[str, Any], message: str) -> None:  # fmt: skip
    params = payload.get("parameters", {})
    if "voice" not in params and message != "voice":
        params["voice"] = voice
    with ws(cosyvoice_emulator) as conn:
        send(conn, "run-task", uuid.uuid4().hex, payload)
        seen, _ = events(conn)
        header = seen[-1]["header"]
        assert header["event"] == "task-failed" and header["error_code"] == "InvalidParameter"
        assert message in header["error_message"]
        assert closed(conn)


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [({"format": "opus", "sample_rate": 22050}, "sample_rate"), ({"volume": 101}, "volume"),
     ({"rate": 3.0}, "rate"), ({"format": "ogg"}, "format")],
)  # fmt: skip
def test_parameter_ranges(cosyvoice_emulator: RunningEmulator, voice: str,
                          parameters: dict[str, Any], fragment: str) -> None:  # fmt: skip
    with ws(cosyvoice_emulator) as conn:
        run_task(conn, voice, **parameters)
        seen, _ = events(conn)
        assert seen[-1]["header"]["event"] == "task-failed"
        assert fragment in seen[-1]["header"]["error_message"]


def test_text_limits_count_cjk_twice(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    with ws(cosyvoice_emulator) as conn:
        task = run_task(conn, voice)
        events(conn, until=("task-started",))
        send(conn, "continue-task", task, {"input": {"text": "字" * 10_001}})  # weighs 20,002
        seen, _ = events(conn)
        assert seen[-1]["header"]["event"] == "task-failed"
        assert "20000" in seen[-1]["header"]["error_message"]


def test_per_task_limit(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    cosyvoice_emulator.set_latency(30)  # nothing is spoken while we send
    with ws(cosyvoice_emulator) as conn:
        task = run_task(conn, voice)
        events(conn, until=("task-started",))
        for _ in range(10):
            send(conn, "continue-task", task, {"input": {"text": "a" * 20_000}})
        send(conn, "continue-task", task, {"input": {"text": "over"}})
        seen, _ = events(conn)
        assert seen[-1]["header"]["event"] == "task-failed"
        assert "200000" in seen[-1]["header"]["error_message"]


def test_ssml_allows_one_continue(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    with ws(cosyvoice_emulator) as conn:
        task = run_task(conn, voice, enable_ssml=True)
        events(conn, until=("task-started",))
        send(conn, "continue-task", task, {"input": {"text": "<speak>One.</speak>"}})
        send(conn, "continue-task", task, {"input": {"text": "Two."}})
        seen, _ = events(conn)
        assert seen[-1]["header"]["error_message"] == "Text request limit violated, expected 1."


def test_garbage_and_binary_frames_fail_cleanly(cosyvoice_emulator: RunningEmulator) -> None:
    for frame in (b"\x00\x01binary", "not json at all", json.dumps({"header": {}})):
        with ws(cosyvoice_emulator) as conn:
            conn.send(frame)
            seen, _ = events(conn)
            assert seen[-1]["header"]["event"] == "task-failed"
            assert closed(conn)
    with ws(cosyvoice_emulator) as conn:  # and the server still serves
        conn.send(json.dumps({"header": {"action": "dance", "task_id": "x"}, "payload": {}}))
        assert events(conn)[0][-1]["header"]["error_code"] == "InvalidParameter"


def test_idle_task_times_out(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    cosyvoice_emulator.configure(idle_timeout=0.5)
    with ws(cosyvoice_emulator) as conn:
        run_task(conn, voice)
        seen, _ = events(conn, timeout=5)
        assert seen[-1]["header"]["event"] == "task-failed"
        assert seen[-1]["header"]["error_message"].startswith("request timeout after")


def test_cancel_answers_task_finished_at_once(cosyvoice_emulator: RunningEmulator,
                                              voice: str) -> None:  # fmt: skip
    cosyvoice_emulator.set_rtf(1.0)
    with ws(cosyvoice_emulator) as conn:
        task = run_task(conn, voice)
        events(conn, until=("task-started",))
        send(conn, "continue-task", task, {"input": {"text": "Long sentence to say. " * 20}})
        send(conn, "continue-task", task, {"input": {"flush": True}})
        time.sleep(0.3)
        started = time.monotonic()
        send(conn, "finish-task", task, {"input": {"directive": "cancel"}})
        seen, audio = events(conn, timeout=3)
        assert seen[-1]["header"]["event"] == "task-finished"
        assert time.monotonic() - started < 1.0 and len(audio) / 2 / 8000 < 3


def test_synthesis_rate_limit(cosyvoice_emulator: RunningEmulator, voice: str) -> None:
    cosyvoice_emulator.set_rate_limits(True)
    failures = []
    for _ in range(4):  # 4 submissions in well under a second: the 4th is throttled
        with ws(cosyvoice_emulator) as conn:
            run_task(conn, voice)
            seen, _ = events(conn, until=("task-started", "task-failed"))
            failures.append(seen[-1]["header"].get("error_code"))
    assert failures == [None, None, None, "Throttling.RateQuota"]


def test_first_audio_latency_and_rtf_pacing(cosyvoice_emulator: RunningEmulator,
                                            voice: str) -> None:  # fmt: skip
    cosyvoice_emulator.configure(first_audio_latency=0.4, rtf=0.25)
    with ws(cosyvoice_emulator) as conn:
        task = run_task(conn, voice)
        events(conn, until=("task-started",))
        started = time.monotonic()
        send(conn, "continue-task", task, {"input": {"text": "Pacing test sentence. " * 3}})
        send(conn, "finish-task", task, {"input": {}})
        first = None
        audio = 0
        while True:
            frame = conn.recv(timeout=10)
            if isinstance(frame, bytes):
                first = first or time.monotonic() - started
                audio += len(frame)
            elif json.loads(frame)["header"]["event"] == "task-finished":
                break
        total = time.monotonic() - started
    seconds = audio / 2 / 8000
    assert first is not None and first >= 0.38  # a floor: the machine may be slower, never faster
    assert total >= 0.4 + 0.25 * (seconds - 0.25) - 0.05


def test_clients_leaving_mid_encoding_never_hurt_the_server(
    cosyvoice_emulator: RunningEmulator, voice: str
) -> None:
    # Cancelling a task while a worker thread is inside the MP3/Opus encoder must be safe.
    text = "A long sentence that keeps the encoder busy for a while. " * 30
    for i in range(24):
        with ws(cosyvoice_emulator) as conn:
            fmt, rate = (("mp3", 48000), ("opus", 48000))[i % 2]
            task = run_task(conn, voice, format=fmt, sample_rate=rate)
            events(conn, until=("task-started",))
            send(conn, "continue-task", task, {"input": {"text": text}})
            send(conn, "finish-task", task, {"input": {}})
            while not isinstance(conn.recv(timeout=10), bytes):
                pass
    with ws(cosyvoice_emulator) as conn:  # still serving
        task = run_task(conn, voice)
        send(conn, "continue-task", task, {"input": {"text": "Still here."}})
        send(conn, "finish-task", task, {"input": {}})
        assert events(conn)[0][-1]["header"]["event"] == "task-finished"
