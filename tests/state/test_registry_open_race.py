"""Processes that open a brand-new registry at the same moment all get it (no "foreign" file).

Without the opening lock, about one round in fifteen (8 processes) had a process read "no
migration history" just before another committed the first migrations, then refuse the new file
as unreadable.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from cosyvoice_clone.registry import MIGRATIONS, Registry

ROUNDS = 60  # without the lock, most runs of 60 rounds fail
PROCESSES = 8


def open_at(home: Path, at: float) -> str:
    while time.time() < at:
        pass
    try:
        with Registry(home) as registry:
            return str(registry.schema_version)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def test_racing_openers_all_open_a_new_registry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    expected = [str(len(MIGRATIONS))] * PROCESSES
    with context.Pool(PROCESSES) as pool:
        for n in range(ROUNDS):
            home = tmp_path / f"h{n}"
            at = time.time() + 0.05
            assert pool.starmap(open_at, [(home, at)] * PROCESSES) == expected
            assert not list(home.glob("*.bad"))
