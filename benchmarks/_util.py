"""Small shared helpers for the benchmark scripts (timing and table printing)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any


def median_wall(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time in seconds of running ``cmd`` ``runs`` times (after one warm-up)."""
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def print_table(title: str, rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> None:
    """Print a plain aligned table."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    print(title)
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


class EmulatorProcess:
    """`cosyvoice-clone emulator serve` in a subprocess, addressed by the URLs it prints."""

    api_key = "sk-cosyvoice-emulator"

    def __init__(self, *extra: str) -> None:
        code = "from cosyvoice_clone.cli.main import run; run()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "--json", "emulator", "serve", "--port", "0",
             "--deploy-delay", "0", "--log-level", "critical", *extra],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        assert self.proc.stdout is not None
        lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("the emulator did not start")
            lines.append(line)
            if line == "}\n":
                break
        info = json.loads("".join(lines))
        self.http_base: str = info["http_base"]
        self.websocket_url: str = info["websocket_url"]
        self.admin: str = info["admin_url"]

    @property
    def sample_url(self) -> str:
        """An http URL of the packaged reference sample, served by the emulator."""
        return f"{self.admin}/samples/reference_en.wav"

    def configure(self, **settings: Any) -> None:
        """Change knobs at run time (the admin API)."""
        import httpx

        httpx.post(f"{self.admin}/config", json=settings).raise_for_status()

    def reset(self) -> None:
        """Forget every voice and upload."""
        import httpx

        httpx.post(f"{self.admin}/reset").raise_for_status()

    def state(self) -> dict[str, Any]:
        """The admin state (voice counts, counters)."""
        import httpx

        return dict(httpx.get(f"{self.admin}/state").json())

    def stop(self) -> None:
        """Terminate the server."""
        self.proc.terminate()
        self.proc.wait(timeout=15)
