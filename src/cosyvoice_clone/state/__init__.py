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

import hashlib
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol

from ..claims import ClaimStore, Database
from ..config import redacted_url
from ..models import VoiceRecord

LOGGER = "cosyvoice_clone.state"
"""The logger of outage warnings (``serve`` sends it to stderr)."""


class VoiceIndex(Protocol):
    """The voices every replica knows; each call raises ``StateUnavailableError`` on outage."""

    def put(self, record: VoiceRecord) -> None:
        """Share a record this replica created, adopted or designed."""
        ...

    def update(self, voice_id: str, values: dict[str, Any]) -> None:
        """Change fields of a shared record (nothing if it is not shared)."""
        ...

    def get(self, voice_id: str) -> VoiceRecord | None:
        """The shared record of ``voice_id``."""
        ...

    def for_key(self, dedupe_key: str) -> str | None:
        """The voice made from this request, if any replica made one."""
        ...

    def ids_for_prefix(self, endpoint: str, prefix: str) -> set[str]:
        """Every shared voice id of ``prefix`` at ``endpoint``."""
        ...


class StateBackend(ABC):
    """The shared state of one account, as one home sees it."""

    display: str
    """Where it lives, fit to print (never with a password)."""

    @abstractmethod
    def check(self) -> None:
        """Probe it at start: ``ConfigError`` (2) or ``StateUnavailableError`` (6)."""

    @abstractmethod
    def claims(self, db: Database, lock: threading.RLock) -> ClaimStore:
        """The claim store (``db``/``lock``: the registry's, for the file backend)."""

    @property
    @abstractmethod
    def voices(self) -> VoiceIndex | None:
        """The shared voice index (``None``: the local registry is all there is)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (it reconnects when used again)."""


def namespace(account: str) -> str:
    """The key prefix of an account: a hash, so the API key itself is never stored."""
    return hashlib.sha256(account.encode("utf-8")).hexdigest()[:16]


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
