"""QA regressions of `cosyvoice-clone check`: output targets, sample URLs, --fix outcomes,
measurement labels and the "ok" key."""

from __future__ import annotations

import importlib
import io
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from cosyvoice_clone.cli.main import run


def _ref() -> tuple[np.ndarray, int]:
    data = resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()
    x, rate = sf.read(io.BytesIO(data), dtype="float32")
    return x, rate


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("qa-samples")
    x, rate = _ref()
    out = {name: root / name for name in ("good.wav", "short.wav", "rate8k.wav", "clipped.wav")}
    sf.write(out["good.wav"], x, rate, subtype="PCM_16")
    sf.write(out["short.wav"], x[: 2 * rate], rate, subtype="PCM_16")
    sf.write(out["rate8k.wav"], soxr.resample(x, rate, 8000), 8000, subtype="PCM_16")
    sf.write(out["clipped.wav"], np.clip(x * 6.0, -1.0, 1.0), rate, subtype="PCM_16")
    return out


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        run(list(args))
    captured = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    return lines[0]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# ---- 1. the --fix / --plot target is validated before any work --------------------------------


def _bad_targets(tmp: Path) -> list[tuple[str, str]]:
    (tmp / "notes.txt").write_text("notes\n")
    (tmp / "folder.wav").mkdir()
    targets = [
        (str(tmp / "notes.txt" / "x.wav"), "is not a directory"),
        (str(tmp / "notes.txt" / "a" / "b" / "x.wav"), "is not a directory"),
        (str(tmp / "folder.wav"), "is a directory"),
    ]
    if os.path.exists("/dev/null"):
        targets.append(("/dev/null", "not a regular file"))
    if os.path.isdir("/proc/self"):
        targets.append(("/proc/x.wav", "cannot create files in /proc"))
    if os.path.isdir("/sys/kernel"):
        targets.append(("/sys/x.wav", "cannot create files in /sys"))
    return targets


def test_unwritable_fix_targets_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for target, needle in _bad_targets(work):
        before = _tree(work)
        rc, out, err = _run(capsys, "check", str(samples["good.wav"]), "--fix", target)
        assert rc == 2 and out == "", target
        line = _one_error_line(err)
        assert "--fix" in line and needle in line, line
        assert _tree(work) == before  # nothing written, no temporary file left
        rc, out, _ = _run(capsys, "check", str(samples["good.wav"]), "--fix", target, "--json")
        assert rc == 2 and json.loads(out)["error"]["code"] == "invalid_request"
    assert not Path("/proc/x.wav").exists() and not Path("/sys/x.wav").exists()


def test_unwritable_plot_target_is_refused_before_the_check(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "notes.txt").write_text("x")
    fixed = tmp_path / "fixed.wav"
    rc, out, err = _run(
        capsys,
        "check",
        str(samples["good.wav"]),
        "--fix",
        str(fixed),
        "--plot",
        str(tmp_path / "notes.txt" / "p.png"),
    )
    assert rc == 2 and out == ""
    assert "--plot" in _one_error_line(err)
    assert not fixed.exists()  # refused before the repair was written


def test_fix_refuses_missing_folders_without_mkdir(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    # Issue 23 item 13: folders are created only when asked (--mkdir, the fixes-doors branch).
    for sample, folder in (("short.wav", "new"), ("good.wav", "made")):
        target = tmp_path / folder / "dir" / "x.wav"
        rc, out, err = _run(capsys, "check", str(samples[sample]), "--fix", str(target))
        assert rc == 2 and out == "", err
        assert "does not exist" in _one_error_line(err)
        assert not (tmp_path / folder).exists()


def test_fix_creates_missing_folders_only_with_mkdir_and_only_when_it_writes(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    missing = str(tmp_path / "new" / "dir" / "x.wav")
    rc, _, err = _run(capsys, "check", str(samples["good.wav"]), "--fix", missing)
    assert rc == 2 and "--mkdir" in err and not (tmp_path / "new").exists()  # issue 23 item 13
    rc, _, _ = _run(capsys, "check", str(samples["short.wav"]), "--fix", missing, "--mkdir")
    assert rc == 1 and not (tmp_path / "new").exists()
    target = tmp_path / "made" / "dir" / "x.wav"
    rc, _, _ = _run(capsys, "check", str(samples["good.wav"]), "--fix", str(target), "--mkdir")
    assert rc == 0 and sf.info(target).samplerate == 24000
    assert _tree(tmp_path / "made") == ["dir", "dir/x.wav"]


# ---- 2. sample sources: empty, unsupported schemes, network failures --------------------------


@pytest.mark.parametrize(
    ("sample", "needle"),
    [
        ("", "the sample path is empty"),
        ("   ", "the sample path is empty"),
        ("ftp://x/y.wav", "unsupported URL scheme ftp:// in ftp://x/y.wav"),
        ("oss://dashscope-instant/abc/y.wav", "oss://dashscope-instant/abc/y.wav is a temporary"),
        ("http://", "is not a valid URL"),
        ("http://127.0.0.1:99999/x.wav", "is not a valid URL"),
    ],
)
def test_bad_sample_sources_say_what_is_wrong(
    capsys: pytest.CaptureFixture[str], sample: str, needle: str
) -> None:
    rc, out, err = _run(capsys, "check", sample)
    assert rc == 2 and out == ""
    line = _one_error_line(err)
    assert needle in line, line
    assert "cannot read" not in line and ". is not a file" not in line


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_a_network_error_exit_6(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/x.wav"
    rc, out, err = _run(capsys, "check", url)
    assert rc == 6 and out == ""
    assert url in _one_error_line(err)
    rc, out, _ = _run(capsys, "--json", "check", url)
    assert rc == 6 and json.loads(out)["error"]["code"] == "network"


_STALL = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/stall.wav":
            _STALL.wait(5)  # answers nothing until the test is over (bounded)
            return
        status = {"/busy.wav": 503, "/gone.wav": 404}.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _STALL.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    _STALL.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_url_failures_map_to_exit_codes(
    capsys: pytest.CaptureFixture[str], server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rc, _, err = _run(capsys, "check", f"{server}/busy.wav")
    assert rc == 6 and "HTTP 503" in _one_error_line(err)
    rc, _, err = _run(capsys, "check", f"{server}/gone.wav")
    assert rc == 2 and "HTTP 404" in _one_error_line(err)
    decode = importlib.import_module("cosyvoice_clone.audio.decode")
    monkeypatch.setattr(decode, "URL_TIMEOUT_S", 0.3)
    rc, out, err = _run(capsys, "check", f"{server}/stall.wav")
    assert rc == 5 and out == "" and "timed out" in _one_error_line(err)


# ---- 3. --fix outcomes are coherent; the exit rule is in the help ------------------------------


def test_fix_of_an_8khz_sample_warns_about_quality(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    out_path = tmp_path / "fixed.wav"
    rate8k = str(samples["rate8k.wav"])
    rc, out, _ = _run(capsys, "check", rate8k, "--fix", str(out_path), "--json")
    assert rc == 0 and sf.info(out_path).samplerate == 24000
    data = json.loads(out)
    assert data["ok"] is True and data["verdict"] == "fail"
    fixed = data["fixed"]
    assert fixed["written"] is True and fixed["verdict"] == "warn"
    upsampled = [p for p in fixed["problems"] if p["code"] == "upsampled"]
    assert upsampled and upsampled[0]["severity"] == "warn"
    assert "upsampled from 8 kHz: the lost detail cannot be restored" in upsampled[0]["message"]
    assert fixed["warnings"] and fixed["unrepaired"] == ["sample_rate_too_low"]
    rc, out, _ = _run(capsys, "check", str(samples["rate8k.wav"]), "--fix", str(out_path))
    assert rc == 0
    assert "cannot be repaired" not in out and "repaired sample: WARN" in out
    assert "upsampled from 8 kHz" in out


def test_fix_of_a_clipped_sample_keeps_a_clipping_warning(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    out_path = tmp_path / "fixed.wav"
    clipped = str(samples["clipped.wav"])
    rc, out, _ = _run(capsys, "check", clipped, "--fix", str(out_path), "--json")
    assert rc == 0 and out_path.is_file()
    fixed = json.loads(out)["fixed"]
    assert fixed["verdict"] == "warn"
    assert any(p["code"] == "clipping" and p["severity"] == "warn" for p in fixed["problems"])


def test_help_documents_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "check", "--help")
    assert rc == 0
    text = " ".join(out.split())
    assert "Exit status: 0 the sample passes or only warns; 1 it fails" in text
    assert "1 when it would still fail and nothing was written" in text


# ---- 4. measurements no longer contradict each other -----------------------------------------


def test_speech_measurements_are_labelled_consistently(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path]
) -> None:
    rc, out, _ = _run(capsys, "check", str(samples["good.wav"]), "--json")
    m = json.loads(out)["measurements"]
    assert rc == 0
    # the bridged stretch may exceed the total speech; the segment without a pause may not
    assert m["longest_speech_s"] > m["speech_s"] >= m["longest_segment_s"] > 0
    rc, out, _ = _run(capsys, "check", str(samples["good.wav"]))
    assert "longest stretch of speech (pauses ≤ 2 s bridged)" in out
    assert "speech in total" in out and "longest speech without a pause" in out
    assert "longest continuous speech" not in out


# ---- 6. "ok" in check --json -------------------------------------------------------------------


def test_json_carries_ok(capsys: pytest.CaptureFixture[str], samples: dict[str, Path]) -> None:
    rc, out, _ = _run(capsys, "check", str(samples["good.wav"]), "--json")
    data = json.loads(out)
    assert rc == 0 and data["ok"] is True
    assert {"verdict", "problems", "measurements", "target_model", "source", "service_code"} <= set(
        data
    )
    rc, out, _ = _run(capsys, "--json", "check", str(samples["short.wav"]))
    data = json.loads(out)
    assert rc == 1 and data["ok"] is False and data["verdict"] == "fail"
