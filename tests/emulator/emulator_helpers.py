"""Helpers for the emulator tests: real samples and bad ones derived from them, a tiny sample
web server, and raw requests to the emulator."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

from cosyvoice_clone.emulator.server import RunningEmulator

DATA = Path(__file__).resolve().parents[1] / "data"
ENROLL_PATH = "/services/audio/tts/customization"


def reference_bytes() -> bytes:
    """15.3 s of real English speech, 22050 Hz mono WAV (the packaged sample)."""
    data_dir = resources.files("cosyvoice_clone").joinpath("data")
    return data_dir.joinpath("reference_en.wav").read_bytes()


def speech_b_bytes() -> bytes:
    """12.3 s of a second voice, 16 kHz WAV."""
    return (DATA / "speech_b_16k.wav").read_bytes()


def _wav(samples: np.ndarray[Any, Any], rate: int) -> bytes:
    out = io.BytesIO()
    sf.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def derived(kind: str) -> bytes:
    """A bad sample made from the reference: short, silent, rate8k, corrupt, text."""
    data, rate = sf.read(io.BytesIO(reference_bytes()), dtype="float32")
    if kind == "short":
        return _wav(data[: int(2.0 * rate)], rate)
    if kind == "silent":
        return _wav(np.zeros(int(12 * rate), dtype=np.float32), rate)
    if kind == "rate8k":
        import soxr

        return _wav(soxr.resample(data, rate, 8000), 8000)
    if kind == "corrupt":
        good = reference_bytes()
        return good[:12] + bytes(range(256)) * 64  # RIFF/WAVE magic, then no valid chunks
    if kind == "text":
        return b"this is not audio at all\n" * 100
    raise ValueError(kind)


def enroll(
    emulator: RunningEmulator,
    payload: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    key: str | None = "default",
    timeout: float = 30.0,
) -> httpx.Response:
    """POST to the customization endpoint (JSON ``payload`` or raw ``content``)."""
    all_headers = {"Content-Type": "application/json"}
    if key is not None:
        all_headers["Authorization"] = f"Bearer {emulator.api_key if key == 'default' else key}"
    all_headers.update(headers or {})
    return httpx.post(
        emulator.http_base + ENROLL_PATH,
        json=payload if content is None else None,
        content=content,
        headers=all_headers,
        timeout=timeout,
    )


def action(emulator: RunningEmulator, name: str, **fields: Any) -> httpx.Response:
    """One enrollment action with the classic envelope (with ``parameters``)."""
    return enroll(
        emulator,
        {"model": "voice-enrollment", "input": {"action": name, **fields}, "parameters": {}},
        headers={"X-DashScope-OssResourceResolve": "enable"},
    )


def upload(emulator: RunningEmulator, data: bytes, name: str = "sample.wav") -> str:
    """Upload bytes through getPolicy + the stand-in OSS host; return the ``oss://`` URL."""
    policy = httpx.get(
        emulator.http_base + "/uploads",
        params={"action": "getPolicy", "model": "voice-enrollment"},
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    ).json()["data"]
    key = f"{policy['upload_dir']}/{name}"
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": key,
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "success_action_status": "200",
        "x-oss-content-type": "audio/wav",
    }
    response = httpx.post(policy["upload_host"], data=form, files={"file": (name, data)})
    assert response.status_code == 200, response.text
    return f"oss://{key}"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/slow.wav":
            time.sleep(3.0)  # the client has given up by now: answer nothing
            return
        if self.path == "/huge.wav":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.end_headers()  # no content-length: the cap must hold while streaming
            chunk = b"\0" * 65536
            try:
                for _ in range(11 * 1024 * 1024 // len(chunk) + 2):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        body = self.server.files.get(self.path.split("?")[0])  # type: ignore[attr-defined]
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def sample_server(files: dict[str, bytes]) -> Iterator[str]:
    """Serve ``files`` (path -> bytes) over http on 127.0.0.1; yield the base URL.

    ``/slow.wav`` answers after 3 s and ``/huge.wav`` streams 11 MB without a length.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.files = dict(files)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
