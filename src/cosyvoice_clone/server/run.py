"""Serve the app with uvicorn: in the foreground (the CLI) or from a background thread."""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from typing import Any

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only accepts connections from this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def base_url(host: str, port: int) -> str:
    """The URL clients use (``0.0.0.0``/``::`` shown as loopback), ending in ``/v1``."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/v1"


def _config(app: Any, host: str, port: int, *, foreground: bool) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level="info" if foreground else "error",
        access_log=False,  # our own access line per request (voice, model, timings)
        lifespan="on",
        timeout_graceful_shutdown=2,
    )


class RunningServer:
    """A server running in a background thread: ``base_url`` (``.../v1``) and ``stop()``."""

    def __init__(self, server: Any, thread: threading.Thread, host: str, port: int) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port
        self.base_url = base_url(host, port)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one; the real port is
    ``getsockname()[1]``). A port in use or an address this machine lacks is one clear error."""
    from ..errors import InvalidRequestError

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        busy = exc.errno == errno.EADDRINUSE
        raise InvalidRequestError(
            f"cannot listen on {host}:{port}: "
            + ("the port is in use" if busy else (exc.strerror or str(exc))),
            field="port" if busy else "host",
            hint="pick another --port (or --port 0 for any free one)"
            if busy
            else "bind an address of this machine, e.g. 127.0.0.1",
        ) from None
    return sock


def start_server(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` from a background thread; return once it accepts connections."""
    import uvicorn

    sock = bind(host, port)
    actual = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, actual, foreground=False))

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"cosyvoice-serve-{actual}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the speech server did not start")
        time.sleep(0.005)
    return RunningServer(server, thread, host, actual)


def serve_forever(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on the bound socket (:func:`bind`) in the foreground until interrupted."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    try:
        uvicorn.Server(_config(app, host, port, foreground=True)).run(sockets=[sock])
    finally:
        sock.close()
