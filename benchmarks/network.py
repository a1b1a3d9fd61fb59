#!/usr/bin/env python3
"""Short requests in a row at a distance: ours (cold and warm) vs the official dashscope SDK
without and with ``SpeechSynthesizerObjectPool``, the same through ``serve``, and a long text.

    python benchmarks/network.py [--delays 0,25,75] [--counts 5,50] [--latency 0.2] [--rtf 0.2]
                                 [--skip-sdk] [--skip-serve] [--skip-long] [--long-rtf 0.02]

One emulator subprocess (`emulator serve --first-audio-latency L --rtf R`, rate limits on, as
the service) with ``network_delay`` set per delay (one-way ms: a handshake costs 3 round trips,
every frame one delay). First audio per request = wall time from issuing the request to the
first audio bytes in hand (the SDK: its own ``get_first_package_delay()``, which counts its
connect, plus the time to borrow/build the synthesizer). Reported: request 1 alone, the median
and p95 of requests 2..N, and the connections the emulator saw opened for the side.
The SDK's connect polls ``sock.connected`` every 100 ms (dashscope 2.0.2): up to 100 ms of
granularity on every SDK handshake. Expected floor after the first request: 4d + L; cold
(a new connection): 10d + L.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import EmulatorProcess, print_table
from long_text import make_text

MODEL = "cosyvoice-v3-flash"
VOICE = "longanyang"


def sentence(i: int) -> str:
    return f"Sentence {i}: the train leaves at seven."


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def opened(server: EmulatorProcess) -> int:
    return int(server.state()["websockets"]["opened"])


def measured(server: EmulatorProcess, side: Callable[[], list[float]]) -> dict[str, Any]:
    before = opened(server)
    firsts = side()
    time.sleep(0.3)  # the last closes land
    rest = firsts[1:] or firsts
    return {
        "first": firsts[0],
        "median": statistics.median(rest),
        "p95": p95(rest),
        "connections": opened(server) - before,
    }


# --------------------------------------------------------------------------- ours


def ours(server: EmulatorProcess, count: int, warm: int, home: Path) -> list[float]:
    import websockets.asyncio.client  # noqa: F401  (imports are not the network's cost)

    from cosyvoice_clone import AsyncCosyVoice, speech  # noqa: F401

    async def main() -> list[float]:
        cv = AsyncCosyVoice(
            api_key=server.api_key, websocket_url=server.websocket_url,
            http_base=server.http_base, home=home, warm=warm,
        )  # fmt: skip
        async with cv:  # with warm > 0: waits for the warm connections (untimed)
            await cv.resolve_voice(VOICE, model=MODEL)  # local one-time setup (registry): untimed
            firsts = []
            for i in range(count):
                t0 = time.perf_counter()
                stream = await cv.stream_speech(sentence(i), voice=VOICE, model=MODEL, format="pcm")
                firsts.append(time.perf_counter() - t0)  # it returns after the first chunk
                async for _ in stream:
                    pass
                await stream.aclose()
            return firsts

    return asyncio.run(main())


# --------------------------------------------------------------------------- the SDK


def sdk(server: EmulatorProcess, count: int, pooled: bool) -> list[float]:
    import dashscope
    from dashscope.audio.tts_v2 import AudioFormat, SpeechSynthesizer
    from dashscope.audio.tts_v2.speech_synthesizer import SpeechSynthesizerObjectPool

    dashscope.api_key = server.api_key
    fmt = AudioFormat.PCM_22050HZ_MONO_16BIT
    pool = SpeechSynthesizerObjectPool(max_size=1, url=server.websocket_url) if pooled else None
    firsts = []
    try:
        for i in range(count):
            t0 = time.perf_counter()
            if pool is not None:
                synth = pool.borrow_synthesizer(model=MODEL, voice=VOICE, format=fmt)
            else:
                synth = SpeechSynthesizer(model=MODEL, voice=VOICE, format=fmt,
                                          url=server.websocket_url)  # fmt: skip
            called = time.perf_counter()
            audio = synth.call(sentence(i))
            assert audio
            firsts.append((called - t0) + synth.get_first_package_delay() / 1000)
            if pool is not None:
                pool.return_synthesizer(synth)
    finally:
        if pool is not None:
            pool.shutdown()  # a singleton: the next delay builds it again (sockets left open)
    return firsts


# --------------------------------------------------------------------------- serve


def serve(server: EmulatorProcess, count: int, warm: int, home: Path) -> list[float]:
    env = {
        **os.environ,
        "DASHSCOPE_HTTP_BASE_URL": server.http_base,
        "DASHSCOPE_WEBSOCKET_BASE_URL": server.websocket_url,
        "DASHSCOPE_API_KEY": server.api_key,
        "COSYVOICE_CLONE_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }
    code = "from cosyvoice_clone.cli.main import run; run()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", "0", "--warm", str(warm)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("OPENAI_BASE_URL="):
            raise SystemExit(f"serve did not start: {line!r}")
        base = line.strip().split("=", 1)[1]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the lifespan (and its warming) is done
            try:
                if httpx.get(base.removesuffix("/v1") + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        firsts = []
        with httpx.Client(timeout=60) as client:
            for i in range(count):
                request = {"model": "tts-1", "input": sentence(i), "voice": VOICE,
                           "response_format": "pcm"}  # fmt: skip
                t0 = time.perf_counter()
                with client.stream("POST", f"{base}/audio/speech", json=request) as response:
                    response.raise_for_status()
                    chunks = response.iter_bytes()
                    next(chunks)
                    firsts.append(time.perf_counter() - t0)
                    for _ in chunks:
                        pass
        return firsts
    finally:
        proc.terminate()
        proc.wait(timeout=15)


# --------------------------------------------------------------------------- long text


def long_text(server: EmulatorProcess, chars: int, pooled: bool, out: Path) -> float:
    from cosyvoice_clone.synthesis import AsyncSynthesizer
    from cosyvoice_clone.synthesis.connect import ConnectionPool, Connector

    async def main() -> float:
        connector = ConnectionPool() if pooled else Connector()
        synth = AsyncSynthesizer(api_key=server.api_key, websocket_url=server.websocket_url,
                                 connector=connector)  # fmt: skip
        t0 = time.perf_counter()
        await synth.speak(make_text(chars), out, voice=VOICE, model=MODEL, concurrency=4)
        wall = time.perf_counter() - t0
        if isinstance(connector, ConnectionPool):
            await connector.aclose()
        return wall

    return asyncio.run(main())


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delays", default="0,25,75", help="one-way ms, comma-separated")
    parser.add_argument("--counts", default="5,50", help="requests in a row, comma-separated")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--rtf", type=float, default=0.2)
    parser.add_argument("--skip-sdk", action="store_true")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--long-chars", type=int, default=20_000)
    parser.add_argument("--long-delays", default="0,75")
    parser.add_argument("--long-rtf", type=float, default=0.02, help="rtf of the long text")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",")]
    counts = [int(c) for c in args.counts.split(",")]
    server = EmulatorProcess("--first-audio-latency", str(args.latency), "--rtf", str(args.rtf))
    summary: dict[str, Any] = {"latency": args.latency, "rtf": args.rtf, "rows": [], "long": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            sides: list[tuple[str, Callable[[int], list[float]]]] = [
                ("ours", lambda n: ours(server, n, 0, home)),
                ("ours warm=1", lambda n: ours(server, n, 1, home)),
            ]
            if not args.skip_sdk:
                sides += [
                    ("sdk", lambda n: sdk(server, n, False)),
                    ("sdk pool", lambda n: sdk(server, n, True)),
                ]
            if not args.skip_serve:
                sides += [
                    ("serve --warm 0", lambda n: serve(server, n, 0, home)),
                    ("serve --warm 1", lambda n: serve(server, n, 1, home)),
                ]
            ours(server, 1, 0, home)  # untimed: the emulator's first task loads its engine
            rows = []
            for delay in delays:
                server.configure(network_delay=delay / 1000)
                for count in counts:
                    for name, side in sides:
                        result = measured(server, lambda side=side, n=count: side(n))  # type: ignore[misc]
                        summary["rows"].append({"delay_ms": delay, "count": count, "side": name,
                                                **result})  # fmt: skip
                        ms = [f"{result[k] * 1000:.0f}" for k in ("first", "median", "p95")]
                        rows.append((f"{delay:g}", str(count), name, *ms,
                                     str(result["connections"])))  # fmt: skip
                        print(*rows[-1], flush=True, file=sys.stderr)
            print_table(
                f"first audio per request, ms (latency {args.latency:g} s, rtf {args.rtf:g})",
                rows, ("delay", "n", "side", "first", "median 2..n", "p95 2..n", "connections"),
            )  # fmt: skip
            if not args.skip_long:
                server.configure(rtf=args.long_rtf)
                long_rows = []
                for delay in [float(d) for d in args.long_delays.split(",")]:
                    server.configure(network_delay=delay / 1000)
                    for pooled in (False, True):
                        before = opened(server)
                        wall = long_text(server, args.long_chars, pooled, home / "long.wav")
                        conns = opened(server) - before
                        name = "pool" if pooled else "a connection per part"
                        summary["long"].append({"delay_ms": delay, "side": name, "wall": wall,
                                                "connections": conns})  # fmt: skip
                        long_rows.append((f"{delay:g}", name, f"{wall:.2f}", str(conns)))
                print_table(
                    f"\nlong text, {args.long_chars} characters, concurrency 4 "
                    f"(rtf {args.long_rtf:g})",
                    long_rows, ("delay", "connector", "wall s", "connections"),
                )  # fmt: skip
    finally:
        server.stop()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
