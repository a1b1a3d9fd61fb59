"""The OpenAI-compatible server: time to first byte and throughput under the 3 tasks/s limit.

    python benchmarks/openai_server.py [--latency 0.2] [--runs 15] [--requests 60] [--clients 20]

Starts `cosyvoice-clone emulator serve --first-audio-latency 0.2` (rate limits on, as the
service) and `cosyvoice-clone serve` pointed at it, each in its own process, then:

1. Time to first byte of a short text (pcm): through the server (HTTP request to the first body
   byte) vs our library directly (``AsyncSynthesizer.stream``, call to the first chunk) vs the
   emulator's configured first-audio latency. Goal: the server adds under 30 ms to the library.
   Requests are spaced 0.4 s apart so that the 3 tasks/s pacing never delays one.
2. Throughput: 60 short requests from 20 concurrent clients. The service admits 3 task
   submissions per second per model, so the ideal wall time is about (60 - 3) / 3 s plus one
   synthesis; goal: within 1.2x of it, with every request succeeding.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import print_table
from long_text import Server as Emulator  # the emulator process that enrolls a voice

TEXT = "Hello, this is a short benchmark sentence."


def start_speech_server(emulator: Emulator, home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "COSYVOICE_CLONE_HOME": str(home),
        "DASHSCOPE_API_KEY": emulator.api_key,
        "DASHSCOPE_HTTP_BASE_URL": emulator.http_base,
        "DASHSCOPE_WEBSOCKET_BASE_URL": emulator.websocket_url,
    }
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "from cosyvoice_clone.cli.main import run; run()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--max-queue", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    base = proc.stdout.readline().strip().removeprefix("OPENAI_BASE_URL=")
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base.removesuffix("/v1") + "/healthz").raise_for_status()
            return proc, base
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit("the speech server did not start") from None
            time.sleep(0.05)


async def ttfb_server(base: str, voice: str, runs: int) -> list[float]:
    times = []
    body = {"model": "tts-1", "voice": voice, "input": TEXT, "response_format": "pcm"}
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(runs + 1):
            started = time.perf_counter()
            async with http.stream("POST", f"{base}/audio/speech", json=body) as response:
                response.raise_for_status()
                first = True
                async for _chunk in response.aiter_raw():
                    if first:
                        times.append(time.perf_counter() - started)
                        first = False
            await asyncio.sleep(0.4)
    return times[1:]  # the first warms the connections up


async def ttfb_library(emulator: Emulator, voice: str, runs: int) -> list[float]:
    from cosyvoice_clone.synthesis import AsyncSynthesizer, SynthesisOptions

    synth = AsyncSynthesizer(api_key=emulator.api_key, websocket_url=emulator.websocket_url)
    options = SynthesisOptions(format="pcm", sample_rate=24000)
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        async with synth.stream(TEXT, voice=voice, options=options) as stream:
            first = True
            async for _chunk in stream:
                if first:
                    times.append(time.perf_counter() - started)
                    first = False
        await asyncio.sleep(0.4)
    return times[1:]


async def throughput(base: str, voice: str, requests: int, clients: int) -> tuple[float, int]:
    gate = asyncio.Semaphore(clients)
    ok = 0

    async def one(http: httpx.AsyncClient, i: int) -> None:
        nonlocal ok
        async with gate:
            response = await http.post(f"{base}/audio/speech", json={
                "model": "tts-1", "voice": voice, "input": f"Short request number {i}.",
                "response_format": "mp3"})  # fmt: skip
            ok += response.status_code == 200 and len(response.content) > 0

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one(http, i) for i in range(requests)))
        return time.perf_counter() - started, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()

    emulator = Emulator("--first-audio-latency", str(args.latency))
    home = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    proc = None
    try:
        voice = emulator.create_voice()
        proc, base = start_speech_server(emulator, home)
        lib = asyncio.run(ttfb_library(emulator, voice, args.runs))
        srv = asyncio.run(ttfb_server(base, voice, args.runs))
        lib_ms, srv_ms = statistics.median(lib) * 1000, statistics.median(srv) * 1000
        overhead = srv_ms - lib_ms
        print_table(
            f"Time to first byte, short text, median of {args.runs} (ms)",
            [
                ("emulator first-audio latency", f"{args.latency * 1000:.1f}"),
                ("library directly", f"{lib_ms:.1f}"),
                ("through the server", f"{srv_ms:.1f}"),
                ("server overhead (goal < 30)", f"{overhead:.1f}"),
            ],
            ("path", "ms"),
        )
        time.sleep(1.5)  # let the rate window empty
        wall, ok = asyncio.run(throughput(base, voice, args.requests, args.clients))
        ideal = (args.requests - 3) / 3.0 + args.latency
        print()
        print_table(
            f"Throughput: {args.requests} short requests from {args.clients} clients",
            [
                ("succeeded", f"{ok}/{args.requests}"),
                ("wall time (s)", f"{wall:.2f}"),
                ("requests/s (bound 3/s)", f"{args.requests / wall:.2f}"),
                ("ideal wall at 3/s (s)", f"{ideal:.2f}"),
                ("ratio wall/ideal (goal <= 1.2)", f"{wall / ideal:.2f}"),
            ],
            ("measure", "value"),
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
        emulator.stop()


if __name__ == "__main__":
    main()
