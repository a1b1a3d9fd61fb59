"""Keys with a line break, a carriage return, a zero-width space or a non-ASCII character: refused
when read (a credentials error naming the source, never the value), and no piece of such a key
in any answer, header or log line of the server even when one gets past (issue 22, issue 23
item 1)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.security.conftest import root, token
from tests.server.server_helpers import emulator_settings

from cosyvoice_clone.config import ApiKey, Settings, find_api_key, mask, redact
from cosyvoice_clone.emulator.server import RunningEmulator
from cosyvoice_clone.errors import MissingCredentialsError

KEYS = {  # distinctive letters: no run of 6 of them occurs in ordinary text, ports or addresses
    "newline": "sk-qzNLvxKwJpTbHm\nXyQrZvNLwqKj",
    "carriage-return": "sk-qzCRvxKwJpTbHm\rXyQrZvCRwqKj",
    "zero-width-space": "sk-qzZWvxKwJpTbHm\u200bXyQrZvZWwqKj",
    "non-ascii": "sk-qzNAvxKwJpTbHm\u00e9XyQrZvNAwqKj",
}


def windows(key: str, size: int = 6) -> set[str]:
    """Every run of ``size`` characters of the key's printable ASCII pieces (beyond what a
    mask shows: the last 4)."""
    import re

    pieces = [p for p in re.split(r"[^!-~]+", key) if p]
    return {p[i : i + size] for p in pieces for i in range(len(p) - size + 1)}


def assert_no_key(text: str, key: str) -> None:
    leaked = [w for w in windows(key) if w in text]
    assert not leaked, f"key pieces {leaked[:3]} in {text[:300]!r}"


@pytest.mark.parametrize("kind", list(KEYS))
def test_a_malformed_key_is_refused_when_read_naming_its_source(
    kind: str, tmp_path: Path, isolated_env: Path
) -> None:
    key = KEYS[kind]
    key_file = tmp_path / "key"
    key_file.write_text(key + "\n", encoding="utf-8")
    credentials = Path(os.environ["HOME"]) / ".alibabacloud" / "credentials"
    credentials.parent.mkdir(parents=True)
    credentials.write_text(f"[default]\ndashscope_api_key = {key}\n", encoding="utf-8")
    sources: list[tuple[dict[str, str], str]] = [
        ({"DASHSCOPE_API_KEY": key}, "env DASHSCOPE_API_KEY")
    ]
    if kind not in ("newline", "carriage-return"):  # a line break ends an INI value
        sources.append(({}, ".alibabacloud/credentials [default]"))
    sources.append(({"DASHSCOPE_API_KEY_FILE_PATH": str(key_file)}, "DASHSCOPE_API_KEY_FILE_PATH"))
    for environ, source in sources:
        if "DASHSCOPE_API_KEY_FILE_PATH" in environ:
            credentials.unlink()
        with pytest.raises(MissingCredentialsError) as refused:
            find_api_key(environ=environ)
        message = str(refused.value)
        assert source in message and "malformed" in message, message
        assert "\n" not in message and "\r" not in message
        assert_no_key(message, key)
    with pytest.raises(MissingCredentialsError):
        Settings.resolve(api_key=key)
    assert find_api_key(environ={"DASHSCOPE_API_KEY": "  sk-goodKwJpTbHmXy  \n"}) == ApiKey(
        "sk-goodKwJpTbHmXy", "env DASHSCOPE_API_KEY"
    )


@pytest.mark.parametrize("kind", list(KEYS))
def test_redact_removes_every_form_of_the_key(kind: str) -> None:
    key = KEYS[kind]
    texts = [
        f"Illegal header value {('Bearer ' + key).encode()!r}",
        f"header {('Bearer ' + key)!r} refused",
        json.dumps({"message": f"bad key {key}"}),
        json.dumps({"message": f"bad key {key}"}, ensure_ascii=False),
        f"Authorization: Bearer {key}",
        key.split("\r")[-1] if "\r" in key else key,
    ]
    for text in texts:
        out = redact(text, key)
        assert_no_key(out, key)
    assert mask(key) == "[redacted key]"
    assert redact("voice cosyvoice-v3-plus-desk-0123456789abcdef") == (
        "voice cosyvoice-v3-plus-desk-0123456789abcdef"  # a voice id is not a key
    )


@pytest.mark.parametrize("kind", ["newline", "zero-width-space"])
def test_the_cli_refuses_a_malformed_key_without_showing_it(
    kind: str, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = KEYS[kind]
    monkeypatch.setenv("DASHSCOPE_API_KEY", key)
    for args in (["voices", "list"], ["--json", "voices", "list"]):
        result = cli(*args)
        assert result.exit_code == 3, result.stderr
        assert "DASHSCOPE_API_KEY" in result.stderr + result.stdout
        assert "Traceback" not in result.stderr
        assert_no_key(result.stdout + result.stderr, key)
    env = {**os.environ, "DASHSCOPE_API_KEY": key, "COSYVOICE_CLONE_HOME": str(tmp_path / "h")}
    served = subprocess.run(
        [sys.executable, "-m", "cosyvoice_clone", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert served.returncode == 3, served.stderr
    assert len(served.stderr.strip().splitlines()) <= 2 and "Traceback" not in served.stderr
    assert "malformed" in served.stderr
    assert_no_key(served.stdout + served.stderr, key)


@pytest.mark.parametrize("kind", list(KEYS))
def test_a_key_that_got_past_never_reaches_an_answer_or_a_log(
    kind: str,
    protected: Any,
    voice: str,
    cosyvoice_emulator: RunningEmulator,
    home: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Settings built by hand (no validation) with the malformed key: every route that
    reaches the service fails in its error shape, and nothing of the key shows."""
    key = KEYS[kind]
    caplog.set_level(logging.DEBUG)
    settings = dataclasses.replace(
        emulator_settings(cosyvoice_emulator, home), api_key=ApiKey(key, "test")
    )
    server = protected(settings=settings)
    seen: list[str] = []

    def look(answer: httpx.Response) -> httpx.Response:
        seen.append(answer.text)
        seen.extend(f"{k}: {v}" for k, v in answer.headers.items())
        return answer

    base = root(server)
    studio = {"X-Studio-Token": token(server)}
    speech = {"model": "tts-1", "input": "Hello.", "voice": "alloy", "response_format": "wav"}
    look(httpx.post(f"{base}/v1/audio/speech", json=speech, timeout=60))
    look(httpx.post(f"{base}/v1/audio/speech", json={**speech, "stream_format": "sse"}, timeout=60))
    look(httpx.post(f"{base}/v1/audio/speech", json={**speech, "voice": voice}, timeout=60))
    look(httpx.get(f"{base}/v1/audio/voices", timeout=60))
    look(httpx.get(f"{base}/studio/api/voices", timeout=60))
    look(httpx.get(f"{base}/studio/api/voices/{voice}", timeout=60))
    look(httpx.delete(f"{base}/studio/api/voices/{voice}", headers=studio, timeout=60))
    order = look(
        httpx.post(
            f"{base}/studio/api/speech",
            headers=studio,
            timeout=60,
            json={"voice": voice, "text": "Hello.", "format": "wav"},
        )
    )
    if order.status_code == 200:
        look(httpx.get(base + order.json()["audio_url"], timeout=60))
    job = look(
        httpx.post(
            f"{base}/studio/api/designs",
            headers=studio,
            timeout=60,
            json={"prompt": "a calm voice", "prefix": "leak", "preview_text": "Hello there."},
        )
    )
    if job.status_code == 202:
        with httpx.stream("GET", base + job.json()["events"], timeout=60) as events:
            seen.append("".join(events.iter_text()))
    failures = [t for t in seen if '"error"' in t]
    assert failures, "the malformed key should make the service calls fail"
    for text in seen:
        assert_no_key(text, key)
    logged = (
        "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
        + caplog.text
    )
    assert_no_key(logged, key)
