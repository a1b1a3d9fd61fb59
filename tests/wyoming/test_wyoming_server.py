"""The Wyoming server against the emulator, driven by the ``wyoming`` package's own client:
describe/info, one-shot and streaming synthesis (audio decoded), every failure as an event."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import numpy as np
import pytest
from tests.wyoming.wyoming_helpers import MODEL, WyomingFactory, emulator_settings
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from cosyvoice_clone.client import AsyncCosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.wyoming import RunningWyoming

pytestmark = pytest.mark.timeout(60)

TEXT = "Hello from Home Assistant. This is my cloned voice speaking."


def connect(running: RunningWyoming) -> AsyncTcpClient:
    return AsyncTcpClient("127.0.0.1", running.address.port)


async def read_until(client: AsyncTcpClient, *last: str, timeout: float = 15) -> list[Event]:
    """Events until one of type ``last`` (the connection must stay open)."""
    events: list[Event] = []
    while True:
        event = await asyncio.wait_for(client.read_event(), timeout)
        assert event is not None, f"the server dropped the connection after {events}"
        events.append(event)
        if event.type in last:
            return events


async def describe(client: AsyncTcpClient) -> Info:
    await client.write_event(Describe().event())
    (event,) = await read_until(client, "info")
    return Info.from_event(event)


def pcm_of(events: list[Event]) -> np.ndarray:
    chunks = [AudioChunk.from_event(e) for e in events if AudioChunk.is_type(e.type)]
    assert chunks, [e.type for e in events]
    assert {(c.rate, c.width, c.channels) for c in chunks} == {(22050, 2, 1)}
    return np.frombuffer(b"".join(c.audio for c in chunks), dtype="<i2")


async def reference_seconds(emulator: RunningEmulator, home: Path, text: str, tmp: Path) -> float:
    """The duration of ``text`` spoken by the library directly (same voice, same rate)."""
    async with AsyncCosyVoice(settings=emulator_settings(emulator, home)) as cv:
        result = await cv.speak(text, tmp / "ref.wav", voice="myvoice", sample_rate=22050)
    return float(result.duration)


def error_of(events: list[Event]) -> Error:
    errors = [Error.from_event(e) for e in events if Error.is_type(e.type)]
    assert len(errors) == 1, events
    assert "\n" not in errors[0].text
    return errors[0]


# --------------------------------------------------------------------------- describe


async def test_info_lists_the_cloned_voice_and_announces_streaming(
    cloned: str, wyoming_server: WyomingFactory
) -> None:
    async with wyoming_server() as running, connect(running) as client:
        info = await describe(client)
    (program,) = info.tts
    assert program.installed and program.supports_synthesize_streaming
    (voice,) = program.voices
    assert voice.name == "myvoice" and voice.installed
    assert voice.languages == ["en"]
    assert voice.description is not None
    assert MODEL in voice.description and "cloned" in voice.description


async def test_a_designed_voice_is_listed_with_its_origin_and_language(
    cloned: str, wyoming_server: WyomingFactory, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    async with AsyncCosyVoice(settings=emulator_settings(cosyvoice_emulator, home)) as cv:
        designed = await cv.design(
            prefix="narrator", prompt="A calm, warm narrator with a low voice.", language="zh",
            wait=True,
        )  # fmt: skip
    async with wyoming_server() as running, connect(running) as client:
        voices = {v.name: v for v in (await describe(client)).tts[0].voices}
    assert set(voices) == {"myvoice", "narrator"}
    narrator = voices["narrator"]
    assert narrator.languages == ["zh"] and narrator.installed
    assert narrator.description is not None and "designed" in narrator.description
    assert designed.target_model in narrator.description


async def test_system_voices_are_listed_only_when_asked(
    cloned: str, wyoming_server: WyomingFactory
) -> None:
    from cosyvoice_clone import catalog

    async with wyoming_server(system_voices=True) as running, connect(running) as client:
        names = [v.name for v in (await describe(client)).tts[0].voices]
    system = [v.name for v in catalog.system_voices()]
    assert names == ["myvoice", *system]


async def test_a_deleted_voice_is_no_longer_listed_and_is_refused(
    cloned: str, wyoming_server: WyomingFactory, cosyvoice_emulator: RunningEmulator, home: Path
) -> None:
    async with wyoming_server() as running, connect(running) as client:
        assert [v.name for v in (await describe(client)).tts[0].voices] == ["myvoice"]
        await running.door.client.voices.delete("myvoice")
        assert (await describe(client)).tts[0].voices == []
        await client.write_event(Synthesize(TEXT, voice=SynthesizeVoice(name=cloned)).event())
        events = await read_until(client, "error")
    assert error_of(events).code == "voice_deleted"
    assert "deleted" in error_of(events).text
    assert not any(AudioStart.is_type(e.type) for e in events)


# --------------------------------------------------------------------------- synthesize


async def test_synthesize_sends_pcm_as_it_comes_with_a_plausible_duration(
    cloned: str,
    wyoming_server: WyomingFactory,
    cosyvoice_emulator: RunningEmulator,
    home: Path,
    tmp_path: Path,
) -> None:
    async with wyoming_server() as running, connect(running) as client:
        await client.write_event(Synthesize(TEXT, voice=SynthesizeVoice(name="myvoice")).event())
        events = await read_until(client, "audio-stop", "error")
    types = [e.type for e in events]
    assert types[0] == "audio-start" and types[-1] == "audio-stop", types
    assert set(types[1:-1]) == {"audio-chunk"} and len(types) > 3  # chunks as produced
    start = AudioStart.from_event(events[0])
    assert (start.rate, start.width, start.channels) == (22050, 2, 1)
    samples = pcm_of(events)
    assert np.abs(samples).max() > 1000  # real audio, not silence
    expected = await reference_seconds(cosyvoice_emulator, home, TEXT, tmp_path)
    assert samples.size / 22050 == pytest.approx(expected, abs=0.02)
    assert len(TEXT) / 25 < expected < len(TEXT) / 5  # speech-like pace


async def test_a_request_without_a_voice_gets_the_first_voice_of_its_language(
    cloned: str, wyoming_server: WyomingFactory
) -> None:
    async with wyoming_server(system_voices=True) as running, connect(running) as client:
        await client.write_event(Synthesize("Hello.", voice=SynthesizeVoice(language="en")).event())
        events = await read_until(client, "audio-stop", "error")
        assert events[-1].type == "audio-stop", events
        await client.write_event(Synthesize("你好。").event())  # no voice at all: the first one
        events = await read_until(client, "audio-stop", "error")
        assert events[-1].type == "audio-stop", events


# --------------------------------------------------------------------------- streaming


async def test_streaming_text_word_by_word_gets_audio_before_the_last_word(
    cloned: str,
    wyoming_server: WyomingFactory,
    cosyvoice_emulator: RunningEmulator,
    home: Path,
    tmp_path: Path,
) -> None:
    words = [w + " " for w in TEXT.split(" ")]
    timeline: list[tuple[float, str]] = []
    async with wyoming_server() as running, connect(running) as client:

        async def read() -> list[Event]:
            events: list[Event] = []
            while True:
                event = await asyncio.wait_for(client.read_event(), 15)
                assert event is not None
                events.append(event)
                timeline.append((time.monotonic(), event.type))
                if event.type == "synthesize-stopped":
                    return events

        reader = asyncio.create_task(read())
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="myvoice")).event())
        for word in words:
            await client.write_event(SynthesizeChunk(word).event())
            await asyncio.sleep(0.08)
        last_sent = time.monotonic()
        # what Home Assistant also sends inside a stream, for older servers: must not be spoken
        await client.write_event(Synthesize(TEXT, voice=SynthesizeVoice(name="myvoice")).event())
        await client.write_event(SynthesizeStop().event())
        events = await reader
    first_audio = next(t for t, kind in timeline if kind == "audio-chunk")
    assert first_audio < last_sent
    types = [e.type for e in events]
    assert types[0] == "audio-start" and types[-2:] == ["audio-stop", "synthesize-stopped"]
    assert "error" not in types
    expected = await reference_seconds(cosyvoice_emulator, home, TEXT, tmp_path)
    assert pcm_of(events).size / 22050 == pytest.approx(expected, abs=0.1)  # spoken once


async def test_a_failed_stream_gets_one_error_and_still_its_stopped_event(
    cloned: str, wyoming_server: WyomingFactory
) -> None:
    async with wyoming_server() as running, connect(running) as client:
        await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="nobody")).event())
        for word in ("Hello ", "there. "):
            await client.write_event(SynthesizeChunk(word).event())
        await client.write_event(SynthesizeStop().event())
        events = await read_until(client, "synthesize-stopped")
        assert [e.type for e in events] == ["error", "synthesize-stopped"]
        assert error_of(events).code == "unknown_voice"
        assert (await describe(client)).tts  # the connection still serves


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("options", "voice", "code"),
    [
        ({}, "nosuchvoice", "unknown_voice"),
        ({"model": "cosyvoice-v3-flash"}, "myvoice", "model_mismatch"),
        ({}, "", "invalid_request"),  # an empty text: the library refuses it
    ],
)
async def test_refusals_are_error_events_and_the_connection_stays(
    cloned: str,
    wyoming_server: WyomingFactory,
    cosyvoice_emulator: RunningEmulator,
    options: dict[str, str],
    voice: str,
    code: str,
) -> None:
    text = TEXT if voice else ""
    async with wyoming_server(**options) as running, connect(running) as client:
        await client.write_event(
            Synthesize(text, voice=SynthesizeVoice(name=voice or "myvoice")).event()
        )
        events = await read_until(client, "audio-stop", "error")
        assert [e.type for e in events] == ["error"]
        assert error_of(events).code == code
        assert (await describe(client)).tts  # still serving
    actions = cosyvoice_emulator.backend.recorded("websocket").get("websocket", [])
    assert actions == []  # refused before anything was sent to the service


async def test_ssml_is_refused_with_one_line(cloned: str, wyoming_server: WyomingFactory) -> None:
    async with wyoming_server() as running, connect(running) as client:
        request = Synthesize("<speak>Hi</speak>", voice=SynthesizeVoice(name="myvoice"),
                             text_format="ssml")  # fmt: skip
        await client.write_event(request.event())
        events = await read_until(client, "audio-stop", "error")
    assert "SSML" in error_of(events).text


async def test_service_failures_are_error_events_without_the_key(
    cloned: str,
    wyoming_server: WyomingFactory,
    cosyvoice_emulator: RunningEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cosyvoice_clone")
    seen: list[Event] = []
    cosyvoice_emulator.set_faults(task_failed=1.0)
    async with wyoming_server() as running, connect(running) as client:
        await client.write_event(Synthesize(TEXT, voice=SynthesizeVoice(name="myvoice")).event())
        seen += await read_until(client, "audio-stop", "error")
        failed = error_of(seen)
        assert failed.code == "synthesis_failed"
        cosyvoice_emulator.set_faults()
        await client.write_event(Synthesize(TEXT, voice=SynthesizeVoice(name="myvoice")).event())
        more = await read_until(client, "audio-stop", "error")
        assert more[-1].type == "audio-stop"  # the next request speaks
    wrong_key = "sk-FAKE-wrong-key-0123456789"
    async with wyoming_server(api_key=wrong_key) as running, connect(running) as client:
        await client.write_event(Synthesize(TEXT, voice=SynthesizeVoice(name="myvoice")).event())
        seen += await read_until(client, "audio-stop", "error")
    assert Error.from_event(seen[-1]).code == "auth"
    frames = json.dumps([e.to_dict() for e in seen]) + caplog.text
    for key in (cosyvoice_emulator.api_key, wrong_key):
        assert key not in frames


async def test_a_client_leaving_mid_stream_cancels_the_task_on_the_service(
    cloned: str, wyoming_server: WyomingFactory, cosyvoice_emulator: RunningEmulator
) -> None:
    cosyvoice_emulator.set_rtf(0.5)  # audio still being produced when the client goes
    async with wyoming_server() as running:
        async with connect(running) as client:
            await client.write_event(SynthesizeStart(voice=SynthesizeVoice(name="myvoice")).event())
            await client.write_event(SynthesizeChunk(TEXT + " " + TEXT).event())
            await read_until(client, "audio-chunk")
        deadline = time.monotonic() + 5
        while cosyvoice_emulator.backend.counters.get("synthesis:cancelled", 0) == 0:
            assert time.monotonic() < deadline, "the service task was not cancelled"
            await asyncio.sleep(0.05)


async def test_requests_sent_at_once_are_answered_in_order_without_interleaving(
    cloned: str, wyoming_server: WyomingFactory
) -> None:
    texts = ["First request, a little longer than the second one.", "Second."]
    async with wyoming_server() as running, connect(running) as client:
        for text in texts:
            await client.write_event(
                Synthesize(text, voice=SynthesizeVoice(name="myvoice")).event()
            )
        first = await read_until(client, "audio-stop", "error")
        second = await read_until(client, "audio-stop", "error")
    for events in (first, second):
        types = [e.type for e in events]
        assert types[0] == "audio-start" and types[-1] == "audio-stop"
        assert set(types[1:-1]) == {"audio-chunk"}
    assert pcm_of(first).size > 3 * pcm_of(second).size  # the long one came first
