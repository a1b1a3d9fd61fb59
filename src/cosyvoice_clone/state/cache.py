"""The local registry as a cache of the shared voice index (a mixin of ``Registry``).

Writes publish what this home created (:meth:`SharedCache._share`); lookups that miss here pull
the shared record into the SQLite file (:meth:`SharedCache._pull`), then the registry answers
from its file as before. Reads before speech go on with the local file on an outage (a
warning); reads before a create (``strict``) raise ``StateUnavailableError``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

from ..errors import CosyVoiceCloneError
from ..models import VoiceRecord
from .base import LOGGER, VoiceIndex

log = logging.getLogger(LOGGER)

SOFT_RETRY = 5.0
"""Seconds between attempts to read the shared index again for speech after an outage."""


class _Executes(Protocol):
    def execute(self, sql: str, params: Any = (), /) -> Any: ...


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SharedCache:
    """Pull and publish against ``shared`` (``None``: nothing is shared)."""

    shared: VoiceIndex | None = None
    """The voice index shared with other replicas (``None``: the file is all there is)."""
    _db: _Executes
    _lock: threading.RLock
    _soft_until = 0.0
    _soft_down = False

    def _local(self, voice_id: str) -> VoiceRecord | None:
        raise NotImplementedError

    def _pull(self, voice_id: str) -> None:
        """Copy the shared record of ``voice_id`` into this file (strict: errors propagate)."""
        assert self.shared is not None
        record = self.shared.get(voice_id)
        if record is None:
            return
        values = {k: v for k, v in record.to_dict().items() if v is not None}
        if isinstance(values.get("options"), dict):
            values["options"] = json.dumps(values["options"], sort_keys=True)
        now = _now()
        for column in ("created_at", "updated_at", "seen_at"):
            values.setdefault(column, now)
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._lock:
            self._db.execute(
                f"INSERT OR IGNORE INTO voices ({columns}) VALUES ({marks})",
                tuple(values.values()),
            )

    def _soft_pull(self, action: Callable[[], None]) -> None:
        """A pull before speech: on an outage, warn once and skip pulls for a while (the
        local file answers), so a hung Redis never stalls every request."""
        if time.monotonic() < self._soft_until:
            return
        try:
            action()
        except CosyVoiceCloneError as err:
            if not self._soft_down:
                log.warning("%s; voices resolve from this home's registry until it is back", err)
            self._soft_down = True
            self._soft_until = time.monotonic() + SOFT_RETRY
            return
        self._soft_down = False

    def _pull_prefix(self, prefix: str | None, endpoint: str | None, *, strict: bool) -> None:
        """Copy the shared voices of ``prefix`` at ``endpoint`` missing here into this file."""
        shared = self.shared
        if shared is None or prefix is None or endpoint is None:
            return

        def pull() -> None:
            for voice_id in sorted(shared.ids_for_prefix(endpoint, prefix)):
                if self._local(voice_id) is None:
                    self._pull(voice_id)

        if strict:
            pull()
        else:
            self._soft_pull(pull)

    def _share(self, voice_id: str, values: dict[str, Any] | None = None) -> None:
        """Publish a write: the whole record (``values`` None) or some fields of it."""
        if self.shared is None:
            return
        try:
            if values is None:
                record = self._local(voice_id)
                if record is not None:
                    self.shared.put(record)
            else:
                self.shared.update(voice_id, values)
        except CosyVoiceCloneError as err:
            log.warning(
                "voice %s is registered here but not shared (%s): other replicas see it "
                "when the shared state is back",
                voice_id,
                err.message,
            )


__all__ = ["SharedCache"]
