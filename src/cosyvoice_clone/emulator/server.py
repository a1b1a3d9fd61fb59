"""Serve a :class:`Backend`: in a background thread (:func:`start_server`, what the embedded
emulator and the pytest fixture use) or in the foreground (:func:`serve_forever`, used by
``cosyvoice-clone emulator serve``), both through :mod:`cosyvoice_clone.server.serving`.

:class:`RunningEmulator` is what a caller holds: the URLs, the key and the knobs.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..server.serving import DEFAULT_HOST, ServeOptions, Serving, bind, serve_in_thread, url_host
from ..server.serving import serve_forever as _serve_forever
from .backend import Backend
from .faults import parse_faults

if TYPE_CHECKING:
    from starlette.middleware import Middleware

bind_socket = bind
"""A listening socket on ``host:port`` (see :func:`cosyvoice_clone.server.serving.bind`)."""

WEBSOCKET_MAX_BYTES = 16 * 1024 * 1024
KEEP_ALIVE_S = 30
"""Idle HTTP keep-alive: long enough for the SDK's pauses between enrollment calls."""


class RunningEmulator:
    """A served emulator: its URLs, its key and its knobs.

    ``http_base`` (``http://127.0.0.1:PORT/api/v1``) and ``websocket_url``
    (``ws://127.0.0.1:PORT/api-ws/v1/inference``) are what ``DASHSCOPE_HTTP_BASE_URL`` and
    ``DASHSCOPE_WEBSOCKET_BASE_URL`` take; ``backend`` is the live state.
    """

    def __init__(
        self,
        backend: Backend,
        host: str,
        port: int,
        *,
        api_key: str,
        serving: Serving | None = None,
    ) -> None:
        self.backend = backend
        self.host = host
        self.port = port
        self.api_key = api_key
        self._serving = serving
        self._stopped = False

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` (no path)."""
        return f"http://{url_host(self.host)}:{self.port}"

    @property
    def http_base(self) -> str:
        """The HTTP base URL (``.../api/v1``)."""
        return f"{self.base_url}/api/v1"

    @property
    def websocket_url(self) -> str:
        """The full WebSocket URL of the inference endpoint."""
        return f"ws://{url_host(self.host)}:{self.port}/api-ws/v1/inference"

    @property
    def admin_url(self) -> str:
        """The loopback-only admin API (``/_emulator``)."""
        return f"{self.base_url}/_emulator"

    def sample_url(self, name: str = "reference_en.wav") -> str:
        """An http URL serving the packaged reference sample (usable as a clone sample URL)."""
        return f"{self.admin_url}/samples/{name}"

    def env(self) -> dict[str, str]:
        """Environment variables pointing the official SDK (and this project) here."""
        return {
            "DASHSCOPE_HTTP_BASE_URL": self.http_base,
            "DASHSCOPE_WEBSOCKET_BASE_URL": self.websocket_url,
            "DASHSCOPE_API_KEY": self.api_key,
            "DASHSCOPE_REGION": self.backend.config.region,
        }

    # -- knobs -----------------------------------------------------------------------------------

    def set_faults(self, spec: str | dict[str, float] | None = None, **kinds: float) -> None:
        """Set fault probabilities: ``set_faults("http503=0.2")`` or ``set_faults(http503=0.2)``.

        Replaces the previous faults; ``set_faults()`` clears them.
        """
        faults: dict[str, float] = {}
        if isinstance(spec, str):
            faults.update(parse_faults(spec))
        elif spec:
            faults.update(spec)
        faults.update(kinds)
        self.backend.config.update({"faults": faults})

    def set_deploy_delay(self, seconds: float) -> None:
        """Seconds new voices stay DEPLOYING."""
        self.backend.config.update({"deploy_delay": seconds})

    def set_latency(self, first_audio_latency: float) -> None:
        """Seconds before the first audio frame of a synthesis task."""
        self.backend.config.update({"first_audio_latency": first_audio_latency})

    def set_rtf(self, rtf: float) -> None:
        """Audio production speed as a real-time factor (0 = as fast as possible)."""
        self.backend.config.update({"rtf": rtf})

    def set_rate_limits(self, enabled: bool) -> None:
        """Switch the service's rate limits on or off."""
        self.backend.config.update({"rate_limits": enabled})

    def set_quota(self, quota: int) -> None:
        """The number of voice slots."""
        self.backend.config.update({"quota": quota})

    def set_region(self, region: str) -> None:
        """Apply the clone rules of another region."""
        self.backend.config.update({"region": region})

    def set_network_delay(self, seconds: float) -> None:
        """One-way delay of synthesis connections (seconds; applies to new connections)."""
        self.configure(network_delay=seconds)

    def websockets(self) -> list[dict[str, Any]]:
        """The synthesis connections the emulator saw (:meth:`.backend.Backend.websockets`)."""
        connections: list[dict[str, Any]] = self.backend.websockets()
        return connections

    def configure(self, **settings: Any) -> None:
        """Change any settings of :class:`~.backend.EmulatorConfig` at once."""
        self.backend.config.update(settings)

    def settle(self, voice_id: str | None = None, *, status: str = "OK") -> int:
        """Finish deploying now: the voice (or all DEPLOYING voices) become OK or UNDEPLOYED."""
        return self.backend.settle(voice_id, status=status)

    def reset(self) -> None:
        """Forget all voices and uploads and restore the initial settings."""
        self.backend.reset()

    # -- lifecycle -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop serving and close the state (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._serving is not None:
            self._serving.stop()
        self.backend.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningEmulator {self.base_url} region={self.backend.config.region}>"


_REFUSED_HANDSHAKE_NOISE = "ASGI callable returned without completing handshake."


class RefusedHandshakeFilter(logging.Filter):
    """Drop uvicorn's error line for a WebSocket handshake that the app refused on purpose.

    A refused key is answered with an HTTP 401 denial response (``tts.py``); uvicorn's
    WebSocket protocols still log "ASGI callable returned without completing handshake." for
    it (they only count an accepted handshake as complete), once per refused connection. Every
    WebSocket route of the emulator accepts or denies, so the line carries no information here.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _REFUSED_HANDSHAKE_NOISE


def _silence_refused_handshakes() -> None:
    """Install :class:`RefusedHandshakeFilter` on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, RefusedHandshakeFilter) for f in logger.filters):
        logger.addFilter(RefusedHandshakeFilter())


def _options(log_level: str, *, foreground: bool) -> ServeOptions:
    from uvicorn.config import LOGGING_CONFIG

    return ServeOptions(
        log_level=log_level,
        access_log=foreground,
        log_config=LOGGING_CONFIG if foreground else None,
        ws="websockets-sansio",
        ws_max_size=WEBSOCKET_MAX_BYTES,
        ws_ping_interval=None,  # the service does not ping; clients keep their own
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def start_server(
    backend: Backend,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    api_key: str | None = None,
    startup_timeout: float = 10.0,
    middleware: Sequence[Middleware] = (),
) -> RunningEmulator:
    """Serve ``backend`` from a background thread; return once it accepts connections.

    ``middleware`` wraps the app (e.g. a Host check); a busy port or a foreign ``host`` is an
    :class:`~cosyvoice_clone.errors.InvalidRequestError`, a port outside 0-65535 a ``ValueError``.
    """
    from .app import create_app

    sock = bind(host, port)
    app = create_app(backend, middleware=middleware)
    _silence_refused_handshakes()
    serving = serve_in_thread(
        app,
        sock,
        _options("error", foreground=False),
        label="the emulator",
        startup_timeout=startup_timeout,
    )
    key = api_key if api_key is not None else sorted(backend.config.api_keys)[0]
    return RunningEmulator(backend, host, serving.port, api_key=key, serving=serving)


def serve_forever(
    backend: Backend,
    sock: socket.socket,
    *,
    log_level: str = "info",
    middleware: Sequence[Middleware] = (),
) -> None:
    """Serve ``backend`` on the bound ``sock`` in the foreground until interrupted (Ctrl-C)."""
    from .app import create_app

    app = create_app(backend, middleware=middleware)
    _silence_refused_handshakes()
    _serve_forever(app, sock, _options(log_level, foreground=True))


__all__ = ["RunningEmulator", "bind_socket", "serve_forever", "start_server"]
