"""The Pipecat service against the emulator: run_tts on its own, a pipeline with streamed LLM
tokens (audio frames and word timestamps), interruption, and each refusal as an ErrorFrame."""

from __future__ import annotations

import asyncio
import sys

import numpy as np
import pytest

from cosyvoice_clone import AsyncCosyVoice
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import CosyVoiceCloneError

if sys.version_info < (3, 11):
    pytest.skip("pipecat-ai needs Python 3.11+", allow_module_level=True)
pytest.importorskip("pipecat")

from loguru import logger
from pipecat.frames.frames import (
    ErrorFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.pipeline.task import PipelineParams
from pipecat.services.tts_service import TextAggregationMode
from pipecat.tests.utils import SleepFrame, run_test

from cosyvoice_clone.integrations.pipecat import CosyVoiceTTSService

MODEL = "cosyvoice-v3.5-plus"

pytestmark = pytest.mark.timeout(60)

TEXT = "Hello brave new world. This is the second sentence."
RATE = 16000


def ws_actions(emulator: RunningEmulator) -> list[dict[str, object]]:
    entries = emulator.backend.recorded("websocket").get("websocket", [])
    return [e["message"] for e in entries]


def pcm_of(frames: list[object]) -> bytes:
    return b"".join(f.audio for f in frames if isinstance(f, TTSAudioRawFrame))  # type: ignore[attr-defined]


@pytest.fixture
def logs() -> list[str]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="TRACE")
    yield lines
    logger.remove(sink)


async def test_run_tts_alone_yields_pcm_at_the_asked_rate(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    svc = CosyVoiceTTSService(voice=voice, sample_rate=RATE)
    frames = [f async for f in svc.run_tts("Hello brave new world.", "c1")]
    audio = [f for f in frames if isinstance(f, TTSAudioRawFrame)]
    assert audio and all(f.sample_rate == RATE and f.num_channels == 1 for f in audio)
    samples = np.frombuffer(pcm_of(frames), dtype="<i2")
    assert 0.5 < samples.size / RATE < 5 and np.abs(samples).max() > 1000


async def test_pipeline_streams_tokens_into_one_task_with_word_timestamps(
    voice: str, cosyvoice_emulator_env: RunningEmulator, logs: list[str]
) -> None:
    async with AsyncCosyVoice() as cv:
        await cv.voices.sync()  # the voice was made on the backend: register its prefix
    svc = CosyVoiceTTSService(voice="agent", rate=1.0, volume=60)  # the registry prefix
    tokens = [w + " " for w in TEXT.split(" ")]
    down, up = await run_test(
        svc,
        frames_to_send=[
            LLMFullResponseStartFrame(),
            *[LLMTextFrame(text=t) for t in tokens],
            LLMFullResponseEndFrame(),
            SleepFrame(sleep=1.0),
        ],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    assert not [f for f in up if isinstance(f, ErrorFrame)]
    audio = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert audio and all(f.sample_rate == RATE for f in audio)
    duration = len(pcm_of(audio)) / 2 / RATE
    assert 1.5 < duration < 10
    words = [f for f in down if isinstance(f, TTSTextFrame)]
    assert [w.text for w in words] == [t.strip(".") for t in TEXT.split(" ")]
    pts = [w.pts for w in words]
    assert all(p is not None for p in pts) and pts == sorted(pts) and pts[-1] > pts[0]
    types = [type(f) for f in down]
    assert types.index(TTSStartedFrame) < types.index(TTSAudioRawFrame)
    assert TTSStoppedFrame in types
    messages = ws_actions(cosyvoice_emulator_env)
    runs = [m for m in messages if m["header"]["action"] == "run-task"]  # type: ignore[index]
    assert len(runs) == 1  # the whole turn is one live task
    params = runs[0]["payload"]["parameters"]  # type: ignore[index]
    assert params["sample_rate"] == RATE and params["word_timestamp_enabled"] is True
    assert params["volume"] == 60
    key = cosyvoice_emulator_env.api_key
    assert not any(key in str(f) for f in [*down, *up]) and not any(key in line for line in logs)


async def test_sentence_mode_speaks_a_speak_frame(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    svc = CosyVoiceTTSService(
        voice=voice, model=MODEL, text_aggregation_mode=TextAggregationMode.SENTENCE
    )
    down, up = await run_test(
        svc,
        frames_to_send=[TTSSpeakFrame(text=TEXT), SleepFrame(sleep=1.0)],
        pipeline_params=PipelineParams(audio_out_sample_rate=24000),
    )
    assert not [f for f in up if isinstance(f, ErrorFrame)]
    assert len(pcm_of(list(down))) / 2 / 24000 > 1.5
    assert next(f.text for f in down if isinstance(f, TTSTextFrame)) == "Hello"


async def test_interruption_cancels_the_task_on_the_service(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    cosyvoice_emulator_env.set_rtf(1.0)  # real time: the speech is still going when cut
    svc = CosyVoiceTTSService(voice=voice)
    long_text = " ".join(["This sentence goes on and on for a while."] * 8)
    down, _ = await run_test(
        svc,
        frames_to_send=[
            TTSSpeakFrame(text=long_text),
            SleepFrame(sleep=1.0),
            InterruptionFrame(),
            SleepFrame(sleep=0.5),
        ],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    duration = len(pcm_of(list(down))) / 2 / RATE
    assert 0 < duration < 5  # the whole text is over 15 s
    finishes = [
        m
        for m in ws_actions(cosyvoice_emulator_env)
        if m["header"]["action"] == "finish-task"  # type: ignore[index]
    ]
    assert finishes and finishes[-1]["payload"]["input"].get("directive") == "cancel"  # type: ignore[union-attr,index]
    await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("case", "words"),
    [("unknown", "unknown voice"), ("deleted", "deleted"), ("mismatch", "bound to")],
)
async def test_refusals_are_error_frames_with_the_library_message(
    voice: str, cosyvoice_emulator_env: RunningEmulator, case: str, words: str, logs: list[str]
) -> None:
    kwargs: dict[str, str] = {"voice": voice}
    if case == "unknown":
        kwargs = {"voice": "nosuchvoice"}
    elif case == "mismatch":
        kwargs["model"] = "cosyvoice-v2"
    else:
        async with AsyncCosyVoice() as cv:
            await cv.voices.delete(voice)
    svc = CosyVoiceTTSService(**kwargs)
    down, up = await run_test(
        svc,
        frames_to_send=[TTSSpeakFrame(text=TEXT), SleepFrame(sleep=0.3)],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    ours = [f for f in up if isinstance(f, ErrorFrame) and f.exception is not None]
    assert len(ours) == 1  # pipecat adds its own "completed with no audio" (no exception)
    assert isinstance(ours[0].exception, CosyVoiceCloneError)
    assert ours[0].error == str(ours[0].exception) and words in ours[0].error.lower()
    assert not [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert not [
        m for m in ws_actions(cosyvoice_emulator_env) if m["header"]["action"] == "run-task"
    ]  # type: ignore[index]
    key = cosyvoice_emulator_env.api_key
    assert not any(key in str(f) for f in [*down, *up]) and not any(key in line for line in logs)


async def test_a_system_voice_with_its_model(cosyvoice_emulator_env: RunningEmulator) -> None:
    svc = CosyVoiceTTSService(voice="longanyang", model="cosyvoice-v3-flash", sample_rate=RATE)
    frames = [f async for f in svc.run_tts("Hello brave new world.", "c1")]
    assert len(pcm_of(frames)) / 2 / RATE > 0.5
    run = next(m for m in ws_actions(cosyvoice_emulator_env) if m["header"]["action"] == "run-task")  # type: ignore[index]
    assert run["payload"]["model"] == "cosyvoice-v3-flash"  # type: ignore[index]
    assert run["payload"]["parameters"]["voice"] == "longanyang"  # type: ignore[index]


async def test_the_task_opens_when_the_turn_starts_before_the_first_token(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    svc = CosyVoiceTTSService(voice=voice)
    down, up = await run_test(
        svc,
        frames_to_send=[
            LLMFullResponseStartFrame(),
            SleepFrame(sleep=0.5),  # the LLM thinks
            *[LLMTextFrame(text=w + " ") for w in TEXT.split(" ")],
            LLMFullResponseEndFrame(),
            SleepFrame(sleep=1.0),
        ],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    assert not [f for f in up if isinstance(f, ErrorFrame)] and pcm_of(list(down))
    entries = cosyvoice_emulator_env.backend.recorded("websocket")["websocket"]
    at = {e["message"]["header"]["action"]: e["received_at"] for e in reversed(entries)}
    assert at["continue-task"] - at["run-task"] > 0.3  # run-task went during the pause


async def test_a_turn_without_text_leaves_no_task_open(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    svc = CosyVoiceTTSService(voice=voice)
    await run_test(
        svc,
        frames_to_send=[
            LLMFullResponseStartFrame(),
            SleepFrame(sleep=0.3),
            LLMFullResponseEndFrame(),
        ],
        pipeline_params=PipelineParams(audio_out_sample_rate=RATE),
    )
    actions = [m["header"]["action"] for m in ws_actions(cosyvoice_emulator_env)]  # type: ignore[index]
    assert actions == ["run-task", "finish-task"]
    assert ws_actions(cosyvoice_emulator_env)[-1]["payload"]["input"]["directive"] == "cancel"  # type: ignore[index]
