"""Live speech: time from the first token of a simulated LLM stream to the first audio byte.

    python benchmarks/live.py [--latency 0.3] [--tokens-per-second 20] [--runs 5]

Starts `cosyvoice-clone emulator serve --first-audio-latency 0.3` in its own process and feeds
the same reply token by token at 20 tokens/s to

- ours, session opened before the reply starts (``async with cv.live(...)`` then the tokens);
- ours, session opened when the first token arrives (connect + run-task inside the timing);
- the SDK's ``SpeechSynthesizer.streaming_call`` (one call per token, its own connection made
  at the first call), then ``streaming_complete``.

Each figure is the median over ``--runs`` of (first audio byte) - (first token produced). The
goal for ours: within 10% of (the server's first-audio latency + the time until the token that
ends the first sentence), the least any client can get when the service speaks whole sentences.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import print_table
from long_text import MODEL
from long_text import Server as Emulator

REPLY = (
    "Sure, here is a short answer for you. The weather today is sunny and warm, with a light "
    "breeze from the west. Tomorrow it will rain in the afternoon, so take an umbrella."
)
SAMPLE_RATE = 24000


def llm_tokens(text: str) -> list[str]:
    """Word-sized tokens with their trailing space."""
    return [w + " " for w in text.split(" ")]


def first_boundary_index(tokens: list[str]) -> int:
    """Index of the token that ends the first sentence."""
    for i, token in enumerate(tokens):
        if token.rstrip().endswith((".", "!", "?")):
            return i
    return len(tokens) - 1


async def run_ours(emulator: Emulator, voice: str, home: Path, rate: float, warm: bool) -> float:
    from cosyvoice_clone import AsyncCosyVoice

    tokens = llm_tokens(REPLY)
    first_audio: list[float] = []
    async with AsyncCosyVoice(
        api_key=emulator.api_key, http_base=emulator.http_base,
        websocket_url=emulator.websocket_url, home=home,
    ) as cv:  # fmt: skip
        live = cv.live(voice=voice, format="pcm", sample_rate=SAMPLE_RATE)
        if warm:
            await live.open()
        started = time.perf_counter()  # the first token is produced now
        if not warm:
            await live.open()

        async def feed() -> None:
            for i, token in enumerate(tokens):
                await live.send(token)
                next_at = started + (i + 1) / rate
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            await live.close()

        feeder = asyncio.create_task(feed())
        async for _chunk in live.audio():
            if not first_audio:
                first_audio.append(time.perf_counter())
        await feeder
        await live.wait()
    return first_audio[0] - started


def run_sdk(emulator: Emulator, voice: str, rate: float) -> float:
    import dashscope
    from dashscope.audio.tts_v2 import AudioFormat, ResultCallback, SpeechSynthesizer

    dashscope.api_key = emulator.api_key
    first_audio: list[float] = []
    done = threading.Event()

    class Callback(ResultCallback):  # type: ignore[misc]
        def on_data(self, data: bytes) -> None:
            if not first_audio:
                first_audio.append(time.perf_counter())

        def on_complete(self) -> None:
            done.set()

        def on_error(self, message: object) -> None:
            done.set()

    synthesizer = SpeechSynthesizer(
        model=MODEL, voice=voice, format=AudioFormat.PCM_24000HZ_MONO_16BIT,
        callback=Callback(), url=emulator.websocket_url,
    )  # fmt: skip
    started = time.perf_counter()
    for i, token in enumerate(llm_tokens(REPLY)):
        synthesizer.streaming_call(token)
        time.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
    synthesizer.streaming_complete()
    done.wait(60)
    return first_audio[0] - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--tokens-per-second", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rate = args.tokens_per_second
    emulator = Emulator("--first-audio-latency", str(args.latency))
    try:
        voice = emulator.create_voice()
        time.sleep(0.5)  # the 3 tasks/s window
        with tempfile.TemporaryDirectory() as home:
            figures: dict[str, list[float]] = {"ours (open before)": [], "ours (open at token)": [],
                                               "SDK streaming_call": []}  # fmt: skip
            for _ in range(args.runs):
                figures["ours (open before)"].append(
                    asyncio.run(run_ours(emulator, voice, Path(home), rate, warm=True))
                )
                time.sleep(0.4)
                figures["ours (open at token)"].append(
                    asyncio.run(run_ours(emulator, voice, Path(home), rate, warm=False))
                )
                time.sleep(0.4)
                figures["SDK streaming_call"].append(run_sdk(emulator, voice, rate))
                time.sleep(0.4)
    finally:
        emulator.stop()
    boundary = first_boundary_index(llm_tokens(REPLY)) / rate
    floor = args.latency + boundary
    rows = [
        (name, f"{statistics.median(v) * 1000:.0f} ms", f"{min(v) * 1000:.0f}-{max(v) * 1000:.0f}",
         f"{statistics.median(v) / floor:.2f}x")
        for name, v in figures.items()
    ]  # fmt: skip
    print_table(
        f"first token -> first audio byte, {rate:g} tokens/s, server latency {args.latency:g} s; "
        f"first sentence ends {boundary * 1000:.0f} ms after the first token; floor "
        f"{floor * 1000:.0f} ms (median of {args.runs})",
        rows,
        ("client", "median", "range", "vs floor"),
    )
    ours = statistics.median(figures["ours (open before)"])
    print(f"goal: ours within 1.10x of the floor -> {ours / floor:.2f}x "
          f"({'met' if ours <= 1.1 * floor else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
