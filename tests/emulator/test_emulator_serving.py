"""The one serving helper (``server/serving.py``) that ``serve``, ``emulator serve``, the embedded
emulator and the tests share: bind first, serve in a thread or the foreground, stop cleanly."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from cosyvoice_clone.errors import InvalidRequestError
from cosyvoice_clone.server.serving import bind, is_loopback, serve_in_thread, url_host


def _app() -> Starlette:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello)])


def test_bind_first_knows_the_real_port_and_serves_in_a_thread() -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    assert port != 0
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # already listening: a client may connect before the server runs
    serving = serve_in_thread(_app(), sock)
    assert serving.port == port and serving.alive
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text == "hello"
    serving.stop()
    serving.stop()  # idempotent
    assert not serving.alive
    assert not any(t.name == f"cosyvoice-serve-{port}" for t in threading.enumerate())
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    assert sock.fileno() == -1  # closed with the server


def test_a_busy_port_and_a_foreign_host_are_usage_errors() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InvalidRequestError) as info:
            bind("127.0.0.1", port)
    assert info.value.exit_code == 2 and info.value.field == "port"
    assert str(info.value).startswith(f"cannot listen on 127.0.0.1:{port}: the port is in use")
    with pytest.raises(InvalidRequestError) as info:
        bind("203.0.113.9", 0)  # TEST-NET-3: not an address of this machine
    assert info.value.field == "host" and "--host must be an address" in str(info.value)
    for port in (-1, 65536, True):
        with pytest.raises(ValueError, match="0-65535"):
            bind("127.0.0.1", port)  # type: ignore[arg-type]


def test_both_serve_commands_exit_2_on_a_busy_port(tmp_path: object) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for command in (["emulator", "serve"], ["--emulator", "serve"]):
            result = subprocess.run(
                [sys.executable, "-m", "cosyvoice_clone", *command, "--port", port],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert result.returncode == 2, command
            assert result.stdout == "" and "Traceback" not in result.stderr
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and f"127.0.0.1:{port}: the port is in use" in lines[0]


def test_hosts_as_urls_show_them() -> None:
    assert url_host("0.0.0.0") == "127.0.0.1"
    assert url_host("::") == "[::1]"
    assert url_host("::1") == url_host("[::1]") == "[::1]"
    assert url_host("localhost") == "localhost"
    assert is_loopback("localhost") and is_loopback("[::1]") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
