"""Door B: environment variables, credential files and the home (exit 3: credentials, 2:
configuration). Every case runs ``voices list`` unless it names another command."""

from __future__ import annotations

from tests.bad_inputs.sweep import FAKE_KEY, Case

LIST = ("voices", "list")
K = "DASHSCOPE_API_KEY"
KF = "DASHSCOPE_API_KEY_FILE_PATH"
URL = "DASHSCOPE_HTTP_BASE_URL"
HALF = FAKE_KEY[:14]
NO_KEY = {K: None}
CREDS = "../user-home/.alibabacloud/credentials"

ENV_CASES: list[Case] = [
    Case("key-line-break", LIST, 3, env={K: f"{HALF}\n{FAKE_KEY[14:]}"}),
    Case("key-carriage-return", LIST, 3, env={K: f"{HALF}\r{FAKE_KEY[14:]}"}),
    Case("key-zero-width-space", LIST, 3, env={K: f"{HALF}\u200b{FAKE_KEY[14:]}"}),
    Case("key-inner-space", LIST, 3, env={K: f"{HALF} {FAKE_KEY[14:]}"}),
    Case("key-tab", LIST, 3, env={K: f"{HALF}\t{FAKE_KEY[14:]}"}),
    Case("key-empty", LIST, 3, env={K: ""}),
    Case("key-blank", LIST, 3, env={K: "   "}),
    Case("key-missing", LIST, 3, env=NO_KEY),
    Case("key-refused-401", LIST, 3, env={K: FAKE_KEY[::-1]}),
    Case("key-refused-401-json", ("--json", *LIST), 3, env={K: FAKE_KEY[::-1]}),
    Case(
        "key-refused-401-clone",
        ("clone", "--prefix", "abc", "--sample", "{REF}"),
        3,
        env={K: FAKE_KEY[::-1]},
    ),
    Case(
        "key-file-two-lines",
        LIST,
        3,
        env={**NO_KEY, KF: "{W}/k"},
        files={"k": f"{HALF}\n{FAKE_KEY[14:]}\n"},
    ),
    Case("key-file-folder", LIST, 2, env={**NO_KEY, KF: "{W}/adir"}),
    Case("key-file-missing", LIST, 2, env={**NO_KEY, KF: "{W}/nokey"}),
    Case("key-file-fifo", LIST, 2, env={**NO_KEY, KF: "{W}/ff"}),
    Case(
        "key-file-binary",
        LIST,
        3,
        env={**NO_KEY, KF: "{W}/kb"},
        files={"kb": b"\xff\xfe" + FAKE_KEY.encode() + b"\x00"},
    ),
    Case("key-file-empty", LIST, 3, env={**NO_KEY, KF: "{W}/ke"}, files={"ke": ""}),
    Case(
        "credentials-non-ascii-key",
        LIST,
        3,
        env=NO_KEY,
        files={CREDS: f"[default]\ndashscope_api_key = {HALF}é{FAKE_KEY[14:]}\n"},
    ),
    Case("credentials-not-ini", LIST, 2, env=NO_KEY, files={CREDS: "this is { not ini\n\x00\n"}),
    Case(
        "profile-unknown",
        LIST,
        2,
        env={**NO_KEY, "ALIBABA_CLOUD_PROFILE": "nosuch"},
        files={CREDS: f"[default]\ndashscope_api_key = {FAKE_KEY}\n"},
    ),
    Case("http-url-bad-ipv6", LIST, 2, env={URL: "http://[::1"}),
    Case("http-url-ftp", LIST, 2, env={URL: "ftp://x"}),
    Case("http-url-no-host", LIST, 2, env={URL: "http://"}),
    Case("http-url-port-99999", LIST, 2, env={URL: "http://127.0.0.1:99999"}),
    Case("http-url-space", LIST, 2, env={URL: "http://a b"}),
    Case("ws-url-bad-ipv6", LIST, 2, env={"DASHSCOPE_WEBSOCKET_BASE_URL": "ws://[::1"}),
    Case("region-mars", LIST, 2, env={"DASHSCOPE_REGION": "mars"}),
    Case("workspace-space", LIST, 2, env={"DASHSCOPE_WORKSPACE_ID": "bad space"}),
    Case("home-in-proc", LIST, 2, env={"COSYVOICE_CLONE_HOME": "/proc/x"}),
    Case("home-is-a-file", LIST, 2, env={"COSYVOICE_CLONE_HOME": "{W}/hello.txt"}),
    Case(
        "registry-garbage",
        LIST,
        2,
        env={"COSYVOICE_CLONE_HOME": "{W}/h"},
        files={"h/registry.sqlite3": b"SQLite format 3\x00" + bytes(range(256)) * 8},
        may_write=("work/h/pacing*",),
    ),
    Case(
        "emulator-state-garbage",
        ("--emulator", "--home", "{W}/h2", *LIST),
        2,
        files={"h2/emulator.sqlite3": bytes(range(256)) * 8},
    ),
]
