"""The OpenAI-compatible speech server (``cosyvoice-clone serve``), a thin frontend.

- :func:`create_app`: the Starlette app over an :class:`~cosyvoice_clone.client.AsyncCosyVoice`
  (``/v1/audio/speech``, ``/v1/models``, ``/v1/audio/models``, ``/v1/audio/voices``, OpenAI's
  custom voices and consents, ``/healthz``, and the studio at ``/``); :mod:`.app` lists every
  route;
- :class:`ServerConfig`: keys, voice aliases, the queue, concurrency and retries;
- :func:`start_server`: serve it from a background thread (tests, benchmarks);
- :mod:`.serving`: binding and serving, shared with ``emulator serve``.

The names below are imported lazily, so that importing :mod:`.serving` (the emulator does) does
not import the app and the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .plumbing import ServerConfig
    from .run import RunningServer, serve_forever, start_server

_EXPORTS = {
    "RunningServer": "run",
    "ServerConfig": "plumbing",
    "create_app": "app",
    "serve_forever": "run",
    "start_server": "run",
}

__all__ = [
    "RunningServer",
    "ServerConfig",
    "create_app",
    "serve_forever",
    "start_server",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
