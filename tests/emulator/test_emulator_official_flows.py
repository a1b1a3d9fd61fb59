"""The flows of the official samples (aliyun/alibabacloud-bailian-speech-demo), written anew and
run with the official dashscope SDK or a raw WebSocket client against the emulator: system
voices, clone-then-speak, concurrent processes, an asyncio bridge, ``?api_key=`` in the URL,
and the documented event order for every format."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import multiprocessing
import threading
import uuid
from typing import Any

import dashscope
import httpx
import pytest
import soundfile as sf
from dashscope.audio.tts_v2 import (
    AudioFormat,
    ResultCallback,
    SpeechSynthesizer,
    VoiceEnrollmentService,
)
from emulator_helpers import action, reference_bytes
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cosyvoice_clone import catalog
from cosyvoice_clone.emulator.fetch import BASE64_SAMPLE_CHARS
from cosyvoice_clone.emulator.server import RunningEmulator

TEXT = "Good morning. The weather is fine today."


@pytest.fixture
def sdk(cosyvoice_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setattr(dashscope, "api_key", cosyvoice_emulator.api_key)
    return cosyvoice_emulator


def duration(audio: bytes) -> float:
    return float(sf.info(io.BytesIO(audio)).duration)


def test_system_voices_are_catalog_data() -> None:
    v2 = catalog.system_voice("longxiaochun_v2")
    assert v2 is not None and v2.models == ("cosyvoice-v2",) and v2.source.startswith("https://")
    flash = {v.name for v in catalog.system_voices("cosyvoice-v3-flash")}
    assert {"longanyang", "longanhuan", "longhuhu_v3"} <= flash
    assert catalog.system_voices("cosyvoice-v3.5-plus") == []
    assert len(catalog.system_voices()) == len(catalog.SYSTEM_VOICES)


@pytest.mark.parametrize(
    ("model", "voice"), [("cosyvoice-v2", "longxiaochun_v2"), ("cosyvoice-v3-flash", "longanyang")]
)
def test_preset_voice_through_call(sdk: RunningEmulator, model: str, voice: str) -> None:
    synthesizer = SpeechSynthesizer(model=model, voice=voice, url=sdk.websocket_url)
    audio = synthesizer.call(TEXT, timeout_millis=20_000)
    assert 1.5 < duration(audio) < 6.0


def test_each_system_voice_has_its_own_deterministic_sound(sdk: RunningEmulator) -> None:
    def speak(voice: str) -> bytes:
        fmt = AudioFormat.PCM_16000HZ_MONO_16BIT
        synthesizer = SpeechSynthesizer(
            model="cosyvoice-v3-flash", voice=voice, format=fmt, url=sdk.websocket_url
        )
        return bytes(synthesizer.call(TEXT, timeout_millis=20_000))

    first = speak("longanyang")
    assert speak("longanyang") == first
    assert speak("longanhuan") != first


def test_preset_voice_through_streaming_call(sdk: RunningEmulator) -> None:
    class Collect(ResultCallback):
        def __init__(self) -> None:
            self.audio = bytearray()
            self.types: list[str] = []
            self.done = threading.Event()

        def on_data(self, data: bytes) -> None:
            self.audio += data

        def on_event(self, message: str) -> None:
            self.types.append(json.loads(message)["payload"]["output"]["type"])

        def on_complete(self) -> None:
            self.done.set()

    callback = Collect()
    synthesizer = SpeechSynthesizer(
        model="cosyvoice-v3-flash", voice="longhuhu_v3",
        format=AudioFormat.MP3_22050HZ_MONO_256KBPS, callback=callback, url=sdk.websocket_url,
    )  # fmt: skip
    for piece in ("Good morning", ". The weather ", "is fine today."):
        synthesizer.streaming_call(piece)
    synthesizer.streaming_complete()
    assert callback.done.wait(10)
    assert callback.types.count("sentence-end") == 2 and callback.types[-1] == "sentence-end"
    assert 1.5 < duration(bytes(callback.audio)) < 6.0


@pytest.mark.parametrize(
    ("model", "voice"),
    [
        ("cosyvoice-v2", "longanyang"),
        ("cosyvoice-v3-flash", "longxiaochun_v2"),
        ("cosyvoice-v3-flash", "no_such_voice"),
    ],
)
def test_mismatched_or_unknown_voice_is_the_services_418(
    sdk: RunningEmulator, model: str, voice: str
) -> None:
    synthesizer = SpeechSynthesizer(model=model, voice=voice, url=sdk.websocket_url)
    with pytest.raises(Exception) as caught:
        synthesizer.call(TEXT, timeout_millis=20_000)
    assert "418" in str(caught.value)


def test_clone_poll_until_ok_then_speak(sdk: RunningEmulator) -> None:
    sdk.set_deploy_delay(0.3)
    service = VoiceEnrollmentService(api_key=sdk.api_key, base_address=sdk.http_base)
    voice_id = service.create_voice("cosyvoice-v3-flash", "sample", sdk.sample_url())
    statuses = []
    for _ in range(100):
        statuses.append(service.query_voice(voice_id)["status"])
        if statuses[-1] == "OK":
            break
        threading.Event().wait(0.05)
    assert statuses[0] == "DEPLOYING" and statuses[-1] == "OK"
    synthesizer = SpeechSynthesizer(
        model="cosyvoice-v3-flash", voice=voice_id, url=sdk.websocket_url
    )
    assert 1.5 < duration(synthesizer.call(TEXT, timeout_millis=20_000)) < 6.0


def _speak_in_process(url: str, key: str, voice: str, queue: Any) -> None:
    import dashscope
    from dashscope.audio.tts_v2 import SpeechSynthesizer

    dashscope.api_key = key
    try:
        audio = SpeechSynthesizer(model="cosyvoice-v2", voice=voice, url=url).call(TEXT)
        queue.put(len(audio or b""))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(repr(exc))


def test_three_processes_synthesize_at_once_within_the_limits(sdk: RunningEmulator) -> None:
    sdk.set_rate_limits(True)  # 3 task submissions per second per model: three fit
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    voices = ("longxiaochun_v2", "longwan_v2", "longcheng_v2")
    workers = [
        context.Process(target=_speak_in_process, args=(sdk.websocket_url, sdk.api_key, v, queue))
        for v in voices
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(10)
    assert all(isinstance(r, int) and r > 10_000 for r in results), results


def test_asyncio_flow_over_the_sdk_callbacks(sdk: RunningEmulator) -> None:
    """The SDK 2.0.2 has no asyncio API: its callbacks feed an asyncio queue, as an app does."""

    async def main() -> tuple[bytes, list[str]]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        class Bridge(ResultCallback):
            def on_data(self, data: bytes) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, ("data", data))

            def on_event(self, message: str) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, ("event", message))

            def on_complete(self) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, ("complete", None))

            def on_error(self, message: Any) -> None:
                loop.call_soon_threadsafe(queue.put_nowait, ("error", message))

        synthesizer = SpeechSynthesizer(
            model="cosyvoice-v3-flash", voice="longanhuan",
            format=AudioFormat.WAV_24000HZ_MONO_16BIT, callback=Bridge(), url=sdk.websocket_url,
        )  # fmt: skip
        await asyncio.to_thread(synthesizer.streaming_call, TEXT)
        await asyncio.to_thread(synthesizer.async_streaming_complete)
        audio = bytearray()
        kinds: list[str] = []
        while True:
            kind, value = await asyncio.wait_for(queue.get(), 10)
            kinds.append(kind)
            if kind == "data":
                audio += value
            if kind in ("complete", "error"):
                return bytes(audio), kinds

    audio, kinds = asyncio.run(main())
    assert kinds[-1] == "complete"
    assert 1.5 < duration(audio) < 6.0


def run_task_message(task_id: str, voice: str, fmt: str, rate: int) -> str:
    return json.dumps({
        "header": {"action": "run-task", "task_id": task_id, "streaming": "duplex"},
        "payload": {"task_group": "audio", "task": "tts", "function": "SpeechSynthesizer",
                    "model": "cosyvoice-v3-flash", "input": {},
                    "parameters": {"voice": voice, "format": fmt, "sample_rate": rate}},
    })  # fmt: skip


def command(action_name: str, task_id: str, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "header": {"action": action_name, "task_id": task_id, "streaming": "duplex"},
            "payload": {"input": data},
        }
    )


def run_raw(url: str, fmt: str, rate: int, texts: tuple[str, ...]) -> tuple[list[str], bytes]:
    """One task on a raw connection; the sequence of events (binary frames as ``audio``)."""
    order: list[str] = []
    audio = bytearray()
    with connect(url, max_size=None) as ws:
        task = uuid.uuid4().hex
        ws.send(run_task_message(task, "longanyang", fmt, rate))
        for text in texts:
            ws.send(command("continue-task", task, {"text": text}))
        ws.send(command("finish-task", task, {}))
        while True:
            frame = ws.recv(timeout=10)
            if isinstance(frame, bytes):
                order.append("audio")
                audio += frame
                continue
            event = json.loads(frame)
            name = event["header"]["event"]
            if name == "result-generated":
                output = event["payload"]["output"]
                name = f"{output['type']}:{output['sentence']['index']}"
            order.append(name)
            if name in ("task-finished", "task-failed"):
                return order, bytes(audio)


@pytest.mark.parametrize("path", ["/api-ws/v1/inference", "/api-ws/v1/inference/"])
def test_raw_client_authenticates_with_api_key_in_the_url(
    cosyvoice_emulator: RunningEmulator, path: str
) -> None:
    base = cosyvoice_emulator.base_url.replace("http://", "ws://") + path
    order, audio = run_raw(f"{base}?api_key={cosyvoice_emulator.api_key}", "pcm", 16000, (TEXT,))
    assert order[-1] == "task-finished" and len(audio) > 16000
    with pytest.raises(InvalidStatus) as caught:
        run_raw(f"{base}?api_key=not-the-key", "pcm", 16000, (TEXT,))
    assert caught.value.response.status_code in (401, 403)


@pytest.mark.parametrize(
    ("fmt", "rate"), [("pcm", 16000), ("wav", 16000), ("mp3", 22050), ("opus", 24000)]
)
def test_event_sequence_per_format(cosyvoice_emulator: RunningEmulator, fmt: str,
                                   rate: int) -> None:  # fmt: skip
    """task-started; per sentence: begin, (synthesis + audio)+, end; then task-finished only."""
    url = f"{cosyvoice_emulator.websocket_url}?api_key={cosyvoice_emulator.api_key}"
    order, audio = run_raw(url, fmt, rate, ("First sentence here. Sec", "ond one follows."))
    assert order[0] == "task-started" and order[-1] == "task-finished"
    body = order[1:-1]
    expected_index = 0
    i = 0
    while i < len(body):
        assert body[i] == f"sentence-begin:{expected_index}", order
        i += 1
        frames = 0
        while body[i] == f"sentence-synthesis:{expected_index}":
            assert body[i + 1] == "audio"
            frames += 1
            i += 2
        assert frames >= 1 and body[i] == f"sentence-end:{expected_index}", order
        i += 1
        expected_index += 1
    assert expected_index == 2
    if fmt != "pcm":
        assert 2.0 < duration(audio) < 6.0


def test_prefix_is_ascii_letters_and_digits(cosyvoice_emulator: RunningEmulator) -> None:
    def create(prefix: str) -> httpx.Response:
        return action(
            cosyvoice_emulator,
            "create_voice",
            target_model="cosyvoice-v2",
            prefix=prefix,
            url=cosyvoice_emulator.sample_url(),
        )

    assert create("Abc123").status_code == 200
    for bad in ("my_voice", "a-b", "声音", "x" * 11, "é"):
        response = create(bad)
        assert (response.status_code, response.json()["code"]) == (400, "InvalidParameter"), bad


def test_clone_sample_as_a_base64_data_uri(sdk: RunningEmulator) -> None:
    uri = "data:audio/wav;base64," + base64.b64encode(reference_bytes()).decode()
    service = VoiceEnrollmentService(api_key=sdk.api_key, base_address=sdk.http_base)
    voice_id = service.create_voice("cosyvoice-v2", "datauri", uri)
    assert service.query_voice(voice_id)["status"] == "OK"
    for bad in ("data:audio/wav;base64,@@@", "data:audio/wav,plain"):
        response = action(sdk, "create_voice", target_model="cosyvoice-v2", prefix="bad", url=bad)
        assert (response.status_code, response.json()["code"]) == (400, "InvalidParameter")
    big = "data:audio/wav;base64," + "A" * (BASE64_SAMPLE_CHARS + 4)  # 10 MB + 3 bytes
    response = action(sdk, "create_voice", target_model="cosyvoice-v2", prefix="big", url=big)
    assert response.status_code == 400
    assert response.json()["code"] == "BadRequest.InputDownloadFailed"
