"""The speech server's use of :mod:`.serving`: its base URL, and serving it in the foreground
(the CLI) or from a background thread (tests, benchmarks)."""

from __future__ import annotations

import socket
from typing import Any

from .serving import (
    DEFAULT_HOST,
    ServeOptions,
    Serving,
    bind,
    is_loopback,
    serve_in_thread,
    url_host,
)
from .serving import serve_forever as _serve_forever

__all__ = ["RunningServer", "base_url", "bind", "is_loopback", "serve_forever", "start_server"]

FOREGROUND = ServeOptions(log_level="info")
"""The CLI: uvicorn's own lines at info level; the access line per request is the server's own."""
BACKGROUND = ServeOptions(log_level="error")


def base_url(host: str, port: int) -> str:
    """The URL clients use (``0.0.0.0``/``::`` shown as loopback), ending in ``/v1``."""
    return f"http://{url_host(host)}:{port}/v1"


class RunningServer:
    """A server running in a background thread: ``base_url`` (``.../v1``) and ``stop()``."""

    def __init__(self, serving: Serving, host: str) -> None:
        self._serving = serving
        self.host = host
        self.port = serving.port
        self.base_url = base_url(host, serving.port)

    def stop(self) -> None:
        """Shut down and wait for the thread."""
        self._serving.stop()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(app: Any, *, host: str = DEFAULT_HOST, port: int = 0) -> RunningServer:
    """Serve ``app`` from a background thread; return once it accepts connections."""
    sock = bind(host, port)
    serving = serve_in_thread(app, sock, BACKGROUND, label="the speech server")
    return RunningServer(serving, host)


def serve_forever(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on the bound socket (:func:`bind`) in the foreground until interrupted."""
    _serve_forever(app, sock, FOREGROUND)
