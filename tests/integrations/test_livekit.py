"""The LiveKit Agents TTS against the emulator (no room, no server): synthesize(), stream()
fed word by word (audio before the input ends, timed transcripts), closing cancels the task on
the service, each refusal as a non-retried APIError with the library's message."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

from cosyvoice_clone import AsyncCosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator

pytest.importorskip("livekit.agents")

from livekit.agents import APIConnectOptions, APIError
from livekit.agents.types import USERDATA_TIMED_TRANSCRIPT

from cosyvoice_clone.integrations.livekit import TTS

pytestmark = pytest.mark.timeout(60)

TEXT = "Hello brave new world. This is the second sentence."
RATE = 16000


def ws_messages(emulator: RunningEmulator) -> list[dict[str, object]]:
    entries = emulator.backend.recorded("websocket").get("websocket", [])
    return [e["message"] for e in entries]


def actions(emulator: RunningEmulator, name: str) -> list[dict[str, object]]:
    return [m for m in ws_messages(emulator) if m["header"]["action"] == name]  # type: ignore[index]


def pcm(events: list[object]) -> np.ndarray:
    data = b"".join(bytes(e.frame.data) for e in events)  # type: ignore[attr-defined]
    return np.frombuffer(data, dtype="<i2")


def timed_words(events: list[object]) -> list[object]:
    return [
        w
        for e in events
        for w in (e.frame.userdata.get(USERDATA_TIMED_TRANSCRIPT) or [])  # type: ignore[attr-defined]
    ]


async def test_synthesize_gives_frames_and_a_timed_transcript(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    async with TTS(voice=voice, sample_rate=RATE, volume=70) as t:
        assert t.capabilities.streaming and t.capabilities.aligned_transcript
        events = [ev async for ev in t.synthesize(TEXT)]
    assert events and events[-1].is_final
    assert all(e.frame.sample_rate == RATE and e.frame.num_channels == 1 for e in events)
    samples = pcm(events)
    duration = samples.size / RATE
    assert 1.5 < duration < 10 and np.abs(samples).max() > 1000
    words = timed_words(events)
    assert [str(w) for w in words] == [t.strip(".") + " " for t in TEXT.split(" ")]
    starts = [w.start_time for w in words]  # type: ignore[attr-defined]
    assert starts == sorted(starts) and words[-1].end_time <= duration + 0.01  # type: ignore[attr-defined]
    params = actions(cosyvoice_emulator_env, "run-task")[0]["payload"]["parameters"]  # type: ignore[index]
    assert params["sample_rate"] == RATE and params["volume"] == 70


async def test_stream_word_by_word_first_audio_before_the_input_ends(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    async with AsyncCosyVoice() as cv:
        await cv.voices.sync()
    log: list[str] = []
    async with TTS(voice="agent", sample_rate=RATE) as t:  # the registry prefix
        st = t.stream()

        async def feed() -> None:
            for word in TEXT.split(" "):
                st.push_text(word + " ")
                log.append("sent")
                await asyncio.sleep(0.15)
            log.append("input complete")
            st.end_input()

        feeder = asyncio.create_task(feed())
        events = []
        async for ev in st:
            if not events:
                log.append("first audio")
            events.append(ev)
        await feeder
        await st.aclose()
    assert log.index("first audio") < log.index("input complete")
    assert pcm(events).size / RATE > 1.5
    assert len({e.segment_id for e in events}) == 1
    assert [str(w).strip() for w in timed_words(events)] == [t.strip(".") for t in TEXT.split(" ")]
    assert len(actions(cosyvoice_emulator_env, "run-task")) == 1  # one live task
    assert len(actions(cosyvoice_emulator_env, "continue-task")) >= 2  # text as it arrived


async def test_closing_a_stream_cancels_the_task_on_the_service(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    cosyvoice_emulator_env.set_rtf(1.0)
    async with TTS(voice=voice, sample_rate=RATE) as t:
        st = t.stream()
        st.push_text(" ".join(["This sentence goes on and on for a while."] * 8))
        st.end_input()
        got = 0
        async for ev in st:
            got += len(ev.frame.data)
            if got > RATE * 2 * 0.5:
                break
        await st.aclose()
    finishes = actions(cosyvoice_emulator_env, "finish-task")
    assert finishes and finishes[-1]["payload"]["input"].get("directive") == "cancel"  # type: ignore[index]


@pytest.mark.parametrize(
    ("case", "words"),
    [("unknown", "unknown voice"), ("deleted", "deleted"), ("mismatch", "bound to")],
)
@pytest.mark.parametrize("how", ["synthesize", "stream"])
async def test_refusals_are_api_errors_not_retried(
    voice: str,
    cosyvoice_emulator_env: RunningEmulator,
    case: str,
    words: str,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    kwargs: dict[str, str] = {"voice": voice}
    if case == "unknown":
        kwargs = {"voice": "nosuchvoice"}
    elif case == "mismatch":
        kwargs["model"] = "cosyvoice-v2"
    else:
        async with AsyncCosyVoice() as cv:
            await cv.voices.delete(voice)
    errors: list[object] = []
    async with TTS(**kwargs) as t:
        t.on("error", errors.append)
        options = APIConnectOptions(max_retry=3, retry_interval=0.01)
        with pytest.raises(APIError) as caught:
            if how == "synthesize":
                [ev async for ev in t.synthesize(TEXT, conn_options=options)]
            else:
                st = t.stream(conn_options=options)
                st.push_text(TEXT)
                st.end_input()
                [ev async for ev in st]
                await st.aclose()
    assert words in caught.value.message.lower() and not caught.value.retryable
    assert len(errors) == 1 and not errors[0].recoverable  # type: ignore[attr-defined]
    assert str(caught.value) in str(errors[0])  # the error event carries the same message
    assert not actions(cosyvoice_emulator_env, "run-task")  # refused before connecting
    key = cosyvoice_emulator_env.api_key
    assert key not in str(caught.value) and key not in str(errors[0]) and key not in caplog.text


async def test_a_system_voice_with_its_model(cosyvoice_emulator_env: RunningEmulator) -> None:
    async with TTS(voice="longanyang", model="cosyvoice-v3-flash", sample_rate=RATE) as t:
        events = [ev async for ev in t.synthesize("Hello brave new world.")]
    assert pcm(events).size / RATE > 0.5 and len(timed_words(events)) == 4
    run = actions(cosyvoice_emulator_env, "run-task")[0]
    assert run["payload"]["model"] == "cosyvoice-v3-flash"  # type: ignore[index]
