"""The one retry/backoff policy, for REST (:mod:`.http`) and WebSocket synthesis.

- :class:`RetryPolicy`: attempts, exponential delays with jitter, ``Retry-After`` capping, a
  total time budget; ``delay(attempt, retry_after)`` for HTTP, ``backoff(attempt, error)``
  when a throttling error starts from a longer delay.
- :data:`NO_RETRY`; :data:`SYNTHESIS_RETRY`, the synthesis tasks' policy (0.3 s doubling to
  8 s, 1 s after throttling, no jitter: the rule ``synthesis/client.py`` had as ``_backoff``).
- :class:`RetryNotice` / :data:`RetryCallback`: what a caller hears before each retry's pause.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

ENV_RETRY_ATTEMPTS = "COSYVOICE_CLONE_RETRY_ATTEMPTS"
ENV_RETRY_TIMEOUT = "COSYVOICE_CLONE_RETRY_TIMEOUT"
THROTTLING_CODES = frozenset({"Throttling", "Throttling.RateQuota"})
"""Service codes that mean "too fast" (a longer first delay)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; delays grow exponentially with jitter."""

    max_attempts: int = 10
    initial_delay: float = 0.25
    max_delay: float = 8.0
    multiplier: float = 2.0
    total_timeout: float = 120.0
    """Seconds from the first attempt after which no retry starts."""
    max_retry_after: float = 30.0
    """A ``Retry-After`` longer than this is capped."""
    jitter: bool = True
    throttled_initial_delay: float | None = None
    """The first delay after a throttling error (``Throttling*``) when it differs."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """The default policy with ``COSYVOICE_CLONE_RETRY_ATTEMPTS`` / ``..._RETRY_TIMEOUT``."""
        env = os.environ if environ is None else environ
        policy = cls()
        changes: dict[str, Any] = {}
        for name, attr, kind in (
            (ENV_RETRY_ATTEMPTS, "max_attempts", int),
            (ENV_RETRY_TIMEOUT, "total_timeout", float),
        ):
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number") from None
            if value < (1 if kind is int else 0):
                raise ConfigError(f"{name}={raw!r} is out of range")
            changes[attr] = value
        return dataclasses.replace(policy, **changes) if changes else policy

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None and retry_after >= 0:
            base = min(retry_after, self.max_retry_after)
            return base + (random.uniform(0, 0.1 * base + 0.05) if self.jitter else 0.0)
        return self._exponential(attempt, self.initial_delay)

    def backoff(self, attempt: int, error: BaseException | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) that raised ``error``: a
        throttling error starts from ``throttled_initial_delay`` (the WebSocket side's rule)."""
        throttled = getattr(error, "api_code", None) in THROTTLING_CODES
        if throttled and self.throttled_initial_delay is not None:
            return self._exponential(attempt, self.throttled_initial_delay)
        return self._exponential(attempt, self.initial_delay)

    def _exponential(self, attempt: int, initial: float) -> float:
        ceiling = min(self.max_delay, initial * self.multiplier ** (attempt - 1))
        if not self.jitter:
            return ceiling
        return ceiling / 2 + random.uniform(0, ceiling / 2)


NO_RETRY = RetryPolicy(max_attempts=1)

RetryCallback = Callable[["RetryNotice"], None]
"""Called before each retry's pause (e.g. to tell a user in CI that something is going on)."""


@dataclass(frozen=True)
class RetryNotice:
    """What a retry callback learns: which request, why, how far along."""

    label: str
    """What the request does (``create_voice``, ``list_voice`` ...) or its path."""
    reason: str
    """``http503``, ``http429``, ``timeout``, ``connect`` ..."""
    attempt: int
    """The attempt that just failed (1-based)."""
    max_attempts: int
    delay: float
    """Seconds until the next attempt."""
    elapsed: float
    """Seconds since the request's first attempt."""


SYNTHESIS_RETRY = RetryPolicy(
    max_attempts=4, initial_delay=0.3, max_delay=8.0, throttled_initial_delay=1.0, jitter=False
)
"""Synthesis tasks: ``SYNTHESIS_RETRY.backoff(n, error)`` after the n-th failed attempt."""


__all__ = [
    "ENV_RETRY_ATTEMPTS",
    "ENV_RETRY_TIMEOUT",
    "NO_RETRY",
    "SYNTHESIS_RETRY",
    "THROTTLING_CODES",
    "RetryCallback",
    "RetryNotice",
    "RetryPolicy",
]
