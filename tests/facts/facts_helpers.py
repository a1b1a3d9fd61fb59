"""Helpers of the issue-28 tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Run:
    """What one in-process run of the CLI produced."""

    code: int
    out: str
    err: str
