"""`speak --stream`, `--out -` and `--play` as processes: pipes in, pipes out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cosyvoice_clone.emulator.server import RunningEmulator

pytestmark = pytest.mark.timeout(90)

TEXT = "The first sentence is here. A second one follows it. 第三句在这里。 And the last one."


def speak(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "speak", *args],
        stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip


class WavReader(threading.Thread):
    """Reads a WAV stream from a pipe and decodes it as it arrives (header, then samples)."""

    def __init__(self, pipe: object) -> None:
        super().__init__(daemon=True)
        self.pipe = pipe
        self.header = b""
        self.samples = 0
        self.first = threading.Event()
        self.rate = 0

    def run(self) -> None:
        buffer = b""
        while True:
            data = os.read(self.pipe.fileno(), 4096)  # type: ignore[attr-defined]
            if not data:
                return
            buffer += data
            if not self.header and len(buffer) >= 44:
                self.header, buffer = buffer[:44], buffer[44:]
                assert self.header[:4] == b"RIFF" and self.header[8:12] == b"WAVE"
                self.rate = int.from_bytes(self.header[24:28], "little")
            if self.header:
                usable = len(buffer) - len(buffer) % 2
                self.samples += np.frombuffer(buffer[:usable], "<i2").size
                buffer = buffer[usable:]
                if self.samples:
                    self.first.set()


def finish(proc: subprocess.Popen[bytes], reader: WavReader) -> bytes:
    """Wait for the process (its stdout belongs to ``reader``); return its stderr."""
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.wait(60)
    reader.join(10)
    return err


def test_out_dash_streams_wav_that_a_reader_decodes_as_it_goes(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    cosyvoice_emulator_env.set_rtf(0.2)  # audio arrives over time
    proc = speak("--voice", voice, "--text", TEXT, "--out", "-", "--sample-rate", "16000")
    reader = WavReader(proc.stdout)
    reader.start()
    assert reader.first.wait(30)
    running_when_first_audio = proc.poll() is None
    err = finish(proc, reader)
    assert proc.returncode == 0, err.decode()
    assert running_when_first_audio  # decoded while the synthesis was still going
    assert reader.rate == 16000 and reader.samples / 16000 > 3.0
    assert b"spoke" in err  # the summary went to stderr, stdout carried only the audio


def test_stream_reads_stdin_as_it_arrives_and_speaks_before_it_ends(
    voice: str, tmp_path: Path
) -> None:
    proc = speak("--voice", voice, "--stream", "--out", "-", stdin=subprocess.PIPE)
    assert proc.stdin is not None
    reader = WavReader(proc.stdout)
    reader.start()
    words = TEXT.split(" ")
    order: list[str] = []
    for word in words[:-1]:  # everything but the last word, over about two seconds
        proc.stdin.write((word + " ").encode())
        proc.stdin.flush()
        time.sleep(2.0 / len(words))
    # The input is not complete: audio must come anyway (the wait ends as soon as it does).
    order.append("audio" if reader.first.wait(30) else "no audio")
    proc.stdin.write(words[-1].encode())
    proc.stdin.close()
    order.append("input complete")
    err = finish(proc, reader)
    assert proc.returncode == 0, err.decode()
    assert order == ["audio", "input complete"]
    assert reader.samples > 0


def test_stream_into_a_file_and_interrupt_leaves_no_half_file(
    voice: str, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    cosyvoice_emulator_env.set_rtf(1.0)
    out = tmp_path / "out" / "reply.mp3"
    proc = speak("--voice", voice, "--stream", "--mkdir", "--out", str(out), stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write((TEXT + " ").encode())
    proc.stdin.flush()  # stdin stays open: the session is live
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until audio is being written
        partials = [p for p in out.parent.glob(".reply.mp3.*.partial") if p.stat().st_size > 0]
        if partials:
            break
        time.sleep(0.05)
    else:
        pytest.fail("no audio was written")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err and b"nothing was written" in err
    assert list(out.parent.iterdir()) == []  # neither the file nor a temporary one


def test_stream_into_a_file_writes_it_once_complete(voice: str, tmp_path: Path) -> None:
    import soundfile as sf

    out = tmp_path / "reply.opus"
    proc = speak("--voice", voice, "--stream", "--out", str(out), stdin=subprocess.PIPE)
    out_text, err = proc.communicate(TEXT.encode(), timeout=60)
    assert proc.returncode == 0, err.decode()
    info = sf.info(str(out))
    assert info.samplerate == 24000 and info.duration > 3.0
    assert b"spoke" in out_text


def test_json_is_refused_with_out_dash_and_nothing_is_sent(
    voice: str, cosyvoice_emulator_env: RunningEmulator
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cosyvoice_clone", "--json", "speak", "--voice", voice,
         "--text", "Hi.", "--out", "-"],
        capture_output=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert b"--json cannot be used with --out -" in proc.stderr
    assert cosyvoice_emulator_env.backend.recorded("websocket").get("websocket", []) == []


def test_play_fails_with_one_clear_line_without_the_extra_or_a_device(voice: str) -> None:
    try:
        import sounddevice

        sounddevice.query_devices(kind="output")
    except Exception:
        pass
    else:  # pragma: no cover - a machine with speakers
        pytest.skip("an audio output device exists here")
    proc = subprocess.run(
        [sys.executable, "-m", "cosyvoice_clone", "speak", "--voice", voice, "--text", "Hi.",
         "--play"],
        capture_output=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    err = proc.stderr.decode()
    assert proc.returncode != 0 and b"Traceback" not in proc.stderr
    assert len(err.strip().splitlines()) == 1
    assert "sounddevice" in err or "PortAudio" in err or "audio output device" in err
    assert proc.stdout == b""


def test_stream_keeps_the_output_rules_registered_sample_and_missing_folder(
    cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    """The live path refuses what `speak` refuses: a registered voice's sample as --out, and a
    missing folder without --mkdir (then it creates it)."""
    import shutil
    from importlib import resources

    sample = tmp_path / "me.wav"
    shutil.copy(str(resources.files("cosyvoice_clone") / "data" / "reference_en.wav"), sample)
    original = sample.read_bytes()
    cloned = subprocess.run(
        [sys.executable, "-m", "cosyvoice_clone", "clone", "--prefix", "liveme",
         "--sample", str(sample), "--wait"],
        capture_output=True, env=dict(os.environ), timeout=60,
    )  # fmt: skip
    assert cloned.returncode == 0, cloned.stderr.decode()

    refused = speak("--voice", "liveme", "--stream", "--out", str(sample), stdin=subprocess.PIPE)
    _, err = refused.communicate(TEXT.encode(), timeout=60)
    assert refused.returncode == 2 and b"reference sample of voice" in err, err.decode()
    assert sample.read_bytes() == original

    nested = tmp_path / "no" / "such" / "reply.wav"
    missing = speak("--voice", "liveme", "--stream", "--out", str(nested), stdin=subprocess.PIPE)
    _, err = missing.communicate(TEXT.encode(), timeout=60)
    assert missing.returncode == 2 and b"mkdir -p" in err and not (tmp_path / "no").exists()
    made = speak(
        "--voice", "liveme", "--stream", "--mkdir", "--out", str(nested), stdin=subprocess.PIPE
    )
    _, err = made.communicate(TEXT.encode(), timeout=60)
    assert made.returncode == 0, err.decode()
    assert nested.stat().st_size > 44


@pytest.mark.parametrize(("name", "fmt"), [("reply.mp3", "mp3"), ("reply.ogg", "opus")])
def test_stream_into_a_file_reports_the_format_written(
    voice: str, tmp_path: Path, name: str, fmt: str
) -> None:
    import json

    import soundfile as sf

    out = tmp_path / name
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "--json", "speak", "--voice", voice,
         "--stream", "--out", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    out_text, err = proc.communicate(TEXT.encode(), timeout=60)
    assert proc.returncode == 0, err.decode()
    data = json.loads(out_text)
    assert (data["format"], data["out"], data["path"]) == (fmt, str(out), str(out))
    info = sf.info(str(out))
    assert data["sample_rate"] == info.samplerate and info.duration > 3.0
