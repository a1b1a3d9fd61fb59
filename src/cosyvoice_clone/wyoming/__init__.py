"""Home Assistant's door: a Wyoming text-to-speech server over the library
(``cosyvoice-clone wyoming --uri tcp://127.0.0.1:10200``; the ``wyoming`` extra).

- :mod:`.voices`: the ``info`` answer (one TTS program; the registry's voices that can speak
  now, named by prefix; optionally the system voices) and which voice a request means;
- :mod:`.handler`: one connection's events (``synthesize`` through the client's
  ``stream_speech``, streaming synthesis through its ``live`` session, failures as ``error``
  events);
- :mod:`.door`: :class:`WyomingDoor` (the client and options all connections share);
- :mod:`.server`: :func:`start_server` (``tcp://`` or ``unix://``).

Like every door it only calls the public client: the voice rules (resolution, model binding,
deleted voices), pacing and retries are the library's. ``wyoming`` is imported by the handler
and inside functions, so importing this package without the extra is cheap.
"""

from __future__ import annotations

from .door import DEFAULT_SAMPLE_RATE, WyomingDoor, require_sdk
from .server import DEFAULT_URI, RunningWyoming, parse_uri, start_server
from .voices import ListedVoice, build_info, choose_voice, list_voices

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_URI",
    "ListedVoice",
    "RunningWyoming",
    "WyomingDoor",
    "build_info",
    "choose_voice",
    "list_voices",
    "parse_uri",
    "require_sdk",
    "start_server",
]
