"""What the connection tests share: the system voice, reading the emulator's connections."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from cosyvoice_clone.emulator.server import RunningEmulator

MODEL = "cosyvoice-v3-flash"
VOICE = "longanyang"
"""A system voice of MODEL: no cloning, nothing on REST before speaking."""


def last_id(emulator: RunningEmulator) -> int:
    """The id of the newest connection the emulator saw (0: none)."""
    return max((entry["id"] for entry in emulator.websockets()), default=0)


def since(emulator: RunningEmulator, start: int) -> list[dict[str, Any]]:
    """The connections opened after ``start`` (:func:`last_id`), oldest first."""
    return [entry for entry in emulator.websockets() if entry["id"] > start]


def eventually(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Whether ``check()`` turns true within ``timeout`` seconds (closes land asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def seed_dropping_first(probability: float) -> int:
    """A fault seed whose first roll fires at ``probability`` and whose second does not."""
    for seed in range(100_000):
        dice = random.Random(seed)
        if dice.random() < probability <= dice.random():
            return seed
    raise AssertionError("no seed found")  # pragma: no cover
