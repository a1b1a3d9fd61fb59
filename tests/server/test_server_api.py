"""The API through the `openai` package: streaming, SSE, voices, errors, auth, load."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from tests.server.server_helpers import TEST_KEY, ServerFactory, openai_client, register_voice

from cosyvoice_clone.emulator.server import RunningEmulator

TEXT = "Hello there. A short sentence to speak."


def error_of(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["message"]
    return dict(body["error"])


def active(server: Any) -> int:
    return int(server.app.state.server.admission.active)


# --------------------------------------------------------------------------- streaming


def test_streaming_response_gets_bytes_before_the_synthesis_ends(
    server: Any, cosyvoice_emulator: RunningEmulator
) -> None:
    cosyvoice_emulator.set_rtf(1.0)  # audio in real time: ~3 s of speech
    with (
        openai_client(server) as client,
        client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="myvoice", input=TEXT, response_format="pcm"
        ) as response,
    ):
        chunks = response.iter_bytes()
        first = next(chunks)
        assert first
        assert active(server) == 1  # the synthesis is still running on the server
        rest = b"".join(chunks)
    assert len(first + rest) > 24000 * 2  # over a second of audio in total
    assert response.headers.get("transfer-encoding") == "chunked"


def test_sse_events_parse(server: Any) -> None:
    with httpx.Client(timeout=30) as http:
        response = http.post(
            f"{server.base_url}/audio/speech",
            json={"model": "tts-1", "voice": "myvoice", "input": TEXT,
                  "response_format": "pcm", "stream_format": "sse"},
        )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(block.removeprefix("data: "))
        for block in response.text.split("\n\n")
        if block.strip()
    ]
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert deltas and events[-1]["type"] == "speech.audio.done"
    assert events[-1]["usage"]["input_tokens"] > 0
    audio = b"".join(base64.b64decode(e["audio"]) for e in deltas)
    assert len(audio) % 2 == 0 and len(audio) > 24000  # half a second of 24 kHz pcm


# --------------------------------------------------------------------------- voices, models


def test_voice_by_id_prefix_alias_and_object(server: Any, voice: str) -> None:
    with openai_client(server) as client:
        for name in (voice, "myvoice", "alloy"):
            response = client.audio.speech.create(
                model="tts-1", voice=name, input=TEXT, response_format="pcm"
            )
            assert len(response.content) > 24000
    with httpx.Client(timeout=30) as http:
        response = http.post(
            f"{server.base_url}/audio/speech",
            json={"model": "tts-1", "voice": {"id": voice}, "input": TEXT,
                  "response_format": "wav"},
        )  # fmt: skip
    assert response.status_code == 200 and response.content[:4] == b"RIFF"


def test_a_cosyvoice_model_name_must_match_the_voice(server: Any, voice: str) -> None:
    with openai_client(server) as client:
        ok = client.audio.speech.create(
            model="cosyvoice-v3.5-plus", voice="myvoice", input=TEXT, response_format="pcm"
        )
        assert ok.content
        with pytest.raises(openai.BadRequestError) as caught:
            client.audio.speech.create(model="cosyvoice-v2", voice="myvoice", input=TEXT)
    error = error_of(caught.value)
    assert error["param"] == "model" and error["code"] == "model_mismatch"


def test_models_list(server: Any) -> None:
    with openai_client(server) as client:
        ids = [m.id for m in client.models.list()]
    assert {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "cosyvoice-v3.5-plus"} <= set(ids)


def test_voices_list_shows_status_model_and_aliases(server: Any, voice: str) -> None:
    with httpx.Client(timeout=30) as http:
        data = http.get(f"{server.base_url}/audio/voices").json()
    by_id = {v["id"]: v for v in data["data"]}
    assert by_id[voice]["status"] == "OK" and by_id[voice]["model"] == "cosyvoice-v3.5-plus"
    assert by_id["alloy"]["alias_of"] == "myvoice"
    assert data["voices"] == data["data"]


def test_system_voices_are_listed_and_spoken(
    server: Any, cosyvoice_emulator: RunningEmulator
) -> None:
    from cosyvoice_clone import catalog

    with httpx.Client(timeout=30) as http:
        data = http.get(f"{server.base_url}/audio/voices").json()
    by_id = {v["id"]: v for v in data["data"]}
    for voice in catalog.system_voices():
        listed = by_id[voice.name]
        assert listed["system"] is True and listed["model"] == voice.default_model
        assert listed["models"] == list(voice.models)
    with openai_client(server) as client:
        spoken = client.audio.speech.create(
            model="tts-1", voice="longxiaochun_v2", input=TEXT, response_format="pcm"
        )
        assert len(spoken.content) > 24000  # well over half a second of 24 kHz 16-bit audio
        asked = client.audio.speech.create(
            model="cosyvoice-v3-plus", voice="longanyang", input=TEXT, response_format="pcm"
        )
        assert asked.content
        with pytest.raises(openai.BadRequestError) as caught:
            client.audio.speech.create(model="cosyvoice-v2", voice="longanyang", input=TEXT)
    assert error_of(caught.value)["code"] == "model_mismatch"
    runs = [
        e["message"]["payload"]
        for e in cosyvoice_emulator.backend.recorded("websocket").get("websocket", [])
        if e["message"]["header"]["action"] == "run-task"
    ]
    assert [(r["model"], r["parameters"]["voice"]) for r in runs] == [
        ("cosyvoice-v2", "longxiaochun_v2"),
        ("cosyvoice-v3-plus", "longanyang"),
    ]


def test_healthz(server: Any) -> None:
    with httpx.Client() as http:
        data = http.get(server.base_url.removesuffix("/v1") + "/healthz").json()
    assert data["status"] == "ok" and data["queue"]["active"] == 0


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "param", "names"),
    [
        ({"speed": 5.0}, "speed", ("0.25", "4.0")),  # OpenAI's range (issue 25)
        ({"response_format": "ogg"}, "response_format", ("mp3", "flac")),
        ({"input": "   "}, "input", ()),
        ({"model": "tts-9000"}, "model", ()),
    ],
)
def test_bad_input_is_400(server: Any, body: dict[str, Any], param: str, names: tuple) -> None:
    request = {"model": "tts-1", "voice": "myvoice", "input": TEXT, **body}
    with httpx.Client(timeout=30) as http:
        response = http.post(f"{server.base_url}/audio/speech", json=request)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    for name in names:
        assert name in error["message"]


def test_instructions_need_a_model_that_takes_them(
    server: Any, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    register_voice(cosyvoice_emulator, home, prefix="old", model="cosyvoice-v2")
    with openai_client(server) as client:
        ok = client.audio.speech.create(
            model="tts-1", voice="myvoice", input=TEXT, instructions="Speak cheerfully.",
            response_format="pcm",
        )  # fmt: skip
        assert ok.content
        with pytest.raises(openai.BadRequestError) as caught:  # a CosyVoice model: strict
            client.audio.speech.create(
                model="cosyvoice-v2", voice="old", input=TEXT, instructions="Speak cheerfully."
            )
    assert error_of(caught.value)["param"] == "instructions"


def test_unknown_voice_is_404(server: Any) -> None:
    with openai_client(server) as client, pytest.raises(openai.NotFoundError) as caught:
        client.audio.speech.create(model="tts-1", voice="nobody", input=TEXT)
    assert error_of(caught.value)["param"] == "voice"


def test_deploying_voice_is_409(
    server: Any, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    cosyvoice_emulator.set_deploy_delay(600)
    register_voice(cosyvoice_emulator, home, prefix="fresh")
    with openai_client(server) as client, pytest.raises(openai.ConflictError) as caught:
        client.audio.speech.create(model="tts-1", voice="fresh", input=TEXT)
    assert error_of(caught.value)["code"] == "voice_deploying"


def test_full_queue_is_429_with_retry_after(
    make_server: ServerFactory, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    """One admitted request (held before its first audio) fills a queue of one: the next is
    refused at once. The holder is observed through /healthz, not timed."""
    server = make_server(max_queue=1)
    cosyvoice_emulator.set_latency(3.0)  # the holder waits for its first audio meanwhile
    with ThreadPoolExecutor(1) as pool, openai_client(server) as client:
        holder = pool.submit(client.audio.speech.create, model="tts-1", voice="myvoice", input=TEXT)
        health = server.base_url.removesuffix("/v1") + "/healthz"
        for _ in range(300):
            active = httpx.get(health).json()["queue"]["active"]
            if active == 1 or holder.done():
                break
            time.sleep(0.01)
        assert active == 1 and not holder.done()
        with pytest.raises(openai.RateLimitError) as caught:
            client.audio.speech.create(model="tts-1", voice="myvoice", input=TEXT)
        cosyvoice_emulator.set_latency(0.0)
        assert holder.result().content  # the admitted one still speaks
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert error_of(caught.value)["code"] == "queue_full"


def test_unreachable_service_is_502_and_silent_service_is_504(
    make_server: ServerFactory, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    dead = make_server(websocket_url="ws://127.0.0.1:9/api-ws/v1/inference", retries=0)
    with openai_client(dead) as client, pytest.raises(openai.APIStatusError) as caught:
        client.audio.speech.create(model="tts-1", voice="myvoice", input=TEXT)
    assert caught.value.status_code == 502 and error_of(caught.value)["type"] == "api_error"

    cosyvoice_emulator.set_latency(2.0)
    slow = make_server(event_timeout=0.2, retries=0)
    with openai_client(slow) as client, pytest.raises(openai.APIStatusError) as caught:
        client.audio.speech.create(model="tts-1", voice="myvoice", input=TEXT)
    assert caught.value.status_code == 504
    assert caught.value.response.headers["x-dashscope-request-id"]
    error_of(caught.value)


# --------------------------------------------------------------------------- auth


def test_auth_on(make_server: ServerFactory, voice: str) -> None:
    server = make_server(api_keys=(TEST_KEY,))
    with openai_client(server, key="wrong-key") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            client.audio.speech.create(model="tts-1", voice="myvoice", input=TEXT)
        assert error_of(caught.value)["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    with openai_client(server, key=TEST_KEY) as client:
        assert client.audio.speech.create(model="tts-1", voice="myvoice", input=TEXT).content
    with httpx.Client() as http:  # health needs no key
        assert http.get(server.base_url.removesuffix("/v1") + "/healthz").status_code == 200


def test_auth_off_accepts_any_key(server: Any) -> None:
    with openai_client(server, key="anything") as client:
        assert client.audio.speech.create(model="tts-1", voice="myvoice", input=TEXT).content


# --------------------------------------------------------------------------- load, cancel, log


def test_thirty_concurrent_requests_succeed_with_the_limits_on(
    make_server: ServerFactory, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    # The service's 3 tasks/s per model, scaled 10x on both sides to keep the test short.
    cosyvoice_emulator.set_rate_limits(True)
    cosyvoice_emulator.configure(synthesis_tasks_per_second=30.0)
    server = make_server(tasks_per_second=30.0, retries=0)

    async def run() -> list[bytes]:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        async with client:
            responses = await asyncio.gather(*(
                client.audio.speech.create(
                    model="tts-1", voice="myvoice", input=f"Request {i}.", response_format="pcm"
                )
                for i in range(30)
            ))  # fmt: skip
        return [r.content for r in responses]

    contents = asyncio.run(run())
    assert len(contents) == 30 and all(len(c) > 2400 for c in contents)


def test_client_disconnect_cancels_the_task_on_the_service(
    server: Any, cosyvoice_emulator: RunningEmulator
) -> None:
    cosyvoice_emulator.set_rtf(1.0)
    long_text = "This sentence takes a while to speak in real time. " * 20
    with httpx.Client(timeout=30) as http, http.stream(
        "POST", f"{server.base_url}/audio/speech",
        json={"model": "tts-1", "voice": "myvoice", "input": long_text, "response_format": "pcm"},
    ) as response:  # fmt: skip
        assert next(response.iter_bytes())
    # The client is gone: the server cancels the task on the service.
    deadline = time.monotonic() + 10
    while cosyvoice_emulator.backend.counters.get("synthesis:cancelled", 0) < 1:
        assert time.monotonic() < deadline, "the task was not cancelled on the service"
        time.sleep(0.02)
    while active(server):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_access_log_line_has_the_facts_but_not_the_text_or_key(
    make_server: ServerFactory, voice: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(api_keys=(TEST_KEY,))
    secret_text = "Confidential words nobody should log."
    with caplog.at_level(logging.INFO, logger="cosyvoice_clone.server.access"):
        with openai_client(server, key=TEST_KEY) as client:
            client.audio.speech.create(
                model="tts-1", voice="myvoice", input=secret_text, response_format="wav"
            )
        deadline = time.monotonic() + 10
        while not [r for r in caplog.records if r.name.endswith("access")]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    line = next(r.getMessage() for r in caplog.records if r.name.endswith("access"))
    entry = json.loads(line)
    assert entry["status"] == 200 and entry["voice"] == voice and entry["format"] == "wav"
    assert entry["model"] == "cosyvoice-v3.5-plus" and entry["characters"] > 0
    assert entry["first_audio_ms"] is not None and entry["total_ms"] >= entry["first_audio_ms"]
    assert secret_text not in line and "Confidential" not in line and TEST_KEY not in line
