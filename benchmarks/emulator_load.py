"""Load on one emulator: 500 enrollment requests and 100 concurrent synthesis sessions.

Starts `cosyvoice-clone emulator serve` in a subprocess (in-memory state, then a SQLite file)
and drives it over real sockets from this process:

    python benchmarks/emulator_load.py [--requests 500] [--concurrency 20] [--sessions 100]

Enrollment: a baseline of cheap `list_voice` calls, then a mix of create/query/list/update/
delete with real sample downloads and decoding; throughput of each and their ratio; then the
same mix against a SQLite state file (ratio file/memory). Consistency afterwards: the voices the
emulator lists (all pages) are exactly those created and not deleted, every one queryable, and
the admin state agrees. With rate limits on, a burst gets only 429 `Throttling.RateQuota`
beyond the 10 requests/s allowed, and nothing else.

Synthesis: one session alone (baseline), then `--sessions` concurrent WebSocket sessions
(run-task, continue-task, finish-task), each checked for task-finished and decodable audio;
reports sessions/s, audio seconds produced per wall second and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import EmulatorProcess, print_table

KEY = "sk-cosyvoice-emulator"
ENROLL = "/services/audio/tts/customization"
MODEL = "cosyvoice-v3.5-plus"


# -- the server under test ---------------------------------------------------------------------


Server = EmulatorProcess


# -- enrollment ----------------------------------------------------------------------------------


async def enroll(client: httpx.AsyncClient, server: Server, **fields: Any) -> httpx.Response:
    return await client.post(
        server.http_base + ENROLL,
        json={"model": "voice-enrollment", "input": fields, "parameters": {}},
        headers={"Authorization": f"Bearer {KEY}"},
    )


def mix(n: int, seed: int = 1) -> list[str]:
    """The operation mix: 40% create, 25% query, 20% list, 5% update, 10% delete."""
    ops = (
        ["create"] * int(n * 0.40)
        + ["query"] * int(n * 0.25)
        + ["list"] * int(n * 0.20)
        + ["update"] * int(n * 0.05)
    )
    ops += ["delete"] * (n - len(ops))
    rng = random.Random(seed)
    head = ["create"] * 20  # something to query, update and delete from the start
    rest = ops[20:]
    rng.shuffle(rest)
    return head + rest


async def run_mix(server: Server, ops: list[str], concurrency: int) -> dict[str, Any]:
    sample = server.admin + "/samples/reference_en.wav"
    created: list[str] = []
    deleted: set[str] = set()
    busy: set[str] = set()  # voices with a request in flight: no update/delete races
    statuses: Counter[str] = Counter()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for op in ops:
        queue.put_nowait(op)
    rng = random.Random(2)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            op = queue.get_nowait()
            live = [v for v in created if v not in deleted and v not in busy]
            if op in ("query", "update", "delete") and not live:
                op = "create"
            target = rng.choice(live) if live else ""
            busy.add(target)
            if op == "create":
                r = await enroll(
                    client,
                    server,
                    action="create_voice",
                    target_model=MODEL,
                    prefix=f"load{len(created) % 7}",
                    url=sample,
                )
                if r.status_code == 200:
                    created.append(r.json()["output"]["voice_id"])
            elif op == "query":
                r = await enroll(client, server, action="query_voice", voice_id=target)
            elif op == "list":
                r = await enroll(client, server, action="list_voice", page_size=50)
            elif op == "update":
                r = await enroll(client, server, action="update_voice", voice_id=target, url=sample)
            else:
                r = await enroll(client, server, action="delete_voice", voice_id=target)
                if r.status_code == 200:
                    deleted.add(target)
            busy.discard(target)
            code = "" if r.status_code == 200 else ":" + str(r.json().get("code"))
            statuses[f"{op}:{r.status_code}{code}"] += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        server.configure(faults={})  # the check itself must not meet injected faults
        consistent = await check_consistency(client, server, created, deleted)
    return {
        "elapsed": elapsed,
        "rps": len(ops) / elapsed,
        "statuses": dict(statuses),
        "errors": sum(c for k, c in statuses.items() if ":200" not in k),
        "created": len(created),
        "deleted": len(deleted),
        "consistent": consistent,
    }


async def check_consistency(
    client: httpx.AsyncClient, server: Server, created: list[str], deleted: set[str]
) -> str:
    """Compare what the emulator lists with what the client did; return "yes" or the problem."""
    expected = {v for v in created if v not in deleted}
    listed: list[str] = []
    page = 0
    while True:
        r = await enroll(client, server, action="list_voice", page_index=page, page_size=100)
        items = r.json()["output"]["voice_list"]
        listed += [v["voice_id"] for v in items]
        if len(items) < 100:
            break
        page += 1
    if len(listed) != len(set(listed)):
        return "duplicates in list_voice"
    if set(listed) != expected:
        return f"listed {len(listed)} voices, expected {len(expected)}"
    for voice_id in list(expected)[:50]:
        r = await enroll(client, server, action="query_voice", voice_id=voice_id)
        if r.status_code != 200 or r.json()["output"]["status"] != "OK":
            return f"query {voice_id} -> {r.status_code}"
    if server.state()["voices"] != len(expected):
        return "admin state disagrees"
    return "yes"


async def run_baseline(server: Server, n: int, concurrency: int) -> dict[str, Any]:
    """``n`` cheap ``list_voice`` calls: the cost of the HTTP path alone."""
    statuses: Counter[int] = Counter()
    remaining = [n]

    async def worker(client: httpx.AsyncClient) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            r = await enroll(client, server, action="list_voice")
            statuses[r.status_code] += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "rps": n / elapsed, "statuses": dict(statuses)}


async def run_burst_with_limits(server: Server, n: int, concurrency: int) -> dict[str, Any]:
    """With rate limits on: only 429 Throttling.RateQuota beyond 10/s, each with Retry-After."""
    server.configure(rate_limits=True)
    outcomes: Counter[str] = Counter()
    remaining = [n]

    async def worker(client: httpx.AsyncClient) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            r = await enroll(client, server, action="list_voice")
            if r.status_code == 429:
                ok = r.json().get("code") == "Throttling.RateQuota" and r.headers.get("retry-after")
                outcomes["429" if ok else "429-malformed"] += 1
            else:
                outcomes[str(r.status_code)] += 1

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    server.configure(rate_limits=False)
    allowed = 10 * (int(elapsed) + 1)
    return {
        "elapsed": elapsed,
        "outcomes": dict(outcomes),
        "allowed_max": allowed,
        "within_limits": outcomes["200"] <= allowed and set(outcomes) <= {"200", "429"},
    }


# -- synthesis -----------------------------------------------------------------------------------

TEXT = (
    "The quick brown fox jumps over the lazy dog. A second sentence keeps the engine busy "
    "for a little while longer."
)


async def synthesis_session(server: Server, voice_id: str) -> dict[str, Any]:
    """One run-task / continue-task / finish-task session; audio decoded with soundfile."""
    import soundfile as sf
    from websockets.asyncio.client import connect

    task_id = uuid.uuid4().hex
    header = {"task_id": task_id, "streaming": "duplex"}
    audio = bytearray()
    events: list[str] = []
    started = time.perf_counter()
    first_audio: float | None = None
    async with connect(
        server.websocket_url,
        additional_headers={"Authorization": f"Bearer {KEY}"},
        max_size=None,
        open_timeout=30,
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "header": {"action": "run-task", **header},
                    "payload": {
                        "model": MODEL,
                        "task_group": "audio",
                        "task": "tts",
                        "function": "SpeechSynthesizer",
                        "input": {},
                        "parameters": {
                            "voice": voice_id,
                            "format": "wav",
                            "sample_rate": 16000,
                            "text_type": "PlainText",
                        },
                    },
                }
            )
        )
        sent_text = False
        async for message in ws:
            if isinstance(message, bytes):
                if first_audio is None:
                    first_audio = time.perf_counter() - started
                audio += message
                continue
            event = json.loads(message)["header"]["event"]
            events.append(event)
            if event == "task-started" and not sent_text:
                sent_text = True
                await ws.send(
                    json.dumps(
                        {
                            "header": {"action": "continue-task", **header},
                            "payload": {"input": {"text": TEXT}},
                        }
                    )
                )
                await ws.send(
                    json.dumps(
                        {"header": {"action": "finish-task", **header}, "payload": {"input": {}}}
                    )
                )
            if event in ("task-finished", "task-failed"):
                break
    elapsed = time.perf_counter() - started
    seconds = 0.0
    if audio:
        try:
            data, rate = sf.read(io.BytesIO(bytes(audio)), dtype="int16")
            seconds = len(data) / rate
        except Exception:  # a streamed WAV header may carry placeholder sizes
            seconds = max(0, len(audio) - 44) / (2 * 16000)
    return {
        "ok": events[-1:] == ["task-finished"] and seconds > 0,
        "elapsed": elapsed,
        "first_audio": first_audio,
        "audio_s": seconds,
        "last_event": events[-1:],
    }


async def run_synthesis(server: Server, sessions: int) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as client:
        r = await enroll(
            client,
            server,
            action="create_voice",
            target_model=MODEL,
            prefix="synth",
            url=server.admin + "/samples/reference_en.wav",
        )
        voice_id = r.json()["output"]["voice_id"]
    solo = await synthesis_session(server, voice_id)
    started = time.perf_counter()
    results = await asyncio.gather(
        *(synthesis_session(server, voice_id) for _ in range(sessions)), return_exceptions=True
    )
    wall = time.perf_counter() - started
    good = [r for r in results if isinstance(r, dict) and r["ok"]]
    failures = [
        repr(r)[:120] if not isinstance(r, dict) else str(r["last_event"])
        for r in results
        if not (isinstance(r, dict) and r["ok"])
    ]
    audio = sum(r["audio_s"] for r in good)
    firsts = sorted(r["first_audio"] for r in good if r["first_audio"] is not None)
    return {
        "solo_elapsed": solo["elapsed"],
        "solo_audio_per_s": solo["audio_s"] / solo["elapsed"],
        "wall": wall,
        "ok": len(good),
        "failed": len(results) - len(good),
        "failures": failures[:3],
        "sessions_per_s": len(good) / wall,
        "audio_per_s": audio / wall,
        "first_audio_p50": firsts[len(firsts) // 2] if firsts else None,
        "first_audio_p95": firsts[int(len(firsts) * 0.95) - 1] if firsts else None,
    }


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each mixed workload on a fresh server (median kept)",
    )
    parser.add_argument("--skip-synthesis", action="store_true")
    parser.add_argument(
        "--faults",
        default="http503=0.1",
        help="faults for an extra mixed run (default http503=0.1; '' to skip)",
    )
    args = parser.parse_args()
    ops = mix(args.requests)

    def median_mix(*server_args: str, state: bool = False) -> dict[str, Any]:
        runs = []
        for _ in range(max(1, args.repeat)):
            extra = ["--state", str(Path(tempfile.mkdtemp()) / "load.sqlite3")] if state else []
            server = Server(*server_args, *extra)
            try:
                runs.append(asyncio.run(run_mix(server, ops, args.concurrency)))
            finally:
                server.stop()
        runs.sort(key=lambda r: r["rps"])
        result = runs[len(runs) // 2]
        result["consistent"] = (
            "yes"
            if all(r["consistent"] == "yes" for r in runs)
            else next(r["consistent"] for r in runs if r["consistent"] != "yes")
        )
        return result

    rows = []
    memory = Server("--no-rate-limits")
    try:
        base = asyncio.run(run_baseline(memory, args.requests, args.concurrency))
        burst = asyncio.run(run_burst_with_limits(memory, 200, args.concurrency))
        synth = None if args.skip_synthesis else asyncio.run(run_synthesis(memory, args.sessions))
    finally:
        memory.stop()
    mem = median_mix("--no-rate-limits")
    disk = median_mix("--no-rate-limits", state=True)
    faulty = None
    if args.faults:
        faulty = median_mix("--no-rate-limits", "--faults", args.faults, "--seed", "3")

    rows.append(
        (
            "list_voice only (baseline)",
            "memory",
            f"{base['rps']:.0f}",
            "1.00",
            str(sum(c for s, c in base["statuses"].items() if s != 200)),
            "-",
        )
    )
    rows.append(
        (
            "mixed create/query/list/update/delete",
            "memory",
            f"{mem['rps']:.0f}",
            f"{mem['rps'] / base['rps']:.2f}",
            str(mem["errors"]),
            mem["consistent"],
        )
    )
    rows.append(
        (
            "mixed create/query/list/update/delete",
            "sqlite file",
            f"{disk['rps']:.0f}",
            f"{disk['rps'] / base['rps']:.2f}",
            str(disk["errors"]),
            disk["consistent"],
        )
    )
    if faulty is not None:
        rows.append(
            (
                f"mixed, faults {args.faults}",
                "memory",
                f"{faulty['rps']:.0f}",
                f"{faulty['rps'] / base['rps']:.2f}",
                str(faulty["errors"]),
                faulty["consistent"],
            )
        )
    print_table(
        f"Enrollment: {args.requests} requests, {args.concurrency} concurrent clients "
        f"(mixed runs: median of {max(1, args.repeat)})",
        rows,
        ("workload", "state", "req/s", "vs baseline", "errors", "consistent"),
    )
    print(
        f"  mix outcomes (memory): {mem['statuses']}; created {mem['created']}, "
        f"deleted {mem['deleted']}"
    )
    print(f"  sqlite file / memory throughput: {disk['rps'] / mem['rps']:.2f}")
    if faulty is not None:
        failed = {k: v for k, v in faulty["statuses"].items() if ":200" not in k}
        print(f"  errors under faults (all injected, state still consistent): {failed}")
    verdict = (
        "only 429 Throttling.RateQuota beyond the limit" if burst["within_limits"] else "VIOLATION"
    )
    print(
        f"Rate limits on, burst of 200 list_voice in {burst['elapsed']:.2f} s: "
        f"{burst['outcomes']} (at most {burst['allowed_max']} may pass) -> {verdict}"
    )
    if synth is not None:
        print(
            f"Synthesis: {args.sessions} concurrent sessions in {synth['wall']:.2f} s: "
            f"{synth['ok']} ok, {synth['failed']} failed {synth['failures'] or ''}"
        )
        print(
            f"  {synth['sessions_per_s']:.1f} sessions/s, {synth['audio_per_s']:.1f} s of audio "
            f"per wall second (one session alone: {synth['solo_audio_per_s']:.1f}; ratio "
            f"{synth['audio_per_s'] / synth['solo_audio_per_s']:.2f})"
        )
        if synth["first_audio_p50"] is not None:
            print(
                f"  first audio p50 {synth['first_audio_p50'] * 1000:.0f} ms, "
                f"p95 {synth['first_audio_p95'] * 1000:.0f} ms"
            )


if __name__ == "__main__":
    main()
