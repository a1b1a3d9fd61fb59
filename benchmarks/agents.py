"""Voice-agent doors: first audio through Pipecat and LiveKit vs the library directly.

    python benchmarks/agents.py [--latency 0.2] [--runs 7] [--tokens-per-second 20]

Starts `cosyvoice-clone emulator serve --first-audio-latency 0.2` (rate limits on, as the
service) and, for the shim, `cosyvoice-clone serve`, each in its own process, then measures
(median of ``--runs``, runs spaced 0.4 s apart so the 3 tasks/s pacing never delays one):

1. One sentence: request to first audio. The library (``cv.live``: open, send, close, first
   chunk), Pipecat (``CosyVoiceTTSService`` in a pipeline: the ``TTSSpeakFrame`` reaching the
   service to the first ``TTSAudioRawFrame`` leaving it) and LiveKit (``TTS.synthesize`` to the
   first ``SynthesizedAudio``). Goal: each door adds under 10 ms to the library.
2. Streamed text (an LLM reply at ``--tokens-per-second``): first token to first audio. The
   library's live session (opened at the first token), Pipecat (``LLMTextFrame``s in TOKEN
   mode), LiveKit (``stream()`` with ``push_text``) and the OpenAI shim (``serve``'s
   /v1/audio/speech, which takes whole texts: the first sentence is posted once it is complete,
   as a sentence-aggregating agent does). The service speaks whole sentences, so first audio
   follows the first sentence's last token; the doors' overhead is compared on that delay
   (sentence's last token to first audio), which a sender's own timing drift does not move.

Wyoming is not measured: its door (issue 26, another branch) was not on main when this ran.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import print_table
from live import REPLY, first_boundary_index, llm_tokens
from long_text import Server as Emulator
from openai_server import start_speech_server

SENTENCE = "Hello, this is a short benchmark sentence."
RATE = 24000
Figures = dict[str, list[Any]]
Timing = tuple[float, float]
"""Streamed text: (first token -> first audio, the first sentence's last token -> first audio)."""


def client(emulator: Emulator, home: Path) -> Any:
    from cosyvoice_clone import AsyncCosyVoice

    return AsyncCosyVoice(
        api_key=emulator.api_key, http_base=emulator.http_base,
        websocket_url=emulator.websocket_url, home=home,
    )  # fmt: skip


# --------------------------------------------------------------------------- the library


async def library_sentence(cv: Any, voice: str) -> float:
    started = time.perf_counter()
    async with cv.live(voice=voice, format="pcm", sample_rate=RATE) as live:
        await live.send(SENTENCE)
        await live.close()
        first = None
        async for _chunk in live.audio():
            first = first or time.perf_counter()
    assert first is not None
    return first - started


async def library_tokens(cv: Any, voice: str, rate: float) -> Timing:
    tokens = llm_tokens(REPLY)
    sent: list[float] = []
    started = time.perf_counter()  # the first token is produced now
    async with cv.live(voice=voice, format="pcm", sample_rate=RATE) as live:

        async def feed() -> None:
            for i, token in enumerate(tokens):
                sent.append(time.perf_counter())
                await live.send(token)
                await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
            await live.close()

        feeder = asyncio.create_task(feed())
        first = None
        async for _chunk in live.audio():
            first = first or time.perf_counter()
        await feeder
    assert first is not None
    return first - started, first - sent[first_boundary_index(tokens)]


# --------------------------------------------------------------------------- Pipecat


async def pipecat_run(cv: Any, voice: str, frames: list[Any], start_on: type) -> list[float]:
    """Times the frames of type ``start_on`` reached the service, then the first audio's."""
    from pipecat.frames.frames import Frame, TTSAudioRawFrame
    from pipecat.pipeline.pipeline import Pipeline
    from pipecat.pipeline.task import PipelineParams
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
    from pipecat.tests.utils import run_test

    from cosyvoice_clone.integrations.pipecat import CosyVoiceTTSService

    marks: dict[str, list[float]] = {"in": [], "audio": []}

    class Mark(FrameProcessor):  # type: ignore[misc]
        def __init__(self, name: str, kind: type) -> None:
            super().__init__()
            self.mark, self.kind = name, kind

        async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            if isinstance(frame, self.kind):
                marks[self.mark].append(time.perf_counter())
            await self.push_frame(frame, direction)

    service = CosyVoiceTTSService(voice=voice, client=cv)
    pipeline = Pipeline([Mark("in", start_on), service, Mark("audio", TTSAudioRawFrame)])
    await run_test(
        pipeline, frames_to_send=frames, pipeline_params=PipelineParams(audio_out_sample_rate=RATE)
    )
    return [*marks["in"], marks["audio"][0]]


async def pipecat_sentence(cv: Any, voice: str) -> float:
    from pipecat.frames.frames import TTSSpeakFrame
    from pipecat.tests.utils import SleepFrame

    times = await pipecat_run(
        cv, voice, [TTSSpeakFrame(text=SENTENCE), SleepFrame(sleep=1.5)], TTSSpeakFrame
    )
    return times[-1] - times[0]


async def pipecat_tokens(cv: Any, voice: str, rate: float) -> Timing:
    from pipecat.frames.frames import LLMFullResponseEndFrame, LLMFullResponseStartFrame
    from pipecat.frames.frames import LLMTextFrame as Token
    from pipecat.tests.utils import SleepFrame

    tokens = llm_tokens(REPLY)
    frames: list[Any] = [LLMFullResponseStartFrame()]
    for token in tokens:
        frames += [Token(text=token), SleepFrame(sleep=1 / rate)]
    frames += [LLMFullResponseEndFrame(), SleepFrame(sleep=1.5)]
    times = await pipecat_run(cv, voice, frames, Token)
    return times[-1] - times[0], times[-1] - times[first_boundary_index(tokens)]


# --------------------------------------------------------------------------- LiveKit


async def livekit_sentence(cv: Any, voice: str) -> float:
    from cosyvoice_clone.integrations.livekit import TTS

    tts = TTS(voice=voice, sample_rate=RATE, client=cv)
    started = time.perf_counter()
    first = None
    async for _ev in tts.synthesize(SENTENCE):
        first = first or time.perf_counter()
    assert first is not None
    return first - started


async def livekit_tokens(cv: Any, voice: str, rate: float) -> Timing:
    from cosyvoice_clone.integrations.livekit import TTS

    tts = TTS(voice=voice, sample_rate=RATE, client=cv)
    tokens = llm_tokens(REPLY)
    sent: list[float] = []
    started = time.perf_counter()
    stream = tts.stream()

    async def feed() -> None:
        for i, token in enumerate(tokens):
            sent.append(time.perf_counter())
            stream.push_text(token)
            await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
        stream.end_input()

    feeder = asyncio.create_task(feed())
    first = None
    async for _ev in stream:
        first = first or time.perf_counter()
    await feeder
    await stream.aclose()
    assert first is not None
    return first - started, first - sent[first_boundary_index(tokens)]


# --------------------------------------------------------------------------- the OpenAI shim


async def shim_tokens(base: str, voice: str, rate: float) -> Timing:
    tokens = llm_tokens(REPLY)
    boundary = first_boundary_index(tokens)
    started = time.perf_counter()
    await asyncio.sleep(max(0.0, started + boundary / rate - time.perf_counter()))
    last = time.perf_counter()
    body = {"model": "tts-1", "voice": voice, "input": "".join(tokens[: boundary + 1]).strip(),
            "response_format": "pcm"}  # fmt: skip
    async with (
        httpx.AsyncClient(timeout=60) as http,
        http.stream("POST", f"{base}/audio/speech", json=body) as response,
    ):
        response.raise_for_status()
        async for _chunk in response.aiter_raw():
            now = time.perf_counter()
            return now - started, now - last
    raise RuntimeError("the shim sent no audio")


# --------------------------------------------------------------------------- main


async def measure(
    paths: list[tuple[str, Callable[[], Awaitable[Any]]]], runs: int, into: Figures
) -> None:
    """Each path once to warm up, then ``runs`` rounds with every path in turn (so a change in
    the machine's load affects them alike)."""
    for _name, run in paths:
        await run()  # warm-up (imports, the registry, first connection)
        await asyncio.sleep(0.4)
    for _ in range(runs):
        for name, run in paths:
            into.setdefault(name, []).append(await run())
            await asyncio.sleep(0.4)


def ms(values: list[float]) -> str:
    low, high = min(values) * 1000, max(values) * 1000
    return f"{statistics.median(values) * 1000:.1f} ms ({low:.0f}-{high:.0f})"


async def bench(emulator: Emulator, base: str, voice: str, home: Path, args: Any) -> float:
    from loguru import logger

    logger.remove()  # pipecat logs every frame at DEBUG
    logger.add(sys.stderr, level="WARNING")
    rate = args.tokens_per_second
    one: Figures = {}
    streamed: Figures = {}
    async with client(emulator, home) as cv:
        await measure(
            [
                ("library (live)", lambda: library_sentence(cv, voice)),
                ("Pipecat", lambda: pipecat_sentence(cv, voice)),
                ("LiveKit synthesize()", lambda: livekit_sentence(cv, voice)),
            ],
            args.runs,
            one,
        )
        await measure(
            [
                ("library (live)", lambda: library_tokens(cv, voice, rate)),
                ("Pipecat (TOKEN)", lambda: pipecat_tokens(cv, voice, rate)),
                ("LiveKit stream()", lambda: livekit_tokens(cv, voice, rate)),
                ("OpenAI shim (sentence)", lambda: shim_tokens(base, voice, rate)),
            ],
            args.runs,
            streamed,
        )
    overheads: list[float] = []
    lib = statistics.median(one["library (live)"])
    rows = []
    for name, values in one.items():
        extra = statistics.median(values) - lib
        overheads += [extra] if name != "library (live)" else []
        rows.append((name, ms(values), f"{extra * 1000:+.1f} ms"))
    print_table(
        f"one sentence: request -> first audio, server latency {args.latency:g} s "
        f"(median (range) of {args.runs})",
        rows, ("path", "first audio", "vs library"),
    )  # fmt: skip
    print()
    lib_last = statistics.median(v[1] for v in streamed["library (live)"])
    rows = []
    for name, values in streamed.items():
        firsts, lasts = [v[0] for v in values], [v[1] for v in values]
        extra = statistics.median(lasts) - lib_last
        if name.startswith(("Pipecat", "LiveKit")):
            overheads.append(extra)
        rows.append((name, ms(firsts), ms(lasts), f"{extra * 1000:+.1f} ms"))
    boundary = first_boundary_index(llm_tokens(REPLY)) / rate
    print_table(
        f"streamed reply, {rate:g} tokens/s (the first sentence ends {boundary * 1000:.0f} ms "
        f"after the first token), server latency {args.latency:g} s",
        rows,
        ("path", "first token -> audio", "sentence's last token -> audio", "vs library"),
    )
    worst = max(overheads)
    print()
    print(f"goal: each door under 10 ms over the library -> worst {worst * 1000:+.1f} ms "
          f"({'met' if worst < 0.010 else 'NOT met'})")  # fmt: skip
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tokens-per-second", type=float, default=20.0)
    args = parser.parse_args()
    emulator = Emulator("--first-audio-latency", str(args.latency))
    proc = None
    try:
        voice = emulator.create_voice()
        with tempfile.TemporaryDirectory() as home:
            proc, base = start_speech_server(emulator, Path(home) / "serve")
            asyncio.run(bench(emulator, base, voice, Path(home), args))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        emulator.stop()


if __name__ == "__main__":
    main()
