"""QA regressions: interrupted runs, resume verification, voice status, clear input errors."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import soundfile as sf
from synthesis_helpers import MODEL, CliResult, make_voice

from cosyvoice_clone import catalog
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.registry import Registry
from cosyvoice_clone.synthesis import Synthesizer

Cli = Callable[..., CliResult]
NOISE = ("Traceback", "never retrieved", "Task was destroyed", "CancelledError")


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def partials(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.partial"))


def _spawn(emulator: RunningEmulator, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **emulator.env()}
    return subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"the command ended before {what}: {proc.communicate()}"
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=10)
    return child.pid


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_speak_removes_the_partial_file(
    voice: str, cosyvoice_emulator: RunningEmulator, tmp_path: Path, signum: int, code: int
) -> None:
    out_dir = tmp_path / "sp"
    out_dir.mkdir()
    out = out_dir / "term.wav"
    text = tmp_path / "huge.txt"
    text.write_text("This is one sentence of a long text to speak. " * 120, encoding="utf-8")
    cosyvoice_emulator.set_rate_limits(False)
    cosyvoice_emulator.set_rtf(0.5)
    proc = _spawn(cosyvoice_emulator, "speak", "--voice", voice, "--text-file", str(text),
                  "--out", str(out))  # fmt: skip
    try:
        _wait_for(lambda: any("probe" not in p.name for p in partials(out_dir)), proc,
                  "the partial file appeared")  # fmt: skip
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == code, err
    lines = error_lines(err)
    assert len(lines) == 1 and signal.Signals(signum).name in lines[0], err
    assert not any(n in err for n in NOISE)
    assert list(out_dir.iterdir()) == []


def test_stale_partials_of_dead_writers_are_removed_by_the_next_speak(
    cli: Cli, voice: str, tmp_path: Path
) -> None:
    out = tmp_path / "a.wav"
    dead = tmp_path / f".a.wav.{_dead_pid()}-0123abcd.partial"
    legacy = tmp_path / ".a.wav.89abcdef.partial"
    alive = tmp_path / f".a.wav.{os.getpid()}-0badf00d.partial"  # a concurrent run: kept
    other = tmp_path / f".b.wav.{_dead_pid()}-0123abcd.partial"  # another target: kept
    for path in (dead, legacy, alive, other):
        path.write_bytes(b"x" * 1000)
    result = cli("speak", "--voice", voice, "--text", "Hello.", "--out", str(out))
    assert result.code == 0, result.err
    assert sf.info(str(out)).duration > 0
    assert partials(tmp_path) == sorted([alive, other])


def _manifest(path: Path, voice: str, count: int, words: int = 2, short: int = 0) -> None:
    """``count`` rows; all but the first ``short`` have ``words`` extra sentences."""
    rows = [
        {"id": f"u{i}", "voice": voice,
         "text": f"Utterance number {i}. " + "It has a second sentence. " * (
             2 if i < short else words),
         "out": f"out/u{i}.{('wav', 'pcm', 'mp3', 'opus')[i % 4]}"}
        for i in range(count)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def test_ctrl_c_during_batch_is_one_line_and_resume_completes(
    cli: Cli, voice: str, cosyvoice_emulator: RunningEmulator, tmp_path: Path
) -> None:
    manifest = tmp_path / "big.jsonl"
    # Two short items finish first; the long ones (3 parts each) are in flight at the signal.
    _manifest(manifest, voice, 5, words=80, short=2)
    out_dir = tmp_path / "out"
    cosyvoice_emulator.set_rate_limits(False)
    cosyvoice_emulator.set_rtf(0.05)
    proc = _spawn(cosyvoice_emulator, "batch", str(manifest), "--concurrency", "5", "--mkdir")
    try:
        _wait_for(
            lambda: out_dir.is_dir() and any(not p.name.startswith(".") for p in out_dir.iterdir()),
            proc,
            "an output appeared",
        )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    lines = error_lines(err)
    assert len(lines) == 1 and "interrupted by SIGINT" in lines[0] and "resume" in lines[0], err
    assert not any(n in err for n in NOISE)
    assert partials(out_dir) == []
    results = manifest.with_name("big.jsonl.results.jsonl")
    recorded = [json.loads(x) for x in results.read_text(encoding="utf-8").splitlines()]
    assert 1 <= len(recorded) < 5 and {r["status"] for r in recorded} == {"ok"}

    cosyvoice_emulator.set_rtf(0.0)
    again = cli("--json", "batch", str(manifest), "--concurrency", "4", "--mkdir")
    assert again.code == 0, again.err
    assert (again.json["skipped"], again.json["done"]) == (len(recorded), 5 - len(recorded))
    assert max(i.get("parts", 0) for i in again.json["items"]) >= 2
    assert partials(out_dir) == [] and len(list(out_dir.iterdir())) == 5


def test_resume_redoes_outputs_that_do_not_match_the_results_file(
    cli: Cli, voice: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "m.jsonl"
    _manifest(manifest, voice, 3)
    first = cli("--json", "batch", str(manifest), "--mkdir")
    assert first.code == 0, first.err
    sizes = {i["id"]: i["bytes"] for i in first.json["items"]}
    out = tmp_path / "out"
    wav, pcm = out / "u0.wav", out / "u1.pcm"
    wav.write_bytes(wav.read_bytes()[:100])  # truncated
    pcm.write_bytes(b"garbage")  # replaced

    second = cli("--json", "batch", str(manifest))
    assert second.code == 0, second.err
    status = {i["id"]: i["status"] for i in second.json["items"]}
    assert status == {"u0": "ok", "u1": "ok", "u2": "skipped"}
    assert wav.stat().st_size == sizes["u0"] and pcm.stat().st_size == sizes["u1"]
    assert sf.info(str(wav)).duration > 1.0

    # Skipped items keep what was recorded, so the next run can still verify them.
    third = cli("--json", "batch", str(manifest))
    assert third.json["skipped"] == 3
    # A changed request is not "done", even if its file is intact.
    rows = [json.loads(x) for x in manifest.read_text(encoding="utf-8").splitlines()]
    rows[2]["text"] = "A different text now."
    manifest.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    fourth = cli("--json", "batch", str(manifest))
    assert {i["id"]: i["status"] for i in fourth.json["items"]}["u2"] == "ok"


def test_text_file_problems_are_one_clear_line(cli: Cli, voice: str, tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("你好，世界。".encode("gbk"))
    cases = {str(tmp_path): "is a directory", str(gbk): "is not UTF-8 text"}
    for path, fragment in cases.items():
        result = cli("speak", "--voice", voice, "--text-file", path,
                     "--out", str(tmp_path / "x.wav"))  # fmt: skip
        assert result.code == 2
        lines = error_lines(result.err)
        assert len(lines) == 1 and fragment in lines[0], result.err
        assert "Errno" not in result.err and "codec" not in result.err


def test_unknown_model_and_language_hint_are_refused_with_the_known_values(
    cli: Cli, voice: str, tmp_path: Path
) -> None:
    result = cli("speak", "--voice", voice, "--text", "Hi.", "--model", "bogus",
                 "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert result.code == 2
    assert "unknown model 'bogus'" in result.err and "bound to" not in result.err
    assert all(m in result.err for m in catalog.TARGET_MODELS)
    result = cli("speak", "--voice", voice, "--text", "Hi.", "--language-hint", "xx",
                 "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert result.code == 2 and "unknown language hint 'xx'" in result.err
    assert all(h in result.err for h in catalog.TARGET_MODELS[MODEL].language_hints)
    ok = cli("speak", "--voice", voice, "--text", "Hi.", "--language-hint", "en",
             "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert ok.code == 0, ok.err
    assert not list(tmp_path.glob("*.partial"))


def test_progress_total_and_the_summary_count_the_same_text(
    synth: Synthesizer, cli: Cli, voice: str, tmp_path: Path
) -> None:
    text = "Hello there. 你好，世界。 " * 150
    calls: list[tuple[int, int]] = []
    result = synth.speak(text, tmp_path / "a.wav", voice=voice, concurrency=3,
                         on_progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    assert result.text_characters == catalog.text_weight(text)
    assert calls[-1] == (result.text_characters, result.text_characters)
    assert 0 < result.characters <= result.text_characters
    human = cli("speak", "--voice", voice, "--text", "Hi. 你好。", "--out", str(tmp_path / "b.wav"))
    assert human.code == 0, human.err
    assert "characters billed (7 in the text; CJK characters count twice)" in human.out


@pytest.fixture
def ws_trap(cosyvoice_emulator_env: RunningEmulator,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:  # fmt: skip
    """Synthesis goes to a listener nobody answers (HTTP still goes to the emulator)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    monkeypatch.setenv(
        "DASHSCOPE_WEBSOCKET_BASE_URL", f"ws://127.0.0.1:{listener.getsockname()[1]}/ws"
    )
    yield listener
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing was sent
    listener.close()


def _register(emulator: RunningEmulator, voice_id: str, status: str) -> None:
    with Registry(os.environ["COSYVOICE_CLONE_HOME"]) as registry:
        registry.record_clone(
            voice_id, region="cn-beijing", endpoint=emulator.http_base, target_model=MODEL,
            prefix="qa", options={}, key=voice_id, sample_url=emulator.sample_url(),
            sample_sha256=None, sample_source=None, request_id=None, usage_count=None,
            status=status,
        )  # fmt: skip


def test_a_deploying_voice_is_refused_after_one_status_query(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path, ws_trap: socket.socket
) -> None:
    cosyvoice_emulator.set_deploy_delay(120)
    voice = make_voice(cosyvoice_emulator, prefix="qa")
    _register(cosyvoice_emulator, voice, "DEPLOYING")
    result = cli("--json", "speak", "--voice", voice, "--text", "Hi.",
                 "--out", str(tmp_path / "x.wav"))  # fmt: skip
    assert result.code == 1
    error = result.json["error"]
    assert error["code"] == "voice_deploying" and "DEPLOYING" in error["message"]
    # Exit 1, not 2: a status query was sent, so it must not say "nothing was sent".
    assert "nothing was sent" not in error["message"] and "no speech" in error["message"]
    assert "wait" in error["hint"] and "error code: 418" not in result.out  # not the opaque 418
    assert not (tmp_path / "x.wav").exists()


def test_a_voice_registered_as_deploying_that_is_ready_now_speaks(
    cli: Cli, cosyvoice_emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    cosyvoice_emulator_env.set_deploy_delay(0)
    voice = make_voice(cosyvoice_emulator_env, prefix="qa")
    _register(cosyvoice_emulator_env, voice, "DEPLOYING")
    result = cli("speak", "--voice", voice, "--text", "Hi.", "--out", str(tmp_path / "x.wav"))
    assert result.code == 0, result.err
    with Registry(os.environ["COSYVOICE_CLONE_HOME"]) as registry:
        record = registry.get(voice)
    assert record is not None and record.status == "OK"


def test_a_deleted_voice_is_refused_with_exit_2(
    cli: Cli, cosyvoice_emulator: RunningEmulator, tmp_path: Path, ws_trap: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    voice = make_voice(cosyvoice_emulator, prefix="qa")
    _register(cosyvoice_emulator, voice, "OK")
    with Registry(os.environ["COSYVOICE_CLONE_HOME"]) as registry:
        registry.mark_deleted(voice)
    result = cli("speak", "--voice", voice, "--text", "Hi.", "--out", str(tmp_path / "x.wav"))
    assert result.code == 2
    lines = error_lines(result.err)
    assert len(lines) == 1 and "was deleted" in lines[0] and "warning" not in result.err
    # In a batch the row is reported with its line number and the others go on.
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"id,voice,text,out\na,{voice},Hi.,a.wav\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    batch = cli("batch", str(manifest))
    assert batch.code == 1 and "m.csv:2:" in batch.err and "was deleted" in batch.err
