"""The contract every state backend implements (see :mod:`cosyvoice_clone.state`)."""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from typing import Any, Protocol

from ..claims import ClaimStore, Database
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


__all__ = ["LOGGER", "StateBackend", "VoiceIndex", "namespace"]
