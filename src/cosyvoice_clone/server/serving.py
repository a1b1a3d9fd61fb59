"""Serve an ASGI app with uvicorn: the one way ``serve``, ``emulator serve``, the embedded
emulator and the tests do it.

1. :func:`bind` first: a listening socket, so that a busy port or an address this machine lacks
   is one :class:`~cosyvoice_clone.errors.InvalidRequestError` (exit 2) before anything is
   printed, and the real port of ``--port 0`` is known (``sock.getsockname()[1]``);
2. then :func:`serve_in_thread` (a background thread; returns once the server accepts
   connections; :meth:`Serving.stop` shuts it down cleanly) or :func:`serve_forever` (the
   foreground, until Ctrl-C or SIGTERM: uvicorn's graceful shutdown).

Kept light (no uvicorn until something is served) so that importing it costs nothing.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequestError

DEFAULT_HOST = "127.0.0.1"
BACKLOG = 2048
"""Connections the kernel queues before the server accepts them (uvicorn's default)."""
LOOPBACK_NAMES = ("localhost",)
NODELAY_NOTE = """TCP_NODELAY on the listening socket: Linux gives it to every accepted connection.
Without it, on the sockets served here, a keep-alive client's small answers waited for the
delayed ACK (measured on 127.0.0.1, 30 GETs of /healthz through one httpx client: 44 ms
median without, 0.9 ms with)."""


@dataclass(frozen=True)
class ServeOptions:
    """How uvicorn serves: logging, WebSocket implementation and limits, timeouts."""

    log_level: str = "error"
    access_log: bool = False
    log_config: dict[str, Any] | None = None
    """A ``logging.config.dictConfig`` dict (uvicorn's ``LOGGING_CONFIG`` prints its lines);
    ``None`` leaves logging as the caller set it up."""
    ws: str = "auto"
    """uvicorn's WebSocket implementation (``auto``, ``websockets``, ``websockets-sansio``)."""
    ws_max_size: int = 16 * 1024 * 1024
    ws_ping_interval: float | None = 20.0
    timeout_keep_alive: int = 5
    timeout_graceful_shutdown: int = 2


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only accepts connections from this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as clients write it in a URL: a wildcard bind as loopback, IPv6 in brackets."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}.get(
        host, host
    )
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return shown


def bind(host: str = DEFAULT_HOST, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free one).

    Raises ``ValueError`` for a port that is not an integer in 0-65535 (callers check their
    input first), and :class:`~cosyvoice_clone.errors.InvalidRequestError` when the bind fails:
    the port is in use or needs privileges (``field="port"``), or the address is not one of
    this machine (``field="host"``).
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer in 0-65535, not {port!r}")
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # NODELAY_NOTE
        sock.bind((address, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise _bind_error(host, port, exc) from None
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> InvalidRequestError:
    where = f"cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return InvalidRequestError(
            f"{where}: the port is in use",
            field="port",
            hint="pick another --port (or --port 0 for any free one)",
        )
    if exc.errno == errno.EACCES:
        return InvalidRequestError(
            f"{where}: permission denied",
            field="port",
            hint="ports below 1024 need privileges: pick another --port (or --port 0)",
        )
    return InvalidRequestError(
        f"{where}: {exc.strerror or exc}",
        field="host",
        hint="--host must be an address of this machine: 127.0.0.1 (the default), ::1, "
        "or 0.0.0.0 for every interface",
    )


def _server(app: Any, sock: socket.socket, options: ServeOptions) -> Any:
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=options.log_config,
        log_level=options.log_level,
        access_log=options.access_log,
        lifespan="on",
        ws=options.ws,
        ws_max_size=options.ws_max_size,
        ws_ping_interval=options.ws_ping_interval,
        timeout_keep_alive=options.timeout_keep_alive,
        timeout_graceful_shutdown=options.timeout_graceful_shutdown,
    )
    return uvicorn.Server(config)


class Serving:
    """A server running in a background thread: where it listens, and :meth:`stop`."""

    def __init__(self, server: Any, thread: threading.Thread, host: str, port: int) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        """The address it listens on."""
        self.port = port
        """The real port (also for port 0)."""

    @property
    def alive(self) -> bool:
        """Whether the server thread still runs."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down gracefully and wait for the thread (idempotent)."""
        self._server.should_exit = True
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=timeout)

    def __enter__(self) -> Serving:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: Any,
    sock: socket.socket,
    options: ServeOptions = ServeOptions(),
    *,
    label: str = "the server",
    startup_timeout: float = 10.0,
) -> Serving:
    """Serve ``app`` on the bound ``sock`` from a daemon thread; return once it accepts
    connections. The socket is closed when the server ends.

    Raises ``RuntimeError("{label} did not start")`` if it fails or takes over
    ``startup_timeout`` seconds (e.g. the app's lifespan startup failed).
    """
    server = _server(app, sock, options)
    host = sock.getsockname()[0]
    port = int(sock.getsockname()[1])

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"cosyvoice-serve-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=startup_timeout)
            raise RuntimeError(f"{label} did not start")
        time.sleep(0.005)
    return Serving(server, thread, host, port)


def serve_forever(app: Any, sock: socket.socket, options: ServeOptions = ServeOptions()) -> None:
    """Serve ``app`` on the bound ``sock`` in the foreground until interrupted (Ctrl-C, SIGTERM);
    the socket is closed at the end. Ctrl-C surfaces as ``KeyboardInterrupt`` after the
    graceful shutdown."""
    try:
        _server(app, sock, options).run(sockets=[sock])
    finally:
        sock.close()


__all__ = [
    "DEFAULT_HOST",
    "ServeOptions",
    "Serving",
    "bind",
    "is_loopback",
    "serve_forever",
    "serve_in_thread",
    "url_host",
]
