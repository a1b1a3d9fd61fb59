"""The default backend: files under the home, exactly as one host has always shared them."""

from __future__ import annotations

import threading
from pathlib import Path

from ..claims import ClaimBoard, ClaimStore, Database
from .base import StateBackend, VoiceIndex


class FileState(StateBackend):
    """Pacing files (:mod:`cosyvoice_clone.pacing`) and SQLite claims; no shared index."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.display = f"files under {home}"

    def check(self) -> None:
        """Nothing to probe: the home is checked where it is opened."""

    def claims(self, db: Database, lock: threading.RLock) -> ClaimStore:
        return ClaimBoard(db, lock)

    def close(self) -> None:
        """Nothing is held open here (the pacing files and the registry close themselves)."""

    @property
    def voices(self) -> VoiceIndex | None:
        return None


__all__ = ["FileState"]
