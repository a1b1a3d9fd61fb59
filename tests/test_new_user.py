"""Regression tests of issue 17 ("what a new user tripped over"), through the CLI as a user
runs it, against the embedded emulator (``--emulator``)."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(str(files("cosyvoice_clone") / "data" / "reference_en.wav"))
Cli = Callable[..., Any]


@pytest.fixture(autouse=True)
def fast_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--emulator`` voices deploy quickly."""
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "0.2")


def _clone(cli: Cli, sample: Path, prefix: str = "mine") -> str:
    result = cli("--emulator", "--json", "clone", "--prefix", prefix, "--sample", str(sample))
    assert result.exit_code == 0, result.stderr
    return str(result.json()["voice_id"])  # type: ignore[index]


def _service_voices(cli: Cli) -> list[str]:
    result = cli("--emulator", "--json", "voices", "list")
    assert result.exit_code == 0, result.stderr
    return [v["voice_id"] for v in result.json()["voices"]]  # type: ignore[index]


def test_a_registered_sample_is_never_overwritten_and_replacing_is_said(
    cli: Cli, tmp_path: Path
) -> None:
    sample = tmp_path / "voice.wav"
    shutil.copy(REFERENCE, sample)
    voice = _clone(cli, sample)
    original = sample.read_bytes()
    copy = tmp_path / "copy-of-voice.wav"  # same content, another path
    shutil.copy(sample, copy)
    for target in (sample, copy):
        result = cli("--emulator", "speak", "--voice", voice, "--text", "Hi.", "--out", str(target))
        assert result.exit_code == 2, result.stderr
        assert "reference sample of voice" in result.stderr and voice in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert target.read_bytes() == original
    refused = cli("--emulator", "speak", "--voice", voice, "--text", "Hi.",
                  "--out", str(tmp_path / "ok.wav"), "--timestamps", str(sample))  # fmt: skip
    assert refused.exit_code == 2 and "reference sample" in refused.stderr
    assert not (tmp_path / "ok.wav").exists() and sample.read_bytes() == original

    out = tmp_path / "hello.wav"
    first = cli("--emulator", "speak", "--voice", voice, "--text", "Hi.", "--out", str(out))
    assert first.exit_code == 0 and first.stdout.startswith("wrote "), first.stderr
    again = cli("--emulator", "speak", "--voice", voice, "--text", "Hi.", "--out", str(out))
    assert again.exit_code == 0 and again.stdout.startswith(f"replaced {out}"), again.stderr
    data = cli(
        "--emulator", "--json", "speak", "--voice", voice, "--text", "Hi.", "--out", str(out)
    )
    assert data.json()["replaced"] is True  # type: ignore[index]


def test_missing_folders_are_refused_unless_mkdir(cli: Cli, tmp_path: Path) -> None:
    voice = _clone(cli, REFERENCE)
    missing = tmp_path / "no" / "such"
    for extra in (
        ["--out", str(missing / "a.wav")],
        ["--out", str(tmp_path / "a.wav"), "--timestamps", str(missing / "a.srt")],
    ):
        result = cli("--emulator", "speak", "--voice", voice, "--text", "Hi.", *extra)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and f"mkdir -p {missing}" in result.stderr
        assert "--mkdir" in result.stderr
        assert not (tmp_path / "no").exists() and not (tmp_path / "a.wav").exists()
    made = cli(
        "--emulator",
        "speak",
        "--voice",
        voice,
        "--text",
        "Hi.",
        "--mkdir",
        "--out",
        str(missing / "a.wav"),
        "--timestamps",
        str(missing / "a.srt"),
    )
    assert made.exit_code == 0, made.stderr
    assert (missing / "a.wav").stat().st_size > 44 and (missing / "a.srt").is_file()

    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,voice,text,out\nx,{voice},Hi.,clips/x.wav\n", encoding="utf-8")
    refused = cli("--emulator", "batch", str(manifest))
    assert refused.exit_code == 1 and "mkdir -p" in refused.stderr and "m.csv:2" in refused.stderr
    assert not (tmp_path / "clips").exists()
    done = cli("--emulator", "batch", str(manifest), "--mkdir")
    assert done.exit_code == 0, done.stderr
    assert (tmp_path / "clips" / "x.wav").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["clone", "--prefix", "t", "--sample", str(REFERENCE), "--timeout", "-1"],
        ["clone", "--prefix", "t", "--sample", str(REFERENCE), "--timeout", "0"],
        ["clone", "--prefix", "t", "--sample", str(REFERENCE), "--timeout", "nan"],
        ["clone", "--prefix", "t", "--sample", str(REFERENCE), "--max-prompt-audio-length", "-3"],
        ["speak", "--voice", "t", "--text", "Hi.", "--out", "OUT", "--concurrency", "0"],
        ["speak", "--voice", "t", "--text", "Hi.", "--out", "OUT", "--retries", "-1"],
        ["speak", "--voice", "t", "--text", "Hi.", "--out", "OUT", "--volume", "101"],
        ["speak", "--voice", "t", "--text", "Hi.", "--out", "OUT", "--rate", "0"],
        ["speak", "--voice", "t", "--text", "Hi.", "--out", "OUT", "--pitch", "9"],
        ["speak", "--voice", "t", "--text", "Hi.", "--out", "OUT", "--seed", "-1"],
        ["speak", "--voice", "t", "--text", "Hi.", "--out", "OUT", "--sample-rate", "1"],
        ["batch", "MANIFEST", "--concurrency", "0"],
        ["batch", "MANIFEST", "--retries", "-1"],
        ["batch", "MANIFEST", "--sample-rate", "7"],
        ["voices", "update", "VOICE", "--sample", str(REFERENCE), "--timeout", "-1"],
    ],
)
def test_every_numeric_option_is_checked_before_anything_is_sent(
    cli: Cli, tmp_path: Path, args: list[str]
) -> None:
    voice = _clone(cli, REFERENCE, prefix="t")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,voice,text\nx,{voice},Hi.\n", encoding="utf-8")
    out = tmp_path / "out.wav"
    args = [{"OUT": str(out), "MANIFEST": str(manifest), "VOICE": voice}.get(a, a) for a in args]
    before = _service_voices(cli)
    result = cli("--emulator", *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert _service_voices(cli) == before
    assert not out.exists() and not (tmp_path / "x.wav").exists()
    assert not manifest.with_name("m.csv.results.jsonl").exists()


def test_json_output_of_the_new_fields(cli: Cli, tmp_path: Path) -> None:
    voice = _clone(cli, REFERENCE)
    out = tmp_path / "a.wav"
    result = cli("--emulator", "--json", "speak", "--voice", voice, "--text", "你好。",
                 "--out", str(out))  # fmt: skip
    data = json.loads(result.stdout)
    assert data["replaced"] is False and data["text_characters"] == 5


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('id,voice,text\na,V,"Hello\nb,V,World\n', "m.csv:2: a quote opens on this line"),
        ('id,voice,text\na,V,Fine.\nb,V,"Bad"quote\n', "m.csv:3: broken quoting"),
        ("id,voice,text,out\n", "m.csv:1: only a header"),
        ("id,voice,text,out\n\n\n", "m.csv:1: only a header"),
    ],
)
def test_broken_manifests_are_one_clear_error_with_the_line(
    cli: Cli, tmp_path: Path, content: str, expected: str
) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(content, encoding="utf-8")
    result = cli("--emulator", "batch", str(manifest))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not manifest.with_name("m.csv.results.jsonl").exists()
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text("# nothing yet\n", encoding="utf-8")
    empty = cli("--emulator", "batch", str(jsonl))
    assert empty.exit_code == 2 and "no rows" in empty.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_large_text_shows_its_cost_before_any_work(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = tmp_path / "book.txt"
    text.write_text("你好" * 25_000 + "Hello.", encoding="utf-8")  # 100,006 billed
    out = tmp_path / "book.wav"
    args = ["--emulator", "speak", "--voice", "nosuch", "--text-file", str(text), "--out", str(out)]
    piped = cli(*args)  # not a terminal: say the count first, then proceed (to the voice check)
    lines = piped.stderr.strip().splitlines()
    assert (
        lines[0] == "note: the text is 100,006 billed characters (CJK characters count "
        "twice); starting"
    )
    assert piped.exit_code == 2 and "nosuch" in lines[1]
    as_json = cli(args[0], "--json", *args[1:])
    assert as_json.stderr.startswith("note: the text is 100,006 billed characters")
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    declined = cli(*args)
    assert declined.exit_code == 1 and "Start?" in declined.stderr
    assert "not started; nothing was sent" in declined.stderr and "nosuch" not in declined.stderr
    monkeypatch.setattr(sys, "stdin", _Terminal(""))
    skipped = cli(*args, "--yes")
    assert "Start?" not in skipped.stderr and skipped.exit_code == 2
    assert not out.exists()


def test_a_large_manifest_shows_its_cost_before_any_work(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = tmp_path / "book.jsonl"
    rows = [{"id": f"c{i}", "voice": "nosuch", "text": "你好" * 12_500} for i in range(2)]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    declined = cli("--emulator", "batch", str(manifest))
    assert declined.exit_code == 1 and "not started; nothing was sent" in declined.stderr
    assert not (tmp_path / "book.jsonl.results.jsonl").exists()
    monkeypatch.undo()
    piped = cli("--emulator", "batch", str(manifest))  # 100,000 billed: said, then proceeds
    assert piped.stderr.startswith(
        f"note: the manifest {manifest} is 100,000 billed characters (CJK characters count twice)"
    )
    small = tmp_path / "small.jsonl"
    small.write_text(json.dumps({"id": "a", "voice": "nosuch", "text": "Hi."}) + "\n")
    assert "billed characters" not in cli("--emulator", "batch", str(small)).stderr


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_hopeless_connections_fail_fast_and_name_the_wrong_setting(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("DASHSCOPE_API_KEY", "test-key-not-real")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", f"http://127.0.0.1:{_free_port()}/api/v1")
    started = time.monotonic()
    refused = cli("voices", "list")
    assert refused.exit_code == 6
    assert "Connection refused" in refused.stderr and "gave up after 3 attempts" in refused.stderr
    assert "list_voice" not in refused.stderr and "listing voices" in refused.stderr
    assert time.monotonic() - started < 10  # a couple of quick retries, not 30 s
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "garbage")
    garbage = cli("voices", "list")
    assert garbage.exit_code == 2
    assert garbage.stderr.startswith("error: DASHSCOPE_HTTP_BASE_URL='garbage' is not a http")


def test_a_refused_key_on_another_endpoint_gets_no_alibaba_region_advice(
    cli: Cli, cosyvoice_emulator_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "test-wrong-key")
    result = cli("voices", "list")
    assert result.exit_code == 3
    assert "127.0.0.1" in result.stderr and "DASHSCOPE_API_KEY" in result.stderr
    assert "region" not in result.stderr.lower() and "Singapore" not in result.stderr


def test_interrupting_clone_wait_names_the_voice_and_a_rerun_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal
    import subprocess
    import time

    args = [sys.executable, "-m", "cosyvoice_clone", "--emulator", "clone", "--prefix", "slow",
            "--sample", str(REFERENCE)]  # fmt: skip
    env = {**os.environ, "COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY": "60"}
    registry = Path(os.environ["COSYVOICE_CLONE_HOME"]) / "registry.sqlite3"
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if registry.exists() and b"cosyvoice-" in registry.read_bytes() + _wal(registry):
                break
            time.sleep(0.1)
        time.sleep(1.0)  # the first status poll names the voice
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
    assert proc.returncode == 130, err
    line = err.strip().splitlines()[-1]
    assert "interrupted while waiting for voice cosyvoice-v3.5-plus-slow-" in line, err
    assert "reuses this voice" in line
    voice = line.split("for voice ", 1)[1].split(";", 1)[0]
    monkeypatch.setenv("COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY", "0.2")
    again = subprocess.run([*args, "--no-wait"], env={**os.environ, "NO_COLOR": "1"},
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"reused voice {voice}")


def _wal(registry: Path) -> bytes:
    wal = registry.with_name(registry.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_sizes_are_in_one_unit(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(REFERENCE.read_bytes() + b"\0" * (11 * 1024 * 1024))
    result = cli("--emulator", "clone", "--prefix", "big", "--sample", str(big))
    assert result.exit_code == 2
    assert "MiB; the service takes at most 10 MiB" in result.stderr and " MB" not in result.stderr
