"""Helpers for the shared-state tests: a real redis-server on a free loopback port, and
``cosyvoice-clone`` processes with one home each (as on several machines)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

from cosyvoice_clone.emulator.server import RunningEmulator

REDIS_SERVER = Path("/usr/bin/redis-server")
SAMPLE = Path(__file__).resolve().parents[2] / "src/cosyvoice_clone/data/reference_en.wav"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of our own (no persistence, or AOF in ``data_dir``)."""

    def __init__(self, port: int, data_dir: Path | None = None) -> None:
        self.port = port
        self.data_dir = data_dir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--daemonize", "no", "--save", ""]
        if self.data_dir is not None:
            command += ["--appendonly", "yes", "--appendfsync", "always"]
            command += ["--dir", str(self.data_dir)]
        else:
            command += ["--appendonly", "no"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, decode_responses=True)


class Homes:
    """``cosyvoice-clone --json --home H ARGS`` processes, one home per replica."""

    def __init__(self, emulator: RunningEmulator, root: Path, state_url: str | None) -> None:
        self.root = root
        self.env = {**os.environ, **emulator.env()}
        self.env.pop("COSYVOICE_CLONE_STATE_URL", None)
        if state_url is not None:
            self.env["COSYVOICE_CLONE_STATE_URL"] = state_url

    def home(self, name: str) -> Path:
        return self.root / name

    def start(self, home: str, *args: str) -> subprocess.Popen[str]:
        command = [
            sys.executable,
            "-m",
            "cosyvoice_clone",
            "--json",
            "--home",
            str(self.home(home)),
        ]
        return subprocess.Popen(
            [*command, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @staticmethod
    def finish(proc: subprocess.Popen[str]) -> tuple[int, Any, str]:
        out, err = proc.communicate(timeout=120)
        return proc.returncode, json.loads(out) if out.strip() else None, err

    def run(self, home: str, *args: str) -> tuple[int, Any, str]:
        return self.finish(self.start(home, *args))


def creates(emulator: RunningEmulator) -> int:
    entries = emulator.backend.recorded("enrollment").get("enrollment", [])
    return sum(1 for e in entries if e["body"]["input"]["action"] == "create_voice")


def max_in_window(times: list[float], window: float) -> int:
    """The most events that fall in any half-open ``window``."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + window))
    return best
