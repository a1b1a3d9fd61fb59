"""The OpenAI-compatible speech server (``cosyvoice-clone serve``), a thin frontend.

- :func:`create_app`: the Starlette app (``/v1/audio/speech``, ``/v1/models``,
  ``/v1/audio/voices``, ``/healthz``); ``/`` is left for the studio page;
- :class:`SpeechLibrary`: every call the server makes into the library;
- :func:`start_server`: serve it from a background thread (tests, benchmarks);
- :mod:`.serving`: binding and serving, shared with ``emulator serve``.

The names below are imported lazily, so that importing :mod:`.serving` (the emulator does) does
not import the app and the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ServerConfig, create_app
    from .library import SpeechLibrary
    from .run import RunningServer, serve_forever, start_server

_EXPORTS = {
    "RunningServer": "run",
    "ServerConfig": "app",
    "SpeechLibrary": "library",
    "create_app": "app",
    "serve_forever": "run",
    "start_server": "run",
}

__all__ = [
    "RunningServer",
    "ServerConfig",
    "SpeechLibrary",
    "create_app",
    "serve_forever",
    "start_server",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
