"""Bad input never hurts the emulator: each gets the documented error, and the next request
still works."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_helpers import action, enroll
from starlette.testclient import TestClient

from cosyvoice_clone.emulator.app import create_app
from cosyvoice_clone.emulator.backend import Backend
from cosyvoice_clone.emulator.server import RunningEmulator


def assert_still_serving(emulator: RunningEmulator) -> None:
    response = action(emulator, "list_voice")
    assert response.status_code == 200, response.text
    assert response.json()["output"] == {"voice_list": []}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message"] and len(body["request_id"]) == 36
    return body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage\x00", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b'"just a string"', "JSON object"),
        (b'{"input": {"action": "list_voice"}}', "url error, please check url!"),
        (b'{"model": "cosyvoice-v2", "input": {"action": "list_voice"}}', "url error"),
        (b'{"model": "voice-enrollment"}', "input"),
        (b'{"model": "voice-enrollment", "input": []}', "input"),
        (b'{"model": "voice-enrollment", "input": {}}', "action"),
        (b'{"model": "voice-enrollment", "input": {"action": 7}}', "action"),
        (b'{"model": "voice-enrollment", "input": {"action": "clone_it"}}', "Unsupported action"),
        (
            b'{"model": "voice-enrollment", "input": {"action": "list_voice"}, "parameters": 5}',
            "parameters",
        ),
    ],
)
def test_malformed_envelopes(
    cosyvoice_emulator: RunningEmulator, content: bytes, message: str
) -> None:
    body = assert_error(enroll(cosyvoice_emulator, content=content), 400, "InvalidParameter")
    assert message in body["message"]
    assert_still_serving(cosyvoice_emulator)


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("create_voice", {"prefix": "a", "url": "http://127.0.0.1:9/x.wav"}),
        ("create_voice", {"target_model": "cosyvoice-v2", "url": "http://127.0.0.1:9/x.wav"}),
        ("create_voice", {"target_model": "cosyvoice-v2", "prefix": "a"}),
        ("create_voice", {"target_model": "cosyvoice-v2", "prefix": "elevenchars"}),
        ("create_voice", {"target_model": "cosyvoice-v2", "prefix": "a", "url": "ftp://x/y"}),
        ("create_voice", {"target_model": ["x"], "prefix": "a", "url": "http://x/y.wav"}),
        (
            "create_voice",
            {
                "target_model": "cosyvoice-v3.5-plus",
                "prefix": "a",
                "url": "http://x/y.wav",
                "language_hints": "en",
            },
        ),
        (
            "create_voice",
            {
                "target_model": "cosyvoice-v3.5-plus",
                "prefix": "a",
                "url": "http://x/y.wav",
                "enable_preprocess": "yes",
            },
        ),
        ("query_voice", {}),
        ("query_voice", {"voice_id": 12}),
        ("update_voice", {"url": "http://x/y.wav"}),
        ("delete_voice", {}),
        ("list_voice", {"page_size": 0}),
        ("list_voice", {"page_size": "ten"}),
        ("list_voice", {"page_index": -1}),
        ("list_voice", {"prefix": 3}),
    ],
)
def test_missing_and_wrong_fields(
    cosyvoice_emulator: RunningEmulator, name: str, fields: dict[str, Any]
) -> None:
    assert_error(action(cosyvoice_emulator, name, **fields), 400, "InvalidParameter")
    assert_still_serving(cosyvoice_emulator)


def test_both_body_forms(cosyvoice_emulator: RunningEmulator) -> None:
    url = cosyvoice_emulator.sample_url()
    create = {
        "action": "create_voice",
        "target_model": "cosyvoice-v2",
        "prefix": "form",
        "url": url,
    }
    with_parameters = enroll(
        cosyvoice_emulator, {"model": "voice-enrollment", "input": create, "parameters": {}}
    )
    without = enroll(cosyvoice_emulator, {"model": "voice-enrollment", "input": create})
    for response in (with_parameters, without):
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"output", "usage", "request_id"}
        assert body["usage"] == {"count": 1}
    listed = action(cosyvoice_emulator, "list_voice", prefix="form").json()["output"]["voice_list"]
    assert len(listed) == 2


def test_unknown_ids_on_query_update_delete(cosyvoice_emulator: RunningEmulator) -> None:
    unknown = "cosyvoice-v2-ghost-" + "a" * 32
    for name, fields in (
        ("query_voice", {}),
        ("delete_voice", {}),
        ("update_voice", {"url": cosyvoice_emulator.sample_url()}),
    ):
        body = assert_error(
            action(cosyvoice_emulator, name, voice_id=unknown, **fields),
            400,
            "BadRequest.ResourceNotExist",
        )
        assert body["message"] == "The Required resource not exist."


def test_oversized_body(cosyvoice_emulator: RunningEmulator) -> None:
    big = b'{"model": "voice-enrollment", "input": {"action": "list_voice", "pad": "'
    big += b"x" * (15 * 1024 * 1024) + b'"}}'
    assert_error(enroll(cosyvoice_emulator, content=big), 413, "RequestTooLarge")

    def chunks() -> Any:  # no content-length: the cap must hold while streaming
        for _ in range(15 * 16):
            yield b"y" * 65536

    response = httpx.post(
        cosyvoice_emulator.http_base + "/services/audio/tts/customization",
        content=chunks(),
        headers={"Authorization": f"Bearer {cosyvoice_emulator.api_key}"},
    )
    assert_error(response, 413, "RequestTooLarge")
    assert_still_serving(cosyvoice_emulator)


def test_early_disconnects(cosyvoice_emulator: RunningEmulator) -> None:
    host, port = "127.0.0.1", cosyvoice_emulator.port
    path = "/api/v1/services/audio/tts/customization"
    for partial in (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n",  # headers cut off
        (
            b"POST "
            + path.encode()
            + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + cosyvoice_emulator.api_key.encode()
            + b'\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"model"'
        ),  # body cut off
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS hello, not HTTP
        b"GARBAGE\r\n\r\n",
    ):
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(partial)
        assert_still_serving(cosyvoice_emulator)


def test_auth(cosyvoice_emulator: RunningEmulator) -> None:
    payload = {"model": "voice-enrollment", "input": {"action": "list_voice"}}
    body = assert_error(enroll(cosyvoice_emulator, payload, key=None), 401, "InvalidApiKey")
    assert body["message"] == "No API-key provided."
    body = assert_error(enroll(cosyvoice_emulator, payload, key="sk-wrong"), 401, "InvalidApiKey")
    assert body["message"] == "Invalid API-key provided."
    response = enroll(cosyvoice_emulator, payload, headers={"Authorization": "Basic abc"}, key=None)
    assert_error(response, 401, "InvalidApiKey")
    lower = enroll(
        cosyvoice_emulator,
        payload,
        key=None,
        headers={"Authorization": f"bearer {cosyvoice_emulator.api_key}"},
    )
    assert lower.status_code == 200
    policy = httpx.get(
        cosyvoice_emulator.http_base + "/uploads",
        params={"action": "getPolicy", "model": "voice-enrollment"},
    )
    assert_error(policy, 401, "InvalidApiKey")

    cosyvoice_emulator.configure(api_keys=["second-key"])
    assert_error(enroll(cosyvoice_emulator, payload), 401, "InvalidApiKey")
    assert enroll(cosyvoice_emulator, payload, key="second-key").status_code == 200


def test_bad_uploads(cosyvoice_emulator: RunningEmulator) -> None:
    auth = {"Authorization": f"Bearer {cosyvoice_emulator.api_key}"}
    policy_url = cosyvoice_emulator.http_base + "/uploads"
    assert_error(
        httpx.get(policy_url, params={"action": "nope"}, headers=auth), 400, "InvalidParameter"
    )
    assert_error(
        httpx.get(policy_url, params={"action": "getPolicy"}, headers=auth), 400, "InvalidParameter"
    )
    data = httpx.get(policy_url, params={"action": "getPolicy", "model": "m"}, headers=auth)
    policy = data.json()["data"]
    form = {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": policy["upload_dir"] + "/a.wav",
        "x-oss-forbid-overwrite": "true",
        "success_action_status": "200",
    }
    host = policy["upload_host"]
    forged = httpx.post(host, data={**form, "Signature": "AAAA"}, files={"file": ("a", b"1")})
    assert forged.status_code == 403 and b"SignatureDoesNotMatch" in forged.content
    outside = httpx.post(host, data={**form, "key": "elsewhere/a.wav"}, files={"file": ("a", b"1")})
    assert outside.status_code == 403 and b"AccessDenied" in outside.content
    no_file = httpx.post(host, data=form)
    assert no_file.status_code == 400
    garbage = httpx.post(host, content=b"\x00\x01", headers={"Content-Type": "text/plain"})
    assert garbage.status_code == 400
    assert httpx.post(host, data=form, files={"file": ("a", b"1")}).status_code == 200
    again = httpx.post(host, data=form, files={"file": ("a", b"2")})
    assert again.status_code == 409 and b"FileAlreadyExists" in again.content
    assert httpx.get(f"{host}/{form['key']}").status_code == 403  # a private bucket
    assert httpx.get(f"{host}/{form['key']}?Signature=abc").status_code == 403
    stored = httpx.get(f"{host}/{form['key']}", headers=auth)
    assert stored.content == b"1"
    assert_still_serving(cosyvoice_emulator)


def test_admin_answers_loopback_only() -> None:
    backend = Backend()
    try:
        remote = TestClient(create_app(backend), client=("203.0.113.9", 4000),
                            base_url="http://127.0.0.1:8080")  # fmt: skip
        assert remote.get("/_emulator/state").status_code == 403
        assert remote.post("/_emulator/config", json={"rtf": 1}).status_code == 403
        local = TestClient(create_app(backend), client=("127.0.0.1", 4000),
                           base_url="http://127.0.0.1:8080")  # fmt: skip
        assert local.get("/_emulator/state").status_code == 200
    finally:
        backend.close()


def test_admin_config_and_reset(cosyvoice_emulator: RunningEmulator) -> None:
    admin = cosyvoice_emulator.admin_url
    changed = httpx.post(
        f"{admin}/config", json={"faults": "http503=0.25", "deploy_delay": 2, "rtf": 0.5}
    ).json()
    assert changed["faults"] == {"http503": 0.25} and changed["deploy_delay"] == 2.0
    assert changed["api_keys"] == 1  # counted, never shown
    assert cosyvoice_emulator.backend.config.rtf == 0.5
    for bad in ({"faults": "boom=1"}, {"deploy_delay": -1}, {"nope": 1}, {"quota": "many"}):
        response = httpx.post(f"{admin}/config", json=bad)
        assert response.status_code == 400 and response.json()["message"]
    assert httpx.post(f"{admin}/config", content=b"{oops").status_code == 400
    assert cosyvoice_emulator.backend.config.faults == {"http503": 0.25}  # unchanged by errors

    action(
        cosyvoice_emulator,
        "create_voice",
        target_model="cosyvoice-v2",
        prefix="r",
        url=cosyvoice_emulator.sample_url(),
    )
    state = httpx.get(f"{admin}/state").json()
    assert state["voices"] in (0, 1)  # the 503 fault may have fired
    assert httpx.post(f"{admin}/reset").json() == {"ok": True}
    state = httpx.get(f"{admin}/state").json()
    assert state["voices"] == 0 and state["config"]["faults"] == {}


def test_migrations_run_on_open_from_a_blank_file(tmp_path: Path) -> None:
    import sqlite3

    from cosyvoice_clone.emulator.backend import Backend
    from cosyvoice_clone.emulator.store import MIGRATIONS

    path = tmp_path / "state.sqlite3"
    Backend(state_path=path).close()
    Backend(state_path=path).close()  # a second open finds nothing left to do
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"voices", "uploads", "meta"} <= tables
