"""The emulator's knobs (:class:`EmulatorConfig`) and the fixed limits of the emulated service.

Every knob may change while the emulator runs (``POST /_emulator/config``, the pytest fixture's
``set_*`` methods, ``COSYVOICE_CLONE_EMULATOR_*`` variables for the embedded one):
:meth:`EmulatorConfig.update` checks every value before it applies any.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .. import catalog
from .faults import parse_faults, validate_faults

DEFAULT_API_KEY = "sk-cosyvoice-emulator"
"""The documented key every emulator accepts unless configured otherwise (not a secret)."""

UPLOAD_EXPIRE_SECONDS = 48 * 3600
"""Uploaded files live this long (the service's temporary storage: 48 h)."""
UPLOAD_POLICY_SECONDS = 300
UPLOAD_MAX_FILE_MB = 100
UPLOAD_STORE_MAX_BYTES = 20 * 1024 * 1024
"""The stand-in OSS host refuses files above this (the emulator keeps uploads in SQLite)."""
UPLOAD_POLICY_REQUESTS_PER_SECOND = 100.0
MAX_PAGE_SIZE = 1000
"""The largest ``page_size`` of ``list_voice``."""
RECORD_LIMIT = 200
"""Requests kept per endpoint for :meth:`~.backend.Backend.recorded`."""


@dataclass
class EmulatorConfig:
    """Knobs of one emulator; every field may be changed while it runs."""

    deploy_delay: float = 0.0
    """Seconds a new (or updated) voice stays DEPLOYING before it becomes OK."""
    create_delay: float = 0.0
    """Seconds ``create_voice`` waits after storing the voice before it answers (a window in
    which a test can kill the client: the voice exists, the client doesn't know it yet)."""
    first_audio_latency: float = 0.0
    """Seconds between run-task and the first audio frame."""
    rtf: float = 0.0
    """Audio is produced at ``rtf`` × real time (0.5 = twice as fast as playback; 0 = at once)."""
    rate_limits: bool = True
    """10 enrollment requests/s in total and 3 synthesis task submissions/s per model."""
    faults: dict[str, float] = field(default_factory=dict)
    """Fault kind -> probability (see :mod:`.faults`)."""
    quota: int = catalog.VOICE_QUOTA
    region: str = catalog.DEFAULT_REGION
    api_keys: set[str] = field(default_factory=lambda: {DEFAULT_API_KEY})
    fetch_timeout: float = 10.0
    """Seconds allowed to download a sample URL."""
    enrollment_rps: float = catalog.ENROLLMENT_REQUESTS_PER_SECOND
    synthesis_tasks_per_second: float = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL
    idle_timeout: float = catalog.SYNTHESIS_IDLE_TIMEOUT_S
    """Seconds without a client message before a synthesis task fails."""
    seed: int | None = None
    """Seed of the fault dice (``None``: unpredictable)."""
    network_delay: float = 0.0
    """One-way seconds between client and emulator on synthesis connections: every message and
    audio frame arrives this much later, each way, and a handshake costs
    ``handshake_round_trips`` round trips (read when a connection opens)."""
    handshake_round_trips: int = 3
    """Round trips of a connection handshake: TCP 1, TLS 1.3 1, the HTTP upgrade 1."""
    connection_idle_timeout: float = 60.0
    """Seconds a synthesis connection without a running task stays open without a message
    (the service closes idle connections after 60 s)."""
    stale_drops: int = 0
    """The next N run-tasks arriving on a connection that already ran a task are answered by a
    TCP drop: the race where the service's idle close crosses a reused connection's run-task."""

    def copy(self) -> EmulatorConfig:
        """A deep-enough copy (own faults dict and key set)."""
        return dataclasses.replace(self, faults=dict(self.faults), api_keys=set(self.api_keys))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view; the API keys are counted, never shown."""
        data = dataclasses.asdict(self)
        data["api_keys"] = len(self.api_keys)
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (a dict of field -> value) after validating every one of them."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        staged: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in fields:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(sorted(fields))}")
            staged[name] = _coerce_setting(name, value)
        for name, value in staged.items():
            setattr(self, name, value)


_FLOAT_SETTINGS = {
    "create_delay",
    "deploy_delay",
    "first_audio_latency",
    "rtf",
    "fetch_timeout",
    "enrollment_rps",
    "synthesis_tasks_per_second",
    "idle_timeout",
    "network_delay",
    "connection_idle_timeout",
}
_INT_SETTINGS = {"quota", "handshake_round_trips", "stale_drops"}


def _coerce_setting(name: str, value: Any) -> Any:
    if name in _FLOAT_SETTINGS:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{name} must be a number")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{name} must be a finite number >= 0")
        return number
    if name == "rate_limits":
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise ValueError("rate_limits must be true or false")
        return value
    if name == "faults":
        if isinstance(value, str):
            return parse_faults(value)
        if not isinstance(value, dict):
            raise ValueError("faults must be a spec string or an object of kind -> probability")
        return validate_faults(value)
    if name in _INT_SETTINGS:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"{name} must be an integer")
        try:
            count = int(value)
        except ValueError:
            raise ValueError(f"{name} must be an integer, not {value!r}") from None
        if count < 0:
            raise ValueError(f"{name} must be >= 0")
        return count
    if name == "region":
        if value not in catalog.REGIONS:
            raise ValueError(f"unknown region {value!r}; known: {', '.join(catalog.REGIONS)}")
        return value
    if name == "api_keys":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, set, tuple)) or not all(
            isinstance(k, str) and k for k in value
        ):
            raise ValueError("api_keys must be a list of non-empty strings")
        if not value:
            raise ValueError("api_keys must not be empty")
        return set(value)
    if name == "seed":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("seed must be an integer or null")
        return value
    raise ValueError(f"unknown setting {name!r}")  # pragma: no cover - guarded by update()
