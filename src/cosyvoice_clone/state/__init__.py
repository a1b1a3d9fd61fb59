"""Where replicas of one account share what the account's limits are about.

One small contract, two implementations, chosen by ``Settings.state_url`` (``--state-url``):

- :class:`~.files.FileState` (no URL, the default): everything under the home as before, the
  pacing files of :mod:`cosyvoice_clone.pacing` and the registry's SQLite claims; no server.
- ``RedisState`` (``redis://`` / ``rediss://``, in :mod:`._redis`, the only code that imports
  redis-py): the pacing budgets (one Lua call per acquire, Redis's clock), clone claims with an
  owner and an expiry, and a voice index (dedupe key -> voice id, prefix -> voice ids, every
  registry field) that each home's SQLite registry caches.

Failure rules: at start a bad URL, a missing extra or a refused password is a
:class:`~cosyvoice_clone.errors.ConfigError` (exit 2), an unreachable server a
:class:`~cosyvoice_clone.errors.StateUnavailableError` (exit 6). Mid-run, creating a voice fails
closed (:class:`~cosyvoice_clone.errors.StateUnavailableError`, nothing created) while speech
paces with the local files, logging one warning per outage on ``cosyvoice_clone.state``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..config import redacted_url
from .base import LOGGER, StateBackend, VoiceIndex, namespace

_OPEN: dict[tuple[str | None, str, str], StateBackend] = {}
_OPEN_LOCK = threading.Lock()


def open_state(url: str | None, *, home: Path | str, account: str) -> StateBackend:
    """The process-wide backend for ``url`` (``None``: files under ``home``), checked once.

    A Redis backend also binds the home's pacing budgets to it
    (:func:`cosyvoice_clone.pacing.share_pacing`).
    """
    home_path = Path(home).expanduser()
    key = (url, str(home_path), namespace(account))
    with _OPEN_LOCK:
        backend = _OPEN.get(key)
        if backend is not None:
            return backend
        if url is None:
            from .files import FileState

            backend = FileState(home_path)
        else:
            from ._redis import RedisState

            backend = RedisState(url, home=home_path, namespace=namespace(account))
        backend.check()
        _OPEN[key] = backend
        return backend


def forget_states() -> None:
    """Close and forget every open backend (tests; a fork that wants fresh connections)."""
    with _OPEN_LOCK:
        for backend in _OPEN.values():
            backend.close()
        _OPEN.clear()


__all__ = [
    "LOGGER",
    "StateBackend",
    "VoiceIndex",
    "forget_states",
    "namespace",
    "open_state",
    "redacted_url",
]
