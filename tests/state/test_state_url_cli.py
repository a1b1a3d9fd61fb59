"""--state-url at start: a bad URL exits 2, an unreachable server 6; the password never shows."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from state_helpers import RedisServer, free_port

from cosyvoice_clone.config import Settings, redacted_url
from cosyvoice_clone.errors import ConfigError

PASSWORD = "s3cretpw"


@pytest.mark.parametrize("url", ["http://x", "redis://", "redis://host:port/0", "memcached://h"])
def test_a_bad_url_exits_2_with_one_line(cli: Any, tmp_path: Path, url: str) -> None:
    result = cli("--home", str(tmp_path / "h"), "--emulator", "--state-url", url, "voices", "list")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "redis://" in result.stderr


def test_unreachable_exits_6_and_hides_the_password(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    home = str(tmp_path / "h")
    result = cli("--home", home, "--emulator", "--state-url", url, "voices", "list")
    assert result.exit_code == 6 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert PASSWORD not in result.stderr and "redis://:***@127.0.0.1" in result.stderr
    result = cli("--json", "--home", home, "--emulator", "--state-url", url, "voices", "list")
    assert result.exit_code == 6 and PASSWORD not in result.stdout + result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "state_unavailable"
    monkeypatch.setenv("COSYVOICE_CLONE_STATE_URL", url)  # the env works the same way
    result = cli("--home", home, "--emulator", "voices", "list")
    assert result.exit_code == 6 and PASSWORD not in result.stderr


def test_a_refused_password_exits_2(
    cli: Any, redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.client().config_set("requirepass", PASSWORD)
    home = str(tmp_path / "h")
    wrong = f"redis://:wrongpw@127.0.0.1:{redis_server.port}/0"
    result = cli("--home", home, "--emulator", "--state-url", wrong, "voices", "list")
    assert result.exit_code == 2 and "wrongpw" not in result.stderr and "password" in result.stderr
    missing = f"redis://127.0.0.1:{redis_server.port}/0"
    result = cli("--home", home, "--emulator", "--state-url", missing, "voices", "list")
    assert result.exit_code == 2 and "password" in result.stderr
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORD)  # the password from the env
    result = cli("--home", home, "--emulator", "--state-url", missing, "voices", "list")
    assert result.exit_code == 0, result.stderr


def test_reachable_works_and_no_url_is_files(
    cli: Any, redis_server: RedisServer, tmp_path: Path
) -> None:
    home = str(tmp_path / "h")
    result = cli("--home", home, "--emulator", "--state-url", redis_server.url, "voices", "list")
    assert result.exit_code == 0, result.stderr
    assert cli("--home", home, "--emulator", "voices", "list").exit_code == 0


def test_no_extra_exits_2_with_the_pip_hint(
    cli: Any, redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)
    result = cli(
        "--home", str(tmp_path / "h"), "--emulator", "--state-url", redis_server.url,
        "voices", "list",
    )  # fmt: skip
    assert result.exit_code == 2 and "[redis]'" in result.stderr and "redis extra" in result.stderr


def test_settings_and_redaction() -> None:
    url = f"rediss://user:{PASSWORD}@cache.example:6380/2"
    settings = Settings.resolve(environ={"DASHSCOPE_API_KEY": "sk-" + "a" * 32}, state_url=url)
    assert settings.state_url == url and PASSWORD not in repr(settings)
    assert redacted_url(url) == "rediss://user:***@cache.example:6380/2"
    assert redacted_url("redis://h:6379/0") == "redis://h:6379/0"
    with pytest.raises(ConfigError):
        Settings.resolve(environ={}, state_url="unix:///tmp/r.sock")
