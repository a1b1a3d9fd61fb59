"""`cosyvoice-clone wyoming`: the real command on the embedded emulator (describe, speak, stop on
SIGTERM), and its refusals of bad options (one line, exit 2, nothing started)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import CliResult
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_line(path: Path, text: str, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}): {content}")
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in {path.read_text()}")


async def test_the_command_serves_home_assistant_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    errlog = tmp_path / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE")}
    with errlog.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "cosyvoice_clone", "--emulator", "--home", str(tmp_path / "h"),
             "wyoming", "--uri", f"tcp://127.0.0.1:{port}", "--system-voices",
             "--sample-rate", "16000", "--voice", "longanyang"],
            stdout=subprocess.DEVNULL, stderr=err, env=env,
        )  # fmt: skip
    try:
        banner = wait_for_line(errlog, "Wyoming server on", process)
        assert f"tcp://127.0.0.1:{port}" in banner and "16000 Hz" in banner
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Describe().event())
            info = Info.from_event(await asyncio.wait_for(client.read_event(), 10))  # type: ignore[arg-type]
            assert "longanyang" in [v.name for v in info.tts[0].voices]
            await client.write_event(Synthesize("Hello there.").event())  # --voice speaks it
            audio = b""
            while True:
                event = await asyncio.wait_for(client.read_event(), 10)
                assert event is not None and event.type != "error", event
                if event.type == "audio-chunk":
                    assert event.data["rate"] == 16000
                    audio += event.payload or b""
                if event.type == "audio-stop":
                    break
        samples = np.frombuffer(audio, dtype="<i2")
        assert 0.3 < samples.size / 16000 < 3.0 and np.abs(samples).max() > 1000
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "stopped" in errlog.read_text()
    assert "Traceback" not in errlog.read_text()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--uri", "http://127.0.0.1:10200"], "invalid --uri"),
        (["--uri", "tcp://127.0.0.1"], "invalid --uri"),
        (["--sample-rate", "12345"], "sample rate 12345"),
        (["--model", "cosyvoice-v9"], "unknown model"),
        (["--zeroconf", "kitchen"], "--zeroconf"),
    ],
)
def test_bad_options_are_refused_with_one_line(cli, args: list[str], words: str) -> None:  # type: ignore[no-untyped-def]
    result: CliResult = cli("--emulator", "wyoming", *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_zeroconf_without_its_package_is_refused_before_listening(cli) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    if importlib.util.find_spec("zeroconf") is not None:
        pytest.skip("zeroconf is installed: announcing would send mDNS on the network")
    result: CliResult = cli("--emulator", "wyoming", "--uri", "tcp://0.0.0.0:10200",
                            "--zeroconf", "kitchen")  # fmt: skip
    assert result.exit_code == 2
    assert "needs the 'zeroconf' package" in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_is_one_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result: CliResult = cli("--emulator", "--home", str(tmp_path / "h"), "wyoming", "--uri",
                                f"tcp://127.0.0.1:{port}")  # fmt: skip
    assert result.exit_code == 2
    assert "cannot listen on" in result.stderr and "Traceback" not in result.stderr


def test_without_the_wyoming_package_the_command_says_how_to_install_it(
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "wyoming.server", None)  # as if it were not installed
    result: CliResult = cli("--emulator", "wyoming")
    assert result.exit_code == 2
    assert "needs the optional 'wyoming' package" in result.stderr
    assert "[wyoming]" in result.stderr and "Traceback" not in result.stderr
