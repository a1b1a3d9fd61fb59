"""Key lookup (order, profiles, files), region/endpoint resolution, and redaction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cosyvoice_clone.config import Settings, find_api_key, mask, redact
from cosyvoice_clone.errors import ConfigError, MissingCredentialsError

KEY_ENV = "sk-envkey0000000000000001"
KEY_CRED = "sk-credkey000000000000002"
KEY_PROF = "sk-profkey000000000000003"
KEY_FILE = "sk-filekey000000000000004"
KEY_DS = "sk-dashkey000000000000005"


def home() -> Path:
    return Path(os.environ["HOME"])


def write_credentials(text: str) -> None:
    path = home() / ".alibabacloud" / "credentials"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_all_sources(tmp_path: Path) -> dict[str, str]:
    write_credentials(
        f"[default]\ndashscope_api_key = {KEY_CRED}\n\n[work]\ndashscope_api_key = {KEY_PROF}\n"
    )
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY_FILE + "\n")
    ds = home() / ".dashscope" / "api_key"
    ds.parent.mkdir()
    ds.write_text(KEY_DS)
    return {"DASHSCOPE_API_KEY_FILE_PATH": str(key_file)}


def test_no_key_anywhere() -> None:
    assert find_api_key(environ={}) is None
    settings = Settings.resolve(environ={})
    with pytest.raises(MissingCredentialsError) as info:
        settings.require_key()
    assert info.value.exit_code == 3
    assert "DASHSCOPE_API_KEY" in str(info.value)


def test_lookup_order(tmp_path: Path) -> None:
    env = write_all_sources(tmp_path)
    assert find_api_key(
        "sk-explicit000000000", environ={"DASHSCOPE_API_KEY": KEY_ENV}
    ).source.startswith("explicit")
    found = find_api_key(environ={**env, "DASHSCOPE_API_KEY": KEY_ENV})
    assert found is not None and (found.value, found.source) == (KEY_ENV, "env DASHSCOPE_API_KEY")
    found = find_api_key(environ=env)
    assert found is not None and found.value == KEY_CRED and "[default]" in found.source
    (home() / ".alibabacloud" / "credentials").unlink()
    found = find_api_key(environ=env)
    assert found is not None and found.value == KEY_FILE
    found = find_api_key(environ={})
    assert found is not None and found.value == KEY_DS and "dashscope" in found.source


def test_profile_from_argument_and_environment(tmp_path: Path) -> None:
    write_all_sources(tmp_path)
    found = find_api_key(profile="work", environ={})
    assert found is not None and found.value == KEY_PROF and "[work]" in found.source
    found = find_api_key(environ={"ALIBABA_CLOUD_PROFILE": "work"})
    assert found is not None and found.value == KEY_PROF
    # a named profile that does not exist is a mistake, not a reason to use another key
    with pytest.raises(ConfigError) as info:
        find_api_key(profile="missing", environ={})
    assert "[missing]" in str(info.value) and "default, work" in str(info.value)
    # a profile that exists without the key falls through to the next source
    write_credentials("[default]\nregion = cn-beijing\n")
    found = find_api_key(environ={})
    assert found is not None and found.value == KEY_DS


def test_key_file_variable_naming_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_api_key(environ={"DASHSCOPE_API_KEY_FILE_PATH": str(tmp_path / "nope")})
    assert "DASHSCOPE_API_KEY_FILE_PATH" in str(info.value)


def test_broken_credentials_file_is_a_clear_error() -> None:
    write_credentials("this is not an ini file\n[[[")
    with pytest.raises(ConfigError) as info:
        find_api_key(environ={})
    assert "credentials" in str(info.value)


def test_blank_values_are_skipped(tmp_path: Path) -> None:
    write_credentials("[default]\ndashscope_api_key =\n")
    assert find_api_key(environ={"DASHSCOPE_API_KEY": "  "}) is None


def test_repr_never_shows_the_key() -> None:
    found = find_api_key(environ={"DASHSCOPE_API_KEY": KEY_ENV})
    assert found is not None
    assert KEY_ENV not in repr(found)
    assert KEY_ENV not in repr(Settings.resolve(environ={"DASHSCOPE_API_KEY": KEY_ENV}))
    assert found.redacted == "sk-…0001"


def test_redact_masks_given_secrets_and_key_shapes() -> None:
    text = f"key={KEY_ENV} other=sk-abcdefghijklmnop secret=hunter2hunter2"
    out = redact(text, "hunter2hunter2")
    assert KEY_ENV not in out and "sk-abcdefghijklmnop" not in out and "hunter2hunter2" not in out
    assert mask("short") == "*****"


def test_region_and_endpoints() -> None:
    s = Settings.resolve(environ={})
    assert s.region == "cn-beijing"
    assert s.http_base == "https://dashscope.aliyuncs.com/api/v1"
    s = Settings.resolve(environ={"DASHSCOPE_REGION": "ap-southeast-1"})
    assert s.http_base.startswith("https://dashscope-intl.")
    assert s.websocket_url == "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference"
    s = Settings.resolve(region="cn-beijing", environ={"DASHSCOPE_REGION": "ap-southeast-1"})
    assert s.region == "cn-beijing"
    env = {
        "DASHSCOPE_HTTP_BASE_URL": "http://127.0.0.1:8765/api/v1/",
        "DASHSCOPE_WEBSOCKET_BASE_URL": "ws://127.0.0.1:8765/api-ws/v1/inference",
    }
    s = Settings.resolve(environ=env)
    assert s.http_base == "http://127.0.0.1:8765/api/v1"
    assert s.websocket_url == "ws://127.0.0.1:8765/api-ws/v1/inference"
    assert s.http_base_source == "env DASHSCOPE_HTTP_BASE_URL"
    with pytest.raises(ConfigError) as info:
        Settings.resolve(region="mars-1", environ={})
    assert "cn-beijing" in str(info.value)


def test_home_and_output_dir(tmp_path: Path) -> None:
    s = Settings.resolve(environ={"COSYVOICE_CLONE_HOME": str(tmp_path / "h")})
    assert s.home == tmp_path / "h"
    s = Settings.resolve(home=tmp_path / "x", output_dir=tmp_path / "o", environ={})
    assert (s.home, s.output_dir) == (tmp_path / "x", tmp_path / "o")
    s = Settings.resolve(environ={})
    assert s.output_dir == Path("output/alicloud-ai-audio-cosyvoice-voice-clone")


def test_custom_http_base_never_pairs_with_the_public_websocket() -> None:
    s = Settings.resolve(http_base="http://127.0.0.1:8765/api/v1", environ={})
    assert s.websocket_url == "ws://127.0.0.1:8765/api-ws/v1/inference"
    assert s.websocket_url_source == "derived from explicit"
    s = Settings.resolve(environ={"DASHSCOPE_HTTP_BASE_URL": "https://ws1.example.test/api/v1"})
    assert s.websocket_url == "wss://ws1.example.test/api-ws/v1/inference"
    s = Settings.resolve(
        http_base="http://127.0.0.1:1/api/v1", websocket_url="ws://127.0.0.1:2/x", environ={}
    )
    assert s.websocket_url == "ws://127.0.0.1:2/x"


def test_workspace_hosts_as_the_sdk_builds_them() -> None:
    # no workspace: the region's shared host (classic), in every region the SDK knows
    assert Settings.resolve(environ={}).http_base == "https://dashscope.aliyuncs.com/api/v1"
    s = Settings.resolve(region="cn-hongkong", environ={})
    assert s.http_base == "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"
    assert s.workspace is None and s.http_base_source == "region default"
    # a workspace (env DASHSCOPE_WORKSPACE_ID, as in SDK 2.0.2 common/env.py) picks its host
    s = Settings.resolve(
        environ={"DASHSCOPE_WORKSPACE_ID": "llm-abc123", "DASHSCOPE_REGION": "ap-southeast-1"}
    )
    assert s.workspace == "llm-abc123"
    assert s.workspace_source == "env DASHSCOPE_WORKSPACE_ID"
    assert s.http_base == "https://llm-abc123.ap-southeast-1.maas.aliyuncs.com/api/v1"
    assert (
        s.websocket_url == "wss://llm-abc123.ap-southeast-1.maas.aliyuncs.com/api-ws/v1/inference"
    )
    assert s.http_base_source == "workspace host (env DASHSCOPE_WORKSPACE_ID)"
    # the 2.0 client's names too (DASHSCOPE_WORKSPACE, DASHSCOPE_API_REGION); explicit wins
    s = Settings.resolve(
        environ={"DASHSCOPE_WORKSPACE": "ws2", "DASHSCOPE_API_REGION": "eu-central-1"}
    )
    assert s.http_base == "https://ws2.eu-central-1.maas.aliyuncs.com/api/v1"
    s = Settings.resolve(workspace="ws3", environ={"DASHSCOPE_WORKSPACE_ID": "ws4"})
    assert (s.workspace, s.workspace_source) == ("ws3", "explicit")
    assert s.http_base == "https://ws3.cn-beijing.maas.aliyuncs.com/api/v1"
    for region in ("us-east-1", "ap-northeast-1"):
        s = Settings.resolve(region=region, workspace="w", environ={})
        assert s.http_base == f"https://w.{region}.maas.aliyuncs.com/api/v1"


def test_explicit_endpoints_win_over_the_workspace_host() -> None:
    env = {
        "DASHSCOPE_WORKSPACE_ID": "ws1",
        "DASHSCOPE_HTTP_BASE_URL": "http://127.0.0.1:8765/api/v1",
    }
    s = Settings.resolve(environ=env)
    assert s.http_base == "http://127.0.0.1:8765/api/v1"
    assert s.websocket_url == "ws://127.0.0.1:8765/api-ws/v1/inference"  # derived, not public
    assert s.workspace == "ws1"  # still sent as the X-DashScope-WorkSpace header
    s = Settings.resolve(
        websocket_url="ws://127.0.0.1:9/x", environ={"DASHSCOPE_WORKSPACE_ID": "w"}
    )
    assert s.http_base == "https://w.cn-beijing.maas.aliyuncs.com/api/v1"
    assert s.websocket_url == "ws://127.0.0.1:9/x"


@pytest.mark.parametrize("bad", ["-ws", "a/b", "ws.evil.example", "x" * 65, "a b"])
def test_workspace_id_that_cannot_be_a_host_label_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.resolve(environ={"DASHSCOPE_WORKSPACE_ID": bad})
    assert info.value.exit_code == 2
    assert "DASHSCOPE_WORKSPACE_ID" in str(info.value)
