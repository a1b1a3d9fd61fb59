"""The HTTP transport and the create/reconcile flow against scripted and emulated services."""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cosyvoice_clone.client import AsyncCosyVoice, AsyncVoices, CosyVoice, Voices
from cosyvoice_clone.enrollment import VoiceInfo, _in_window
from cosyvoice_clone.errors import ServerError, TimeoutError, TransportError
from cosyvoice_clone.http import Call, HttpClient, RetryPolicy, _HttpCore

KEY = "sk-FAKE-transport-0123456789-abcdef"
FAST = RetryPolicy(max_attempts=4, initial_delay=0.01, max_delay=0.05)


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def test_every_httpx_exception_becomes_ours() -> None:
    core = _HttpCore("http://x.test/api/v1", KEY)
    call = Call("POST", "services/audio/tts/customization", label="create_voice")
    request = httpx.Request("POST", "http://x.test/api/v1/services/audio/tts/customization")
    classes = [httpx.HTTPError, *_all_subclasses(httpx.HTTPError)]
    assert len(classes) > 15
    for cls in classes:
        if issubclass(cls, httpx.HTTPStatusError):
            response = httpx.Response(500, request=request)
            exc = cls(f"boom {KEY}", request=request, response=response)
        else:
            try:
                exc = cls(f"boom {KEY}", request=request)
            except TypeError:
                exc = cls(f"boom {KEY}")
        failure = core.from_exception(call, exc)
        assert isinstance(failure.error, TransportError), cls
        assert KEY not in str(failure.error)
        if issubclass(cls, httpx.TimeoutException):
            assert isinstance(failure.error, TimeoutError) and failure.error.exit_code == 5
        else:
            assert failure.error.exit_code in (5, 6)
    # Refused connections are safe to retry; a connection lost after sending is ambiguous.
    assert not core.from_exception(call, httpx.ConnectError("x")).ambiguous
    assert core.from_exception(call, httpx.RemoteProtocolError("x")).ambiguous
    assert core.from_exception(call, httpx.ReadTimeout("x")).ambiguous


class Script:
    """A scripted DashScope: answers in order, records what was sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def actions(self) -> list[str]:
        out = []
        for r in self.sent:
            is_json = r.headers.get("content-type", "").startswith("application/json")
            body = json.loads(r.content) if r.content and is_json else {}
            out.append(body.get("input", {}).get("action") or f"{r.method} {r.url.path}")
        return out


def ok(output: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        200, json={"output": output, "usage": {"count": 1}, "request_id": "r"}, headers=headers
    )


def err(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"request_id": "e", "code": code, "message": code}, headers=headers
    )


def _client(script: Script, tmp: Path, **kw: Any) -> CosyVoice:
    return CosyVoice(
        api_key=KEY,
        http_base="http://dashscope.test/api/v1",
        home=tmp / "home",
        output_dir=tmp / "out",
        workspace="ws-1",
        transport=httpx.MockTransport(script),
        retry=kw.pop("retry", FAST),
        rate_limit=kw.pop("rate_limit", None),
        **kw,
    )


def test_retry_after_is_honoured_and_headers_are_sdk_like(tmp_path: Path) -> None:
    script = Script(
        err(429, "Throttling.RateQuota", {"Retry-After": "0.3"}), ok({"voice_list": []})
    )
    with _client(script, tmp_path) as client:
        started = time.monotonic()
        assert client.voices.list() == []
        elapsed = time.monotonic() - started
        assert client.http_stats.retries == 1
    assert elapsed >= 0.3
    sent = script.sent[-1]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["accept"].startswith("application/json")
    assert sent.headers["x-dashscope-workspace"] == "ws-1"
    assert sent.headers["x-dashscope-sdk-client"].startswith("cosyvoice-clone/")
    assert "cosyvoice-clone" in sent.headers["user-agent"]
    assert json.loads(sent.content) == {
        "model": "voice-enrollment",
        "input": {"action": "list_voice", "page_index": 0, "page_size": 100},
    }


def test_ambiguous_503_reconciles_then_creates_once(tmp_path: Path) -> None:
    vid = "cosyvoice-v2-amb-0123456789abcdef0123456789abcdef"
    script = Script(
        err(503, "ServiceUnavailable"),  # create: did it happen?
        ok({"voice_list": []}),  # reconcile: no, nothing was created
        ok({"voice_id": vid}),  # create again
    )
    with _client(script, tmp_path) as client:
        result = client.clone(
            prefix="amb", sample="https://example.test/a.wav", target_model="cosyvoice-v2"
        )
        assert client.enrollment_stats.reconciliations == 1
    assert result.voice_id == vid and not result.adopted and result.attempts == 2
    assert script.actions() == ["create_voice", "list_voice", "create_voice"]


def test_dropped_create_adopts_the_voice_it_made_not_a_stranger(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    beijing = timezone(timedelta(hours=8))
    now = datetime.now(beijing).strftime("%Y-%m-%d %H:%M:%S")
    old = (datetime.now(beijing) - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    mine = "cosyvoice-v2-drop-" + "a" * 32
    stranger_same_time = "cosyvoice-v2-drop-" + "b" * 32  # someone else's sample
    older = "cosyvoice-v2-drop-" + "c" * 32
    url = "https://example.test/mine.wav"

    def item(vid: str, when: str) -> dict[str, str]:
        return {"voice_id": vid, "gmt_create": when, "gmt_modified": when, "status": "DEPLOYING"}

    def query(link: str) -> httpx.Response:
        return ok(
            {
                "status": "DEPLOYING",
                "gmt_create": now,
                "gmt_modified": now,
                "target_model": "cosyvoice-v2",
                "resource_link": link,
            }
        )

    script = Script(
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        ok({"voice_list": [item(stranger_same_time, now), item(mine, now), item(older, old)]}),
        query("https://example.test/theirs.wav"),
        query(url),
    )
    with _client(script, tmp_path) as client:
        result = client.clone(prefix="drop", sample=url, target_model="cosyvoice-v2")
        record = client.registry.get(mine)
    assert result.voice_id == mine and result.adopted
    assert script.actions() == ["create_voice", "list_voice", "query_voice", "query_voice"]
    assert record is not None and record.origin == "adopted"


def test_reconcile_window_tolerates_zone_and_skew() -> None:
    now = time.time()
    beijing_now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now + 8 * 3600))
    utc_now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))  # a service in UTC
    long_ago = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 86400 * 2))
    a = VoiceInfo("a", gmt_create=beijing_now)
    b = VoiceInfo("b", gmt_create=utc_now)
    c = VoiceInfo("c", gmt_create=long_ago)
    assert [v.voice_id for v in _in_window([a, c], now - 5, now + 5)] == ["a"]
    assert [v.voice_id for v in _in_window([b, c], now - 5, now + 5)] == ["b"]
    assert _in_window([c], now - 5, now + 5) == []


def test_unreachable_service_is_exit_6_after_bounded_attempts(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpClient(f"http://127.0.0.1:{port}/api/v1", KEY, retry=FAST)
    with pytest.raises(TransportError) as info:
        client.request(Call("POST", "services/audio/tts/customization", json={}, label="x"))
    client.close()
    # Nothing listens: a couple of quick retries (3 attempts), not the whole policy.
    assert info.value.exit_code == 6 and "3 attempts" in str(info.value)
    assert client.stats.attempts == 3


def test_drop_after_commit_on_the_emulator_is_adopted(
    cosyvoice_emulator: Any, tmp_path: Path
) -> None:
    cosyvoice_emulator.set_faults(drop_after_commit=1.0)
    with CosyVoice(
        api_key=cosyvoice_emulator.api_key,
        http_base=cosyvoice_emulator.http_base,
        home=tmp_path / "h",
        output_dir=tmp_path / "o",
    ) as client:
        result = client.clone(prefix="dropped", sample=cosyvoice_emulator.sample_url())
        assert client.enrollment_stats.create_requests == 1
    cosyvoice_emulator.set_faults()
    assert result.adopted
    assert [v.voice_id for v in cosyvoice_emulator.backend.list_voices()] == [result.voice_id]


def test_async_client_mirrors_the_sync_one(cosyvoice_emulator: Any, tmp_path: Path) -> None:
    for sync_cls, async_cls in ((CosyVoice, AsyncCosyVoice), (Voices, AsyncVoices)):
        public = {n for n in dir(sync_cls) if not n.startswith("_")} - {"close"}
        apublic = {n for n in dir(async_cls) if not n.startswith("_")} - {"aclose"}
        assert public == apublic
        for name in public:
            if callable(getattr(sync_cls, name)) and name not in ("resolve", "lookup", "live"):
                assert inspect.iscoroutinefunction(getattr(async_cls, name)), name

    async def journey() -> tuple[str, str | None, list[str], bool]:
        async with AsyncCosyVoice(
            api_key=cosyvoice_emulator.api_key,
            http_base=cosyvoice_emulator.http_base,
            home=tmp_path / "h",
            output_dir=tmp_path / "o",
        ) as client:
            made = await client.clone(prefix="asy", sample=cosyvoice_emulator.sample_url())
            assert made.check is not None and made.check["verdict"] != "fail"  # URL checked too
            status = await client.wait(made.voice_id, timeout=10)
            again = await client.clone(prefix="asy", sample=cosyvoice_emulator.sample_url())
            listed = [v.voice_id for v in await client.voices.list()]
            await client.voices.delete(made.voice_id)
            return made.voice_id, status, listed, again.reused

    voice_id, status, listed, reused = asyncio.run(journey())
    assert status == "OK" and listed == [voice_id] and reused
    assert cosyvoice_emulator.backend.voice_count() == 0


def test_local_upload_field_order_no_key_to_bucket_and_resolve_header(tmp_path: Path) -> None:
    from enrollment_helpers import REFERENCE

    policy = {
        "policy": "cG9saWN5",
        "signature": "c2ln",
        "upload_dir": "dashscope-instant/t/2026/u",
        "upload_host": "https://bucket.test",
        "expire_in_seconds": 300,
        "max_file_size_mb": 100,
        "capacity_limit_mb": 1,
        "oss_access_key_id": "LTAI-x",
        "x_oss_object_acl": "private",
        "x_oss_forbid_overwrite": "true",
    }
    vid = "cosyvoice-v3.5-plus-up-" + "d" * 32
    script = Script(
        httpx.Response(200, json={"request_id": "p", "data": policy}),
        httpx.Response(200),
        ok({"voice_id": vid}),
    )
    with _client(script, tmp_path) as client:
        result = client.clone(prefix="up", sample=str(REFERENCE), skip_check=True)
    get_policy, upload, create = script.sent
    assert get_policy.url.params["action"] == "getPolicy"
    assert str(upload.url) == "https://bucket.test"
    assert "authorization" not in upload.headers
    body = upload.content.decode("latin-1")
    import re

    names = re.findall(r'Content-Disposition: form-data; name="([^"]+)"', body)
    assert names == [
        "OSSAccessKeyId",
        "Signature",
        "policy",
        "key",
        "x-oss-object-acl",
        "x-oss-forbid-overwrite",
        "success_action_status",
        "x-oss-content-type",
        "file",
    ]
    assert create.headers["x-dashscope-ossresourceresolve"] == "enable"
    sent_url = json.loads(create.content)["input"]["url"]
    assert (
        sent_url.startswith("oss://dashscope-instant/t/2026/u/") and result.sample_url == sent_url
    )


def test_reuse_checks_the_service_first(cosyvoice_emulator: Any, tmp_path: Path) -> None:
    with CosyVoice(
        api_key=cosyvoice_emulator.api_key,
        http_base=cosyvoice_emulator.http_base,
        home=tmp_path / "h",
        output_dir=tmp_path / "o",
    ) as client:
        url = cosyvoice_emulator.sample_url()
        first = client.clone(prefix="gone", sample=url, skip_check=True)
        cosyvoice_emulator.backend.delete_voice(first.voice_id)  # deleted behind our back
        second = client.clone(prefix="gone", sample=url, skip_check=True)
        assert not second.reused and second.voice_id != first.voice_id
        assert client.registry.get(first.voice_id).deleted  # type: ignore[union-attr]
        third = client.clone(prefix="gone", sample=url, skip_check=True)
        assert third.reused and third.voice_id == second.voice_id


def test_dropped_delete_is_confirmed_by_a_query_not_retried_blindly(tmp_path: Path) -> None:
    vid = "cosyvoice-v2-del-" + "e" * 32
    script = Script(
        httpx.ReadTimeout("no answer"),  # delete went through, the answer was lost
        err(400, "BadRequest.ResourceNotExist"),  # query: it's gone
    )
    with _client(script, tmp_path) as client:
        gone = client.voices.delete(vid)
        assert gone.voice_id == vid and gone.deleted
        assert client.registry.get(vid).deleted  # type: ignore[union-attr]
    assert script.actions() == ["delete_voice", "query_voice"]


def test_retries_stop_at_the_total_time_bound(tmp_path: Path) -> None:
    script = Script(*[err(503, "ServiceUnavailable") for _ in range(50)])
    policy = RetryPolicy(max_attempts=50, initial_delay=0.1, max_delay=0.1, total_timeout=0.35)
    with _client(script, tmp_path, retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(ServerError) as info:
            client.voices.list()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 and len(script.sent) <= 8  # delays of 0.05–0.1 s within 0.35 s
    assert "gave up after" in str(info.value) and "ServiceUnavailable" in str(info.value)


def test_upload_failures_are_one_clear_error(tmp_path: Path) -> None:
    from enrollment_helpers import REFERENCE

    from cosyvoice_clone.errors import APIStatusError

    policy = {
        "policy": "p",
        "signature": "s",
        "upload_dir": "d",
        "upload_host": "https://bucket.test",
        "oss_access_key_id": "k",
    }
    xml = b"<Error><Code>InternalError</Code></Error>"
    script = Script(
        httpx.Response(200, json={"request_id": "p", "data": policy}),
        httpx.Response(503, content=xml, headers={"content-type": "application/xml"}),
        httpx.Response(503, content=xml, headers={"content-type": "application/xml"}),
    )
    with _client(script, tmp_path) as client, pytest.raises(APIStatusError) as info:
        client.clone(prefix="up", sample=str(REFERENCE), skip_check=True)
    assert type(info.value) is APIStatusError  # not the internal "ambiguous" error
    assert "uploading the sample failed" in str(info.value) and "--sample https://" in str(
        info.value
    )
    assert script.actions() == ["GET /api/v1/uploads", "POST /", "POST /"]
