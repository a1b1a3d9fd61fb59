"""Numeric arguments checked before anything is sent (one rule, every frontend).

A number that cannot work (``timeout=-1``, ``retries=-1``, ``concurrency=0``, NaN) is refused
with :class:`~cosyvoice_clone.errors.InvalidRequestError` (exit 2, "nothing was sent") at the
start of the operation, so a request that cannot succeed never spends a voice slot or a task.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import InvalidRequestError


def require_number(
    value: Any,
    field: str,
    *,
    minimum: float,
    maximum: float | None = None,
    integer: bool = False,
    above: bool = False,
) -> None:
    """Refuse ``value`` unless it is a (finite) number in range.

    ``minimum`` is inclusive unless ``above`` (then the value must be greater); ``integer``
    also refuses fractions. ``field`` names the argument (``timeout`` ...) in the message,
    written as the CLI option (``--timeout``) when it has one.
    """
    name = "--" + field.replace("_", "-")
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(f"{name} must be {kind}, not {value!r}", field=field)
    if integer and not float(value).is_integer():
        raise InvalidRequestError(f"{name} must be {kind}, not {value!r}", field=field)
    if not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a finite number, not {value}", field=field)
    low_ok = value > minimum if above else value >= minimum
    if not low_ok or (maximum is not None and value > maximum):
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        if maximum is None:
            rule = f"greater than {minimum:g}" if above else f"at least {minimum:g}"
        else:
            rule = f"between {minimum:g} and {maximum:g}"
        raise InvalidRequestError(f"{name} must be {rule}, not {shown}", field=field)


def require_timeout(value: Any, field: str = "timeout") -> None:
    """A wait bound in seconds: finite and greater than 0."""
    require_number(value, field, minimum=0, above=True)


def require_concurrency(concurrency: Any, retries: Any) -> None:
    """Tasks at once (1–64) and retries of a transient failure (0–20)."""
    require_number(concurrency, "concurrency", minimum=1, maximum=64, integer=True)
    require_number(retries, "retries", minimum=0, maximum=20, integer=True)


__all__ = ["require_concurrency", "require_number", "require_timeout"]
