"""Each refusal of the local server over HTTP (status, one line, the error shape, nothing sent to
the service), and the legitimate clients that must keep working (issue 22)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf
from tests.security.conftest import emulator_state, root, token
from tests.server.server_helpers import openai_client

from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.server.security import (
    DEFAULT_MAX_INPUT_CHARS,
    MAX_JSON_DEPTH,
    UPLOAD_MAX_BYTES,
    Protection,
    check_options,
)

SPEECH = {"model": "tts-1", "input": "Hello there.", "voice": "alloy", "response_format": "wav"}
SAMPLE = Path(__file__).parents[2] / "src" / "cosyvoice_clone" / "data" / "reference_en.wav"


def openai_error(answer: httpx.Response, status: int, code: str) -> str:
    """Assert OpenAI's error shape with ``status`` and ``code``; return the one-line message."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    message = str(error["message"])
    assert message and "\n" not in message and "Traceback" not in message
    return message


def host_of(server: Any) -> str:
    return root(server).removeprefix("http://")


# --------------------------------------------------------------------------- Host


ROUTES = [
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/v1/models"),
    ("GET", "/v1/audio/voices"),
    ("POST", "/v1/audio/speech"),
    ("GET", "/studio/api/voices"),
    ("GET", "/studio/api/config"),
    ("GET", "/studio/static/api.js"),
    ("POST", "/studio/api/designs"),
    ("DELETE", "/studio/api/voices/myvoice"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_foreign_host_is_refused_on_every_route(
    protected: Any, voice: str, cosyvoice_emulator: RunningEmulator, method: str, path: str
) -> None:
    server = protected()
    before = emulator_state(cosyvoice_emulator)
    port = server.port
    answer = httpx.request(
        method,
        root(server) + path,
        headers={"Host": f"rebind.test:{port}"},
        json=SPEECH if method == "POST" else None,
    )
    message = openai_error(answer, 421, "host_not_allowed")
    assert "--allowed-host rebind.test" in message
    assert voice not in answer.text
    assert emulator_state(cosyvoice_emulator) == before


def test_loopback_hosts_are_answered(protected: Any) -> None:
    server = protected()
    for host in (
        f"localhost:{server.port}",
        f"127.0.0.1:{server.port}",
        "127.0.0.1",
        f"[::1]:{server.port}",
        f"127.0.0.2:{server.port}",
        "LOCALHOST",
    ):
        answer = httpx.get(root(server) + "/v1/models", headers={"Host": host})
        assert answer.status_code == 200, (host, answer.text)
    for host in ("localhost.evil.test", "127.0.0.1.nip.io", "", "10.0.0.1", "x:y"):
        answer = httpx.get(root(server) + "/v1/models", headers={"Host": host})
        assert answer.status_code == 421, host


def test_allowed_host_behind_a_reverse_proxy(
    protected: Any, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    """A proxy at https://speech.example.org forwarding with its own Host (and the page it
    serves calling the API with that origin)."""
    server = protected(allowed_hosts=("speech.example.org",))
    proxied = {"Host": "speech.example.org"}
    assert httpx.get(root(server) + "/v1/models", headers=proxied).status_code == 200
    page = httpx.get(root(server) + "/", headers=proxied)
    assert page.status_code == 200 and "cosyvoice-studio-token" in page.text
    # a proxy that rewrites Host to the upstream: the page's Origin is still the proxy's name
    answer = httpx.post(
        root(server) + "/studio/api/speech",
        headers={"Origin": "https://speech.example.org", "X-Studio-Token": token(server)},
        json={"voice": "myvoice", "text": "Hello.", "format": "wav"},
    )
    assert answer.status_code == 200, answer.text
    audio = httpx.get(root(server) + answer.json()["audio_url"], headers=proxied)
    data, rate = sf.read(io.BytesIO(audio.content))
    assert rate > 0 and len(data) > 0
    other = httpx.get(root(server) + "/v1/models", headers={"Host": "other.example.org"})
    openai_error(other, 421, "host_not_allowed")


def test_any_host_only_with_a_key(protected: Any, voice: str) -> None:
    with pytest.raises(InvalidRequestError, match="--api-key"):
        check_options(allowed_hosts=["*"])
    hosts, _ = check_options(allowed_hosts=["*"], api_keys=["k-123456"])
    server = protected(allowed_hosts=hosts, api_keys=("k-123456",))
    anywhere = {"Host": "whatever.example"}
    refused = httpx.get(root(server) + "/v1/audio/voices", headers=anywhere)
    openai_error(refused, 401, "invalid_api_key")
    allowed = httpx.get(
        root(server) + "/v1/audio/voices", headers={**anywhere, "Authorization": "Bearer k-123456"}
    )
    assert allowed.status_code == 200 and voice in allowed.text


# --------------------------------------------------------------------------- Origin


def attacks(voice: str) -> list[tuple[str, str, dict[str, Any]]]:
    """What a page could try: the state-changing and state-reading calls, in every shape a
    cross-site page can send them."""
    text_plain = {"headers": {"Content-Type": "text/plain"}, "content": json.dumps(SPEECH)}
    design = {"prompt": "a warm voice", "prefix": "evil", "preview_text": "hello"}
    return [
        ("POST", "/v1/audio/speech", {"json": SPEECH}),
        ("POST", "/v1/audio/speech", text_plain),
        ("POST", "/studio/api/designs", {"json": design}),
        (
            "POST",
            "/studio/api/designs",
            {"headers": {"Content-Type": "text/plain"}, "content": json.dumps(design)},
        ),
        ("POST", "/studio/api/clones", {"json": {"sample_id": "x", "prefix": "evil"}}),
        ("POST", "/studio/api/samples", {"files": {"file": ("a.wav", SAMPLE.read_bytes())}}),
        ("POST", "/studio/api/samples", {"content": SAMPLE.read_bytes()}),
        ("POST", "/studio/api/speech", {"json": {"voice": "myvoice", "text": "hi"}}),
        ("DELETE", f"/studio/api/voices/{voice}", {}),
        ("GET", "/studio/api/voices", {}),
        ("GET", "/v1/audio/voices", {}),
    ]


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1", "null"])
def test_a_foreign_origin_is_refused_before_any_work(
    protected: Any, voice: str, cosyvoice_emulator: RunningEmulator, origin: str, home: Path
) -> None:
    server = protected()
    before = emulator_state(cosyvoice_emulator)
    samples = home / "studio" / "samples"
    with httpx.Client(base_url=root(server), headers={"Origin": origin}) as http:
        for method, path, options in attacks(voice):
            # even with the page's token (as a page that somehow had it would send it)
            headers = {**options.pop("headers", {}), "X-Studio-Token": token(server)}
            answer = http.request(method, path, headers=headers, **options)
            message = openai_error(answer, 403, "origin_not_allowed")
            assert "--cors-origin" in message, message
            assert voice not in answer.text and "access-control-allow-origin" not in answer.headers
    time.sleep(0.3)  # anything started in the background would show by now
    assert emulator_state(cosyvoice_emulator) == before
    assert not samples.exists() or not any(samples.iterdir())
    listed = httpx.get(root(server) + "/studio/api/voices").json()["voices"]
    assert [v["voice_id"] for v in listed] == [voice]


def test_the_servers_own_origin_is_answered(protected: Any, voice: str) -> None:
    server = protected()
    answer = httpx.post(
        root(server) + "/studio/api/speech",
        headers={"Origin": root(server), "X-Studio-Token": token(server)},
        json={"voice": "myvoice", "text": "Hello.", "format": "wav"},
    )
    assert answer.status_code == 200, answer.text
    localhost = f"http://localhost:{server.port}"
    ok = httpx.get(
        root(server) + "/studio/api/voices",
        headers={"Origin": localhost, "Host": f"localhost:{server.port}"},
    )
    assert ok.status_code == 200 and voice in ok.text


def test_cors_origin_answers_preflights_and_calls(
    protected: Any, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    _, origins = check_options(cors_origins=["http://LOCALHOST:3000/"])
    assert origins == ("http://localhost:3000",)
    server = protected(cors_origins=origins)
    preflight = httpx.options(
        root(server) + "/v1/audio/speech",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"]
    spoken = httpx.post(
        root(server) + "/v1/audio/speech", json=SPEECH, headers={"Origin": "http://localhost:3000"}
    )
    assert spoken.status_code == 200, spoken.text
    assert spoken.headers["access-control-allow-origin"] == "http://localhost:3000"
    data, _ = sf.read(io.BytesIO(spoken.content))
    assert len(data) > 0
    page = httpx.get(root(server) + "/", headers={"Origin": "http://localhost:3000"})
    assert "access-control-allow-origin" not in page.headers  # the token stays unreadable
    before = emulator_state(cosyvoice_emulator)
    evil = httpx.options(
        root(server) + "/v1/audio/speech",
        headers={"Origin": "http://localhost:3001", "Access-Control-Request-Method": "POST"},
    )
    openai_error(evil, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in evil.headers
    assert emulator_state(cosyvoice_emulator) == before
    for bad in ("localhost:3000", "http://x/path", "ftp://x", "http://"):
        with pytest.raises(InvalidRequestError, match="--cors-origin"):
            check_options(cors_origins=[bad])


# --------------------------------------------------------------------------- the studio token


def test_studio_calls_need_the_pages_token(protected: Any, voice: str) -> None:
    server = protected()
    order = {"voice": "myvoice", "text": "Hello.", "format": "wav"}
    url = root(server) + "/studio/api/speech"
    for headers in ({}, {"X-Studio-Token": "guess"}, {"X-Studio-Token": ""}):
        openai_error(httpx.post(url, json=order, headers=headers), 403, "studio_token_required")
    refused = httpx.delete(f"{root(server)}/studio/api/voices/{voice}")
    openai_error(refused, 403, "studio_token_required")
    assert httpx.post(url, json=order, headers={"X-Studio-Token": token(server)}).status_code == 200
    page = httpx.get(root(server) + "/")
    assert page.headers["cache-control"] == "no-store"
    other = protected()  # a new launch, a new token
    assert token(other) != token(server)


def test_with_a_server_key_the_key_stands_for_the_token(protected: Any, voice: str) -> None:
    server = protected(api_keys=("srv-key-1",))
    order = {"voice": "myvoice", "text": "Hello.", "format": "wav"}
    url = root(server) + "/studio/api/speech"
    openai_error(httpx.post(url, json=order), 401, "invalid_api_key")
    keyed = httpx.post(url, json=order, headers={"Authorization": "Bearer srv-key-1"})
    assert keyed.status_code == 200, keyed.text


# --------------------------------------------------------------------------- content types


def test_json_endpoints_take_json_only(
    protected: Any, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    server = protected()
    studio = {"X-Studio-Token": token(server)}
    before = emulator_state(cosyvoice_emulator)
    body = json.dumps(SPEECH)
    for ctype in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; b=x",
        None,
    ):
        headers = {"Content-Type": ctype} if ctype else {}
        answer = httpx.post(root(server) + "/v1/audio/speech", content=body, headers=headers)
        assert "application/json" in openai_error(answer, 415, "unsupported_media_type")
        design = httpx.post(
            root(server) + "/studio/api/designs",
            headers={**headers, **studio},
            content=json.dumps({"prompt": "a voice", "prefix": "x"}),
        )
        openai_error(design, 415, "unsupported_media_type")
    assert emulator_state(cosyvoice_emulator) == before
    ok = httpx.post(
        root(server) + "/v1/audio/speech",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 200, ok.text


def test_uploads_are_raw_audio_within_the_cap(protected: Any, home: Path) -> None:
    server = protected()
    studio = {"X-Studio-Token": token(server)}
    url = root(server) + "/studio/api/samples?name=a.wav"
    form = httpx.post(url, headers=studio, files={"file": ("a.wav", SAMPLE.read_bytes())})
    assert "raw audio" in openai_error(form, 415, "unsupported_media_type")
    plain = httpx.post(url, headers={**studio, "Content-Type": "text/plain"}, content=b"RIFF")
    openai_error(plain, 415, "unsupported_media_type")
    big = b"\0" * (UPLOAD_MAX_BYTES + 1)
    declared = httpx.post(url, headers={**studio, "Content-Type": "audio/wav"}, content=big)
    assert "10 MiB" in openai_error(declared, 413, "sample_too_large")

    def chunks() -> Any:
        for _ in range(UPLOAD_MAX_BYTES // 2**20 + 2):
            yield b"\0" * 2**20

    streamed = httpx.post(url, headers={**studio, "Content-Type": "audio/wav"}, content=chunks())
    openai_error(streamed, 413, "sample_too_large")
    samples = home / "studio" / "samples"
    assert not samples.exists() or not any(samples.iterdir())
    ok = httpx.post(
        url, headers={**studio, "Content-Type": "audio/wav"}, content=SAMPLE.read_bytes()
    )
    assert ok.status_code == 201, ok.text


# --------------------------------------------------------------------------- limits


def test_input_length_limit(
    protected: Any, voice: str, cosyvoice_emulator: RunningEmulator
) -> None:
    assert 4096 * 4 < DEFAULT_MAX_INPUT_CHARS < 200_000
    assert Protection().max_input_chars == DEFAULT_MAX_INPUT_CHARS
    server = protected(max_input_chars=120)
    before = emulator_state(cosyvoice_emulator)
    long = {**SPEECH, "input": "Hello there. " * 10}  # 130 characters
    answer = httpx.post(root(server) + "/v1/audio/speech", json=long)
    message = openai_error(answer, 413, "input_too_long")
    assert "130 characters" in message and "--max-input-chars" in message
    assert answer.json()["error"]["param"] == "input"
    studio = httpx.post(
        root(server) + "/studio/api/speech",
        headers={"X-Studio-Token": token(server)},
        json={"voice": "myvoice", "text": "x" * 121},
    )
    openai_error(studio, 413, "input_too_long")
    assert emulator_state(cosyvoice_emulator) == before
    ok = httpx.post(root(server) + "/v1/audio/speech", json={**SPEECH, "input": "Hi. " * 30})
    assert ok.status_code == 200, ok.text
    default = protected()
    over = {**SPEECH, "input": "a" * (DEFAULT_MAX_INPUT_CHARS + 1)}
    openai_error(httpx.post(root(default) + "/v1/audio/speech", json=over), 413, "input_too_long")
    with pytest.raises(InvalidRequestError, match="--max-input-chars"):
        check_options(max_input_chars=0)
    with pytest.raises(InvalidRequestError, match="--max-input-chars"):
        check_options(max_input_chars=200_001)


def test_body_size_limit(protected: Any, voice: str, cosyvoice_emulator: RunningEmulator) -> None:
    server = protected()
    limit = server.protection.body_limit
    before = emulator_state(cosyvoice_emulator)
    padded = json.dumps({**SPEECH, "pad": "x" * limit}).encode()
    declared = httpx.post(
        root(server) + "/v1/audio/speech",
        content=padded,
        headers={"Content-Type": "application/json"},
    )
    assert "KiB" in openai_error(declared, 413, "request_too_large")

    def chunks() -> Any:
        for start in range(0, len(padded), 65536):
            yield padded[start : start + 65536]

    streamed = httpx.post(
        root(server) + "/v1/audio/speech",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    openai_error(streamed, 413, "request_too_large")
    assert emulator_state(cosyvoice_emulator) == before


def test_nested_json_is_400_never_500(
    protected: Any, voice: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = protected()
    studio = {"X-Studio-Token": token(server), "Content-Type": "application/json"}
    deep = b"[" * 200_000 + b"]" * 200_000
    nested_input = json.dumps({**SPEECH, "voice": {"id": "alloy"}}).encode()
    for path, body in (
        ("/v1/audio/speech", deep),
        ("/studio/api/clones", deep),
        ("/studio/api/designs", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ):
        answer = httpx.post(root(server) + path, content=body, headers=studio)
        assert str(MAX_JSON_DEPTH) in openai_error(answer, 400, "invalid_json")
    # brackets inside strings do not count; ordinary nesting is fine
    strings = json.dumps({**SPEECH, "input": "[[[[" * 100 + " hello"}).encode()
    assert (
        httpx.post(root(server) + "/v1/audio/speech", content=strings, headers=studio).status_code
        == 200
    )
    assert (
        httpx.post(
            root(server) + "/v1/audio/speech", content=nested_input, headers=studio
        ).status_code
        == 200
    )
    assert "RecursionError" not in caplog.text


# --------------------------------------------------------------------------- legitimate clients


def test_the_openai_package_and_curl_keep_working(protected: Any, voice: str) -> None:
    server = protected()
    with openai_client(server) as client:
        audio = client.audio.speech.create(
            model="tts-1", voice="alloy", input="Hello.", response_format="wav"
        )
        data, _ = sf.read(io.BytesIO(audio.content))
        assert len(data) > 0
        assert any(v.id == "tts-1" for v in client.models.list())
    curl = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail-with-body",
            "-o",
            "-",
            f"{server.base_url}/audio/speech",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps(SPEECH),
        ],
        capture_output=True,
        timeout=60,
    )
    assert curl.returncode == 0, curl.stderr
    data, _ = sf.read(io.BytesIO(curl.stdout))
    assert len(data) > 0


def test_another_machine_with_a_key(protected: Any, voice: str) -> None:
    """A wildcard bind with --api-key: any IP address of this machine is its own Host."""
    server = protected(host="0.0.0.0", api_keys=("remote-key-1",))
    with openai_client(server, key="remote-key-1") as client:
        audio = client.audio.speech.create(
            model="tts-1", voice="alloy", input="Hi.", response_format="wav"
        )
        assert len(audio.content) > 44
    by_ip = httpx.get(
        root(server) + "/v1/models",
        headers={"Host": f"192.0.2.10:{server.port}", "Authorization": "Bearer remote-key-1"},
    )
    assert by_ip.status_code == 200
    by_name = httpx.get(root(server) + "/v1/models", headers={"Host": "evil.example"})
    openai_error(by_name, 421, "host_not_allowed")


# --------------------------------------------------------------------------- the emulator


def test_emulator_checks_host_and_origin(cosyvoice_emulator: RunningEmulator) -> None:
    import websockets.sync.client as ws_client
    from websockets.exceptions import InvalidStatus

    before = emulator_state(cosyvoice_emulator)
    url = f"{cosyvoice_emulator.http_base}/services/audio/tts/customization"
    auth = {"Authorization": f"Bearer {cosyvoice_emulator.api_key}"}
    envelope = {"model": "voice-enrollment", "input": {"action": "list_voice"}}
    rebound = httpx.post(url, json=envelope, headers={**auth, "Host": "rebind.test"})
    assert rebound.status_code == 421
    assert set(rebound.json()) == {"request_id", "code", "message"}
    foreign = httpx.post(url, json=envelope, headers={**auth, "Origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["code"] == "AccessDenied"
    with pytest.raises(InvalidStatus) as refused:
        ws_client.connect(
            cosyvoice_emulator.websocket_url,
            additional_headers={**auth, "Origin": "http://evil.example"},
        )
    assert refused.value.response.status_code == 403
    assert emulator_state(cosyvoice_emulator) == before
    assert httpx.post(url, json=envelope, headers=auth).status_code == 200


# --------------------------------------------------------------------------- the CLI


def test_serve_options_are_checked(cli: Any) -> None:
    for args, needle in (
        (["--allowed-host", "*"], "--api-key"),
        (["--allowed-host", "http://x/"], "--allowed-host"),
        (["--cors-origin", "localhost:3000"], "--cors-origin"),
        (["--max-input-chars", "0"], "--max-input-chars"),
        (["--api-key", "two words"], "--api-key"),
    ):
        result = cli("--emulator", "serve", "--port", "0", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert needle in result.stderr and "Traceback" not in result.stderr
        assert "two words" not in result.stderr


def test_serve_says_which_protections_are_on(tmp_path: Path) -> None:
    env = {**os.environ, "COSYVOICE_CLONE_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cosyvoice_clone",
            "--emulator",
            "serve",
            "--port",
            "0",
            "--allowed-host",
            "speech.example.org",
            "--cors-origin",
            "http://localhost:3000",
            "--max-input-chars",
            "9000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        base = proc.stdout.readline().strip().removeprefix("OPENAI_BASE_URL=")
        lines = [proc.stderr.readline() for _ in range(2)]
        line = next(x for x in lines if x.startswith("protections:"))
        for needle in (
            "Host checked",
            "speech.example.org",
            "foreign Origins refused",
            "http://localhost:3000",
            "studio token on",
            "9,000 chars",
        ):
            assert needle in line, line
        refused = httpx.get(f"{base}/models", headers={"Host": "evil.example"})
        assert refused.status_code == 421
        assert httpx.get(f"{base}/models", headers={"Host": "speech.example.org"}).is_success
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_emulator_serve_says_it_checks_host_and_origin(tmp_path: Path) -> None:
    env = {**os.environ, "COSYVOICE_CLONE_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosyvoice_clone", "emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(6)]
        base = lines[0].split(" on ", 1)[1].strip()
        line = next(x for x in lines if "Protections:" in x)
        assert "Host checked" in line and "foreign Origins refused" in line
        deadline = time.monotonic() + 20
        while True:
            try:
                refused = httpx.get(f"{base}/_emulator/health", headers={"Host": "evil.example"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert refused.status_code == 421 and refused.json()["code"] == "InvalidHost"
        assert httpx.get(f"{base}/_emulator/health").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
