"""Three `serve` replicas with their own homes share the account's 3 submissions/s."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from state_helpers import RedisServer, max_in_window

from cosyvoice_clone.emulator.server import RunningEmulator

CLIENTS = 15
PER_CLIENT = 3


def start_replica(
    emulator: RunningEmulator, home: Path, state_url: str | None
) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, **emulator.env()}
    env.pop("COSYVOICE_CLONE_STATE_URL", None)
    shared = ["--state-url", state_url] if state_url else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "--home", str(home), *shared,
         "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("OPENAI_BASE_URL="), proc.communicate(timeout=10)
    base = line.removeprefix("OPENAI_BASE_URL=")
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/models").status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the replica never answered"
        time.sleep(0.05)


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=15)
    return err


def run_tasks(emulator: RunningEmulator) -> list[float]:
    return [
        entry["received_at"]
        for entry in emulator.backend.recorded("websocket").get("websocket", [])
        if entry["message"]["header"]["action"] == "run-task"
    ]


def speech(base: str, text: str) -> httpx.Response:
    body = {
        "model": "cosyvoice-v3-flash",
        "voice": "longanyang",
        "input": text,
        "response_format": "wav",
    }
    return httpx.post(f"{base}/audio/speech", json=body, timeout=120)


def test_three_replicas_share_three_submissions_per_second(
    cosyvoice_emulator: RunningEmulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    replicas = [
        start_replica(cosyvoice_emulator, tmp_path / f"h{i}", redis_server.url) for i in range(3)
    ]
    try:
        cosyvoice_emulator.set_rtf(0.05)
        cosyvoice_emulator.set_rate_limits(True)  # 3 task submissions/s per model
        statuses: list[tuple[int, int]] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            for k in range(PER_CLIENT):
                base = replicas[(n * PER_CLIENT + k) % 3][1]
                response = speech(base, f"Client {n} says line {k}.")
                with lock:
                    statuses.append((response.status_code, len(response.content)))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        wall = time.monotonic() - started
    finally:
        errors = [stop(proc) for proc, _ in replicas]
    total = CLIENTS * PER_CLIENT
    assert [code for code, _ in statuses] == [200] * total, errors
    assert all(size > 44 for _, size in statuses)
    times = run_tasks(cosyvoice_emulator)
    assert len(times) == total  # one submission per request: none was throttled and retried
    assert max_in_window(times, 1.0) <= 3
    ideal = total / 3.0
    print(
        f"{total} requests in {wall:.2f} s (ideal {ideal:.1f} s), max {max_in_window(times, 1.0)}/s"
    )
    assert wall <= 1.25 * ideal, f"{wall:.2f} s for {total} requests (ideal {ideal:.1f} s)"


def test_three_replicas_without_redis_go_past_the_bound(
    cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    """The control: each replica paces alone, so together they send up to 9 a second."""
    replicas = [start_replica(cosyvoice_emulator, tmp_path / f"h{i}", None) for i in range(3)]
    try:
        cosyvoice_emulator.set_rtf(0.05)
        cosyvoice_emulator.set_rate_limits(True)
        threads = [
            threading.Thread(target=speech, args=(replicas[n % 3][1], f"Client {n}."))
            for n in range(9)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for proc, _ in replicas:
            stop(proc)
    assert max_in_window(run_tasks(cosyvoice_emulator), 1.0) > 3
