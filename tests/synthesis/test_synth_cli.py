"""`speak` and `batch` on the command line, against the emulator."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf
from synthesis_helpers import MODEL, CliResult, make_voice, register_voice

from cosyvoice_clone.emulator.server import RunningEmulator

Cli = Callable[..., CliResult]


def test_speak_by_prefix_with_json_summary_and_timestamps(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    voice = make_voice(cosyvoice_emulator, prefix="narrator")
    register_voice(os.environ["COSYVOICE_CLONE_HOME"], voice, "narrator",
                   cosyvoice_emulator.http_base)  # fmt: skip
    out = tmp_path / "out" / "hello.mp3"
    srt = tmp_path / "out" / "hello.srt"
    result = cli(
        "--json",
        "speak",
        "--voice",
        "narrator",
        "--text",
        "Hello there. 你好。",
        "--out",
        str(out),
        "--sample-rate",
        "24000",
        "--timestamps",
        str(srt),
        "--mkdir",
    )
    assert result.code == 0, result.err
    summary = result.json
    assert summary["path"] == str(out) and summary["format"] == "mp3"
    assert summary["sample_rate"] == 24000 and summary["characters"] == 17
    assert summary["voice"] == voice and summary["model"] == MODEL
    assert len(summary["request_ids"]) == 1 and summary["time_to_first_audio"] >= 0
    info = sf.info(str(out))
    assert info.samplerate == 24000 and abs(info.duration - summary["duration"]) < 0.01
    cues = srt.read_text(encoding="utf-8").strip().split("\n\n")
    assert [c.splitlines()[2] for c in cues] == ["Hello", "there", "你", "好"]
    assert cues[0].splitlines()[1].startswith("00:00:00,000 --> 00:00:00,")


def test_speak_text_file_stdin_and_format_override(
    cli: Cli, voice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text_file = tmp_path / "text.txt"
    text_file.write_text("From a file.", encoding="utf-8")
    out = tmp_path / "a.audio"
    result = cli("--json", "speak", "--voice", voice, "--text-file", str(text_file),
                 "--out", str(out), "--format", "wav", "--sample-rate", "16000",
                 "--volume", "80", "--rate", "1.5", "--pitch", "0.8", "--seed", "3",
                 "--instruction", "calm", "--language-hint", "en",
                 "--timestamps", str(tmp_path / "words.json"))  # fmt: skip
    assert result.code == 0, result.err
    assert sf.info(str(out)).format == "WAV"
    words = json.loads((tmp_path / "words.json").read_text(encoding="utf-8"))
    assert [w["text"] for w in words["words"]] == ["From", "a", "file"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("From stdin."))
    result = cli("speak", "--voice", voice, "--out", str(tmp_path / "b.pcm"))
    assert result.code == 0, result.err
    assert "wrote" in result.out and (tmp_path / "b.pcm").stat().st_size > 0


def test_speak_mismatch_is_refused_with_exit_2(cli: Cli, voice: str, tmp_path: Path) -> None:
    result = cli("--json", "speak", "--voice", voice, "--text", "Hi.", "--model",
                 "cosyvoice-v2", "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert result.code == 2
    error = result.json["error"]
    assert error["code"] == "model_mismatch"
    assert "cosyvoice-v2" in error["message"] and MODEL in error["message"]
    assert not list(tmp_path.glob("*x.wav*"))
    plain = cli("speak", "--voice", voice, "--text", "Hi.", "--model", "cosyvoice-v2",
                "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert plain.code == 2 and plain.err.startswith("error: ") and "Traceback" not in plain.err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--text", "   "], "empty"),
        (["--text", "Hi.", "--sample-rate", "11025"], "11025"),
        (["--text", "Hi.", "--format", "flac"], "flac"),
        (["--text", "Hi.", "--volume", "101"], "volume"),
        (["--text-file", "/nonexistent/file.txt"], "does not exist"),
    ],
)
def test_speak_bad_input_exits_2(cli: Cli, voice: str, tmp_path: Path, args: list[str],
                                 fragment: str) -> None:  # fmt: skip
    result = cli("speak", "--voice", voice, "--out", str(tmp_path / "x.wav"), *args)
    assert result.code == 2 and fragment in result.err


def test_speak_unknown_prefix(cli: Cli, tmp_path: Path) -> None:
    result = cli("speak", "--voice", "nobody", "--text", "Hi.", "--out", str(tmp_path / "x.wav"))
    assert result.code == 2 and "nobody" in result.err


def _manifest(path: Path, voice: str, count: int) -> None:
    lines = ["id,voice,text,out,format,sample_rate"]
    for i in range(count):
        fmt = ("wav", "mp3", "opus")[i % 3]
        lines.append(f'u{i},{voice},"Utterance number {i}. It has two sentences.",'
                     f"out/u{i}.{fmt},,16000")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_batch_reports_bad_rows_by_line_and_does_the_rest(
    cli: Cli, voice: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "lines.jsonl"
    rows = [
        {"id": "a", "voice": voice, "text": "First.", "out": "a.wav"},
        {"id": "b", "voice": voice, "text": "", "out": "b.wav"},
        "{broken json",
        {"id": "c", "voice": voice, "text": "Third.", "model": "cosyvoice-v2"},
        {"id": "d", "voice": voice, "text": "Fourth.", "volume": 70, "format": "mp3"},
    ]
    manifest.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows),
                        encoding="utf-8")  # fmt: skip
    result = cli("--json", "batch", str(manifest))
    assert result.code == 1
    summary = result.json
    assert (summary["done"], summary["invalid"], summary["failed"]) == (2, 3, 0)
    by_line = {item["line"]: item for item in summary["items"]}
    assert by_line[2]["status"] == by_line[3]["status"] == by_line[4]["status"] == "invalid"
    assert "text" in by_line[2]["error"]["message"]
    assert by_line[4]["error"]["code"] == "model_mismatch"
    for line in (2, 3, 4):
        assert f"lines.jsonl:{line}:" in result.err
    assert sf.info(str(tmp_path / "a.wav")).duration > 0
    assert sf.info(str(tmp_path / "d.mp3")).format == "MP3"
    results = [json.loads(x) for x in Path(summary["results"]).read_text().splitlines()]
    assert sorted(r["line"] for r in results) == [1, 2, 3, 4, 5]


def test_batch_killed_midway_resumes_and_completes(
    cli: Cli, voice: str, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    manifest = tmp_path / "book.csv"
    _manifest(manifest, voice, 9)
    cosyvoice_emulator.set_rtf(0.25)  # each item takes about a second
    env = {**os.environ, **cosyvoice_emulator.env()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "batch", str(manifest), "--concurrency", "2",
         "--mkdir"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out_dir = tmp_path / "out"
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            done = [p for p in out_dir.glob("u*") if not p.name.startswith(".")]
            if len(done) >= 2:
                break
            assert proc.poll() is None, "the batch ended before it could be interrupted"
            time.sleep(0.05)
        else:
            pytest.fail("no output appeared in time")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    finished = sorted(p.name for p in out_dir.glob("u*"))
    assert 2 <= len(finished) < 9
    for path in out_dir.glob("u*"):  # whatever is at a final path is complete
        assert sf.info(str(path)).duration > 2.0

    # Only what the results file recorded is skipped: an output renamed into place just before
    # the kill, but not recorded yet, is redone (it cannot be verified).
    results_file = manifest.with_name(manifest.name + ".results.jsonl")
    recorded = [json.loads(x) for x in results_file.read_text().splitlines()]
    assert len(finished) - 2 <= len(recorded) <= len(finished)  # concurrency 2
    cosyvoice_emulator.set_rtf(0.0)
    result = cli("--json", "batch", str(manifest), "--concurrency", "4")
    assert result.code == 0, result.err
    summary = result.json
    assert summary["skipped"] == len(recorded) and summary["done"] == 9 - len(recorded)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        f"u{i}.{('wav', 'mp3', 'opus')[i % 3]}" for i in range(9)
    )  # every output, and no temporary leftovers
    durations = {p.stem: sf.info(str(p)).duration for p in out_dir.iterdir()}
    assert all(d > 2.0 for d in durations.values())
    again = cli("--json", "batch", str(manifest))
    assert again.code == 0 and again.json["skipped"] == 9
