"""The OpenAI-compatible speech server (``cosyvoice-clone serve``), a thin frontend.

- :func:`create_app`: the Starlette app (``/v1/audio/speech``, ``/v1/models``,
  ``/v1/audio/voices``, ``/healthz``); ``/`` is left for the studio page;
- :class:`SpeechLibrary`: every call the server makes into the library;
- :func:`start_server`: serve it from a background thread (tests, benchmarks).
"""

from __future__ import annotations

from .app import ServerConfig, create_app
from .library import SpeechLibrary
from .run import RunningServer, serve_forever, start_server

__all__ = [
    "RunningServer",
    "ServerConfig",
    "SpeechLibrary",
    "create_app",
    "serve_forever",
    "start_server",
]
