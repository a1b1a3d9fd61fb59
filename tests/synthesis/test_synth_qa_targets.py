"""QA regressions: where `speak` and `batch` write (special files, symlinks, stdout, formats)."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import soundfile as sf
from synthesis_helpers import CliResult

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.synthesis import SynthesisOptions, Synthesizer

Cli = Callable[..., CliResult]


@pytest.fixture
def ws_trap(cosyvoice_emulator_env: RunningEmulator,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:  # fmt: skip
    """Synthesis goes to a listener nobody answers: a test asserts that nothing connected."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    monkeypatch.setenv(
        "DASHSCOPE_WEBSOCKET_BASE_URL", f"ws://127.0.0.1:{listener.getsockname()[1]}/ws"
    )
    yield listener
    listener.close()


def nothing_sent(listener: socket.socket) -> bool:
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return True
    conn.close()
    return False


def one_error_line(result: CliResult) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ") and "Traceback" not in result.err
    return lines[0]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_special_files_are_refused_and_left_alone(
    cli: Cli, voice: str, tmp_path: Path, ws_trap: socket.socket
) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    directory = tmp_path / "dir.wav"
    directory.mkdir()
    link_to_fifo = tmp_path / "link.wav"
    link_to_fifo.symlink_to(fifo)
    targets = {fifo: "FIFO", directory: "directory", link_to_fifo: "FIFO"}
    try:
        device = tmp_path / "null.wav"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # /dev/null's numbers
        targets[device] = "device"
    except PermissionError:  # not root: FIFOs and directories still cover the rule
        device = None
    for target, kind in targets.items():
        result = cli("speak", "--voice", voice, "--text", "Hello.", "--out", str(target))
        assert result.code == 2, (target, result.err)
        line = one_error_line(result)
        assert "refusing to write" in line and kind in line, line
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and directory.is_dir()
    assert os.path.islink(link_to_fifo)
    if device is not None:
        assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert not leftovers(tmp_path) and not list(directory.iterdir())
    assert nothing_sent(ws_trap)


def test_a_symlink_is_followed_and_kept(cli: Cli, voice: str, tmp_path: Path) -> None:
    real = tmp_path / "audio" / "real.wav"
    real.parent.mkdir()
    real.write_bytes(b"old contents")
    link = tmp_path / "link.wav"
    link.symlink_to(real)
    result = cli("--json", "speak", "--voice", voice, "--text", "Hello there.", "--out", str(link))
    assert result.code == 0, result.err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert sf.info(str(real)).duration > 0.3
    assert result.json["path"] == str(link) and result.json["bytes"] == real.stat().st_size
    assert not leftovers(tmp_path) and not leftovers(real.parent)


@pytest.mark.parametrize(
    ("out", "extra", "fragments"),
    [
        ("x.flac", [], ["x.flac", ".wav → wav", "--format"]),
        ("x", [], ["'x'", ".opus/.ogg → opus", "--format"]),
        ("x.wav", ["--format", "mp3"], ["x.wav names a wav file", "mp3"]),
        ("x.ogg", ["--format", "wav"], ["names a opus file", "wav"]),
    ],
)
def test_unknown_or_contradicting_extensions_exit_2(
    cli: Cli, voice: str, tmp_path: Path, ws_trap: socket.socket,
    out: str, extra: list[str], fragments: list[str],
) -> None:  # fmt: skip
    result = cli("speak", "--voice", voice, "--text", "Hello.", "--out", str(tmp_path / out),
                 *extra)  # fmt: skip
    assert result.code == 2
    line = one_error_line(result)
    assert all(f in line for f in fragments), line
    assert not (tmp_path / out).exists()
    assert nothing_sent(ws_trap)


def test_extension_aliases_and_explicit_format_for_an_unknown_extension(
    cli: Cli, voice: str, tmp_path: Path
) -> None:
    ogg = tmp_path / "a.ogg"
    assert cli("speak", "--voice", voice, "--text", "Hi.", "--out", str(ogg)).code == 0
    assert sf.info(str(ogg)).format == "OGG"
    raw = tmp_path / "a.raw"
    result = cli("--json", "speak", "--voice", voice, "--text", "Hi.", "--out", str(raw))
    assert result.code == 0 and result.json["format"] == "pcm"
    odd = tmp_path / "a.audio"
    result = cli("--json", "speak", "--voice", voice, "--text", "Hi.", "--out", str(odd),
                 "--format", "mp3")  # fmt: skip
    assert result.code == 0 and sf.info(str(odd)).format == "MP3"


def test_timestamps_target_is_checked_before_synthesis(
    cli: Cli, voice: str, tmp_path: Path, ws_trap: socket.socket
) -> None:
    out = tmp_path / "a.wav"
    bad = [tmp_path / "words_dir"]
    bad[0].mkdir()
    if Path("/proc/self").is_dir():
        bad.append(Path("/proc/t.srt"))
    for target in bad:
        result = cli("speak", "--voice", voice, "--text", "Hello.", "--out", str(out),
                     "--timestamps", str(target))  # fmt: skip
        assert result.code == 2, result.err
        assert "--timestamps" in one_error_line(result)
    same = cli("speak", "--voice", voice, "--text", "Hello.", "--out", str(out),
               "--timestamps", str(out))  # fmt: skip
    assert same.code == 2 and "same file" in one_error_line(same)
    assert not out.exists() and nothing_sent(ws_trap)


def test_timestamps_have_a_unique_temporary_name(cli: Cli, voice: str, tmp_path: Path) -> None:
    from cosyvoice_clone.synthesis.sinks import partial_path

    srt = tmp_path / "t.srt"
    names = {partial_path(srt).name for _ in range(20)}
    assert len(names) == 20 and all(str(os.getpid()) in n for n in names)
    # A colliding leftover of the old fixed name is not touched, and nothing is left behind.
    (tmp_path / ".t.srt.partial").write_text("someone else's")
    result = cli("speak", "--voice", voice, "--text", "Hello there.", "--out",
                 str(tmp_path / "a.wav"), "--timestamps", str(srt))  # fmt: skip
    assert result.code == 0, result.err
    assert "Hello" in srt.read_text(encoding="utf-8")
    assert leftovers(tmp_path) == [".t.srt.partial"]


def _write_manifest(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def test_batch_rows_with_bad_targets_or_formats_are_invalid_the_rest_run(
    cli: Cli, voice: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    (tmp_path / "adir.wav").mkdir()
    real = tmp_path / "real.mp3"
    (tmp_path / "link.mp3").symlink_to(real)
    manifest = tmp_path / "m.jsonl"
    rows: list[dict[str, object]] = [
        {"id": "ok", "voice": voice, "text": "Fine.", "out": "ok.wav"},
        {"id": "fifo", "voice": voice, "text": "No.", "out": str(fifo)},
        {"id": "dir", "voice": voice, "text": "No.", "out": "adir.wav"},
        {"id": "stdout", "voice": voice, "text": "No.", "out": "-"},
        {"id": "flac", "voice": voice, "text": "No.", "out": "x.flac"},
        {"id": "clash", "voice": voice, "text": "No.", "out": "y.wav", "format": "mp3"},
        {"id": "self", "voice": voice, "text": "No.", "out": "m.jsonl", "format": "wav"},
        {"id": "link", "voice": voice, "text": "Linked.", "out": "link.mp3"},
        {"id": "model", "voice": voice, "text": "No.", "out": "z.wav", "model": "bogus"},
        {"id": "hint", "voice": voice, "text": "No.", "out": "h.wav", "language_hint": "xx"},
    ]
    _write_manifest(manifest, rows)
    before = manifest.read_bytes()
    result = cli("--json", "batch", str(manifest))
    assert result.code == 1
    summary = result.json
    status = {item["id"]: item["status"] for item in summary["items"]}
    assert status.pop("ok") == "ok" and status.pop("link") == "ok"
    assert set(status.values()) == {"invalid"}
    for line in range(2, 8):
        assert f"m.jsonl:{line}:" in result.err
    assert "unknown model 'bogus'" in result.err and "unknown language hint 'xx'" in result.err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and (tmp_path / "adir.wav").is_dir()
    assert manifest.read_bytes() == before
    assert (tmp_path / "link.mp3").is_symlink() and sf.info(str(real)).format == "MP3"
    assert not (tmp_path / "x.flac").exists() and not (tmp_path / "y.wav").exists()


def test_batch_default_format_applies_to_names_without_an_audio_extension(
    cli: Cli, voice: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "m.jsonl"
    _write_manifest(manifest, [
        {"id": "a", "voice": voice, "text": "One.", "out": "a.take"},
        {"id": "b", "voice": voice, "text": "Two.", "out": "b.wav"},
        {"id": "c", "voice": voice, "text": "Three."},
    ])  # fmt: skip
    result = cli("--json", "batch", str(manifest), "--format", "mp3")
    assert result.code == 0, result.err
    assert sf.info(str(tmp_path / "a.take")).format == "MP3"
    assert sf.info(str(tmp_path / "b.wav")).format == "WAV"  # the name decides
    assert sf.info(str(tmp_path / "c.mp3")).format == "MP3"


def test_library_speak_follows_the_same_rules(synth: Synthesizer, voice: str,
                                              tmp_path: Path) -> None:  # fmt: skip
    result = synth.speak("Hello.", tmp_path / "a.mp3", voice=voice)  # format from the name
    assert result.format == "mp3" and sf.info(str(tmp_path / "a.mp3")).format == "MP3"
    fifo = tmp_path / "f.wav"
    os.mkfifo(fifo)
    bad = [
        (tmp_path / "a.flac", None, "cannot tell the audio format"),
        (tmp_path / "b.mp3", SynthesisOptions(format="wav"), "names a mp3 file"),
        (fifo, None, "FIFO"),
    ]
    for out, options, fragment in bad:
        with pytest.raises(InvalidRequestError) as caught:
            synth.speak("Hello.", out, voice=voice, options=options)
        assert fragment in str(caught.value) and caught.value.exit_code == 2
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not (tmp_path / "a.flac").exists() and not (tmp_path / "b.mp3").exists()
    assert not leftovers(tmp_path)
