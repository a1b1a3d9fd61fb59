"""`cosyvoice-clone check`: exit codes, JSON shape, --fix, --plot, samples by URL."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from cosyvoice_clone.audio import check_sample
from cosyvoice_clone.audio.decode import download
from cosyvoice_clone.cli.main import run
from cosyvoice_clone.errors import SampleUnreadableError


def _ref_bytes() -> bytes:
    return resources.files("cosyvoice_clone").joinpath("data/reference_en.wav").read_bytes()


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-samples")
    x, rate = sf.read(io.BytesIO(_ref_bytes()), dtype="float32")
    out = {name: root / name for name in ("good.wav", "short.wav", "stereo.wav", "text.wav")}
    out["good.wav"].write_bytes(_ref_bytes())
    sf.write(out["short.wav"], x[: 2 * rate], rate)
    sf.write(out["stereo.wav"], np.stack([x, x], axis=1), rate)
    out["text.wav"].write_text("not audio\n" * 50)
    return out


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        run(list(args))
    captured = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


@pytest.mark.parametrize(
    ("name", "code", "verdict"),
    [("good.wav", 0, "pass"), ("stereo.wav", 0, "warn"), ("short.wav", 1, "fail")],
)
def test_exit_codes_and_json(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], name: str, code: int, verdict: str
) -> None:
    rc, out, _ = _run(capsys, "check", str(samples[name]), "--json")
    assert rc == code
    data = json.loads(out)
    assert data["verdict"] == verdict
    assert set(data) >= {"verdict", "problems", "measurements"}
    for problem in data["problems"]:
        assert set(problem) >= {"code", "severity", "message", "service_code"}
    assert data["measurements"]["sample_rate"] == 22050
    if name == "short.wav":
        assert data["problems"][0]["service_code"] == "Audio.AudioShortError"
    # the global --json gives the same document
    rc2, out2, _ = _run(capsys, "--json", "check", str(samples[name]))
    assert rc2 == code and json.loads(out2) == data


def test_human_report(capsys: pytest.CaptureFixture[str], samples: dict[str, Path]) -> None:
    rc, out, _ = _run(capsys, "check", str(samples["short.wav"]))
    assert rc == 1
    assert "FAIL" in out and "speech_too_short" in out and "Audio.AudioShortError" in out
    assert "longest stretch of speech (pauses ≤ 2 s bridged)" in out
    assert "speech in total" in out and "longest continuous speech" not in out


def test_unreadable_is_exit_2(capsys: pytest.CaptureFixture[str], samples: dict[str, Path]) -> None:
    rc, out, err = _run(capsys, "check", str(samples["text.wav"]))
    assert rc == 2 and out == ""
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    rc, out, _ = _run(capsys, "check", str(samples["text.wav"]), "--json")
    error = json.loads(out)["error"]
    assert rc == 2 and error["code"] == "sample_unreadable"
    assert error["api_code"] == "BadRequest.UnsupportedFileFormat"
    rc, _, err = _run(capsys, "check", str(samples["good.wav"].parent / "missing.wav"))
    assert rc == 2 and "missing.wav" in err and "Traceback" not in err


def test_unknown_target_model_is_exit_2(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path]
) -> None:
    rc, _, err = _run(capsys, "check", str(samples["good.wav"]), "--target-model", "nope")
    assert rc == 2 and "unknown target model" in err


def test_fix_and_plot(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    fixed, png = tmp_path / "fixed.wav", tmp_path / "plot.png"
    rc, out, _ = _run(
        capsys,
        "check",
        str(samples["stereo.wav"]),
        "--fix",
        str(fixed),
        "--plot",
        str(png),
        "--json",
    )
    assert rc == 0
    data = json.loads(out)
    assert data["verdict"] == "warn"
    assert data["fixed"]["written"] is True and data["fixed"]["verdict"] == "pass"
    assert data["fixed"]["output"] == str(fixed)
    assert data["fixed"]["measurements"]["channels"] == 1
    assert data["fixed"]["steps"] and data["fixed"]["window"]["end_s"] > 10
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sf.info(fixed).samplerate == 24000
    # human output of the same shows before/after
    rc, out, _ = _run(capsys, "check", str(samples["stereo.wav"]), "--fix", str(fixed))
    assert rc == 0 and "before" in out and "after" in out and "PASS" in out


def test_fix_refuses_to_overwrite(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path]
) -> None:
    before = samples["stereo.wav"].read_bytes()
    rc, _, err = _run(
        capsys, "check", str(samples["stereo.wav"]), "--fix", str(samples["stereo.wav"])
    )
    assert rc == 2 and "overwrite" in err
    assert samples["stereo.wav"].read_bytes() == before


def test_fix_of_an_unfixable_sample_exits_1(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    rc, out, _ = _run(
        capsys, "check", str(samples["short.wav"]), "--fix", str(tmp_path / "x.wav"), "--json"
    )
    assert rc == 1
    data = json.loads(out)
    assert data["fixed"]["written"] is False and data["fixed"]["reason"]
    assert not (tmp_path / "x.wav").exists()


# ---- samples by URL, from a loopback server -------------------------------------------------

_ROUTES: dict[str, tuple[str, bytes]] = {}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        route = _ROUTES.get(self.path)
        if route is None:
            self.send_response(404)
            self.end_headers()
            return
        ctype, body = route
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    ref = _ref_bytes()
    _ROUTES.update(
        {
            "/voice.wav": ("audio/wav", ref),
            "/octet.wav": ("application/octet-stream", ref),
            "/xwav.wav": ("application/x-wav", ref),
            "/error.json": ("application/json", b'{"error": "expired"}'),
            "/page.html": ("text/html; charset=utf-8", b"<html>not audio</html>"),
        }
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_url_samples(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    report = check_sample(f"{server}/voice.wav")
    assert report.verdict == "pass" and report.measurements["file_size"] == len(_ref_bytes())
    assert check_sample(f"{server}/octet.wav").verdict == "pass"
    assert check_sample(f"{server}/xwav.wav").verdict == "pass"
    for page in ("page.html", "error.json"):
        with pytest.raises(SampleUnreadableError, match="not audio"):
            check_sample(f"{server}/{page}")
    with pytest.raises(SampleUnreadableError, match="HTTP 404"):
        check_sample(f"{server}/missing.wav")
    with pytest.raises(SampleUnreadableError, match="larger than"):
        download(f"{server}/voice.wav", max_bytes=1024 * 1024 // 4)
    rc, out, _ = _run(capsys, "check", f"{server}/voice.wav", "--json")
    assert rc == 0 and json.loads(out)["source"] == f"{server}/voice.wav"


def test_fix_output_must_be_wav(
    capsys: pytest.CaptureFixture[str], samples: dict[str, Path], tmp_path: Path
) -> None:
    rc, _, err = _run(capsys, "check", str(samples["good.wav"]), "--fix", str(tmp_path / "x.mp3"))
    assert rc == 2 and ".wav" in err
    assert not (tmp_path / "x.mp3").exists()
