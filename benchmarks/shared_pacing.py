"""What sharing one account across processes and replicas costs: pacing slots, clones.

1. One pacing acquire (``SharedBudget.reserve`` / ``take``) through the home's flock'd file,
   against the same budget kept in memory (the baseline: no cross-process sharing), alone and
   with 4 processes hammering the same file; then the same budget shared through Redis
   (``--state-url``: one Lua call per acquire, on a redis-server started here on a free port).
2. 8 ``cosyvoice-clone clone`` processes cloning the same sample into one home (one create, 7
   reuses), against a single such process (the baseline), on an emulator process; and 6 clone
   processes with 6 homes (as on 6 machines), with files only and with Redis.
3. Speech throughput against the account's bound (3 task submissions/s per model, the
   emulator's limits on): 1 ``serve`` replica, 3 replicas with files only, 3 with Redis::

    python benchmarks/shared_pacing.py [--calls 20000] [--requests 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import EmulatorProcess, print_table
from cosyvoice_clone.pacing import SharedBudget, bucket_path
from cosyvoice_clone.state import open_state

REDIS_SERVER = "/usr/bin/redis-server"

SAMPLE = Path(__file__).resolve().parents[1] / "src/cosyvoice_clone/data/reference_en.wav"


def per_call_us(budget: SharedBudget, method: str, calls: int) -> float:
    act = getattr(budget, method)
    for _ in range(200):
        act()
    started = time.perf_counter()
    for _ in range(calls):
        act()
    return (time.perf_counter() - started) / calls * 1e6


def frozen(path: Path | None) -> SharedBudget:
    """A 3-per-window budget on a clock that never moves (every call does the full work)."""
    return SharedBudget(3, 1.1, path=path, clock=lambda: 1000.0)


def _hammer(path: str, calls: int, queue: multiprocessing.Queue[float]) -> None:
    queue.put(per_call_us(frozen(Path(path)), "reserve", calls))


def contended_us(path: Path, calls: int, workers: int = 4) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[float] = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(str(path), calls, queue)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    return max(results)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server of our own on a free loopback port (no persistence)."""
    port = free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 5
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("redis-server did not start (`make test` installs it)")
        time.sleep(0.02)


def redis_budget(url: str, home: Path, name: str) -> SharedBudget:
    """A 3-per-1.1 s budget of ``home`` shared through Redis (the real clock: the script uses
    Redis's)."""
    open_state(url, home=home, account="sk-bench")
    return SharedBudget(3, 1.1, path=bucket_path(home, name))


def _hammer_redis(url: str, home: str, calls: int, queue: multiprocessing.Queue[float]) -> None:
    queue.put(per_call_us(redis_budget(url, Path(home), "bench:contended"), "reserve", calls))


def contended_redis_us(url: str, workdir: Path, calls: int, workers: int = 4) -> float:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[float] = ctx.Queue()
    procs = [
        ctx.Process(target=_hammer_redis, args=(url, str(workdir / f"w{i}"), calls, queue))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    return max(results)


def emulator_env(emulator: EmulatorProcess, state_url: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DASHSCOPE_API_KEY": emulator.api_key,
        "DASHSCOPE_HTTP_BASE_URL": emulator.http_base,
        "DASHSCOPE_WEBSOCKET_BASE_URL": emulator.websocket_url,
        "DASHSCOPE_REGION": "cn-beijing",
    }
    env.pop("COSYVOICE_CLONE_STATE_URL", None)
    if state_url:
        env["COSYVOICE_CLONE_STATE_URL"] = state_url
    return env


def clone_wall(
    emulator: EmulatorProcess,
    processes: int,
    workdir: Path,
    *,
    homes: int = 1,
    state_url: str | None = None,
) -> tuple[float, int]:
    """Wall time of ``processes`` identical clones into ``homes`` fresh homes; creates seen."""
    emulator.reset()
    run = workdir / f"clones-{processes}-{homes}-{'redis' if state_url else 'files'}"
    shutil.rmtree(run, ignore_errors=True)
    env = emulator_env(emulator, state_url)
    commands = [
        [sys.executable, "-m", "cosyvoice_clone", "--json", "--home", str(run / f"h{i % homes}"),
         "clone", "--prefix", "bench", "--sample", str(SAMPLE), "--skip-check", "--no-wait"]
        for i in range(processes)
    ]  # fmt: skip
    started = time.perf_counter()
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for c in commands]  # fmt: skip
    for proc in procs:
        proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a clone failed with exit {proc.returncode}")
    wall = time.perf_counter() - started
    creates = int(emulator.state()["counters"].get("enrollment:create_voice", 0))
    return wall, creates


def start_serve(env: dict[str, str], home: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "--home", str(home), "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    base = proc.stdout.readline().strip().removeprefix("OPENAI_BASE_URL=")
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/models").status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("a serve replica did not start")
        time.sleep(0.05)


def throughput(
    emulator: EmulatorProcess,
    workdir: Path,
    replicas: int,
    requests: int,
    state_url: str | None,
) -> tuple[float, int, int, int]:
    """``requests`` speech requests from 10 clients round-robin over ``replicas`` serve
    processes (one home each): wall seconds, non-200 answers, the most run-tasks the emulator
    got in any 1 s, and the run-tasks beyond one per request (throttled, then retried)."""
    import httpx

    emulator.reset()
    emulator.configure(rate_limits=True, rtf=0.05)
    run = workdir / f"serve-{replicas}-{'redis' if state_url else 'files'}"
    env = emulator_env(emulator, state_url)
    servers = [start_serve(env, run / f"h{i}") for i in range(replicas)]
    failures: list[int] = []
    lock = threading.Lock()
    body = {"model": "cosyvoice-v3-flash", "voice": "longanyang", "response_format": "wav"}
    clients = 10

    def client(n: int) -> None:
        for k in range(n, requests, clients):
            base = servers[k % replicas][1]
            answer = httpx.post(
                f"{base}/audio/speech", json={**body, "input": f"Line {k}."}, timeout=300
            )
            if answer.status_code != 200:
                with lock:
                    failures.append(answer.status_code)

    try:
        started = time.time()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.time() - started
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=15)
    entries = httpx.get(f"{emulator.admin}/requests", params={"endpoint": "websocket"}).json()
    times = [
        e["received_at"]
        for e in entries.get("websocket", [])
        if e["message"]["header"]["action"] == "run-task" and e["received_at"] >= started
    ]
    return wall, len(failures), max_in_window(times, 1.0), len(times) - requests


def max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(
        (sum(1 for t in ordered[i:] if t < s + window) for i, s in enumerate(ordered)), default=0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    redis_proc, redis_url = start_redis()

    workdir = Path(tempfile.mkdtemp(prefix="shared-pacing-"))
    try:
        memory = per_call_us(frozen(None), "reserve", args.calls)
        shared = per_call_us(frozen(workdir / "a.bucket"), "reserve", args.calls)
        take = per_call_us(frozen(workdir / "b.bucket"), "take", args.calls)
        busy = contended_us(workdir / "c.bucket", args.calls // 4)
        calls = max(200, args.calls // 10)
        r_reserve = per_call_us(
            redis_budget(redis_url, workdir / "r1", "bench:r"), "reserve", calls
        )
        r_take = per_call_us(redis_budget(redis_url, workdir / "r2", "bench:t"), "take", calls)
        r_busy = contended_redis_us(redis_url, workdir, calls // 4)
        print_table(
            "pacing acquire (µs per call)",
            [
                ("in memory (baseline)", f"{memory:.1f}", "1.0x"),
                ("shared file, reserve", f"{shared:.1f}", f"{shared / memory:.1f}x"),
                ("shared file, take", f"{take:.1f}", f"{take / memory:.1f}x"),
                ("shared file, 4 processes at once", f"{busy:.1f}", f"{busy / memory:.1f}x"),
                ("redis, reserve", f"{r_reserve:.1f}", f"{r_reserve / memory:.1f}x"),
                ("redis, take", f"{r_take:.1f}", f"{r_take / memory:.1f}x"),
                ("redis, 4 processes at once", f"{r_busy:.1f}", f"{r_busy / memory:.1f}x"),
            ],
            ("budget", "µs", "vs memory"),
        )
        emulator = EmulatorProcess()
        try:
            one, one_creates = clone_wall(emulator, 1, workdir)
            eight, eight_creates = clone_wall(emulator, 8, workdir)
            six_files, six_files_creates = clone_wall(emulator, 6, workdir, homes=6)
            six_redis, six_redis_creates = clone_wall(
                emulator, 6, workdir, homes=6, state_url=redis_url
            )
            speech = [
                ("1 replica", throughput(emulator, workdir, 1, args.requests, None)),
                ("3 replicas, files only", throughput(emulator, workdir, 3, args.requests, None)),
                ("3 replicas, redis", throughput(emulator, workdir, 3, args.requests, redis_url)),
            ]
        finally:
            emulator.stop()
        print()
        print_table(
            "identical clones into one home (wall time)",
            [
                ("1 process (baseline)", f"{one:.2f}", str(one_creates), "1.0x"),
                ("8 processes", f"{eight:.2f}", str(eight_creates), f"{eight / one:.1f}x"),
                (
                    "6 processes, 6 homes, files",
                    f"{six_files:.2f}",
                    str(six_files_creates),
                    f"{six_files / one:.1f}x",
                ),
                (
                    "6 processes, 6 homes, redis",
                    f"{six_redis:.2f}",
                    str(six_redis_creates),
                    f"{six_redis / one:.1f}x",
                ),
            ],
            ("run", "seconds", "create_voice", "vs 1"),
        )
        print()
        print_table(
            f"{args.requests} speech requests, 10 clients, emulator limits on (3 run-tasks/s)",
            [
                (
                    name,
                    f"{wall:.2f}",
                    f"{args.requests / wall:.2f}",
                    str(most),
                    str(extra),
                    str(failed),
                )
                for name, (wall, failed, most, extra) in speech
            ],
            ("replicas", "seconds", "requests/s", "max in 1 s", "throttled+retried", "non-200"),
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        redis_proc.terminate()
        redis_proc.wait(timeout=10)


if __name__ == "__main__":
    main()
