"""Numeric arguments checked before anything is sent (one rule, every frontend).

A number that cannot work (``timeout=-1``, ``retries=-1``, ``concurrency=0``, NaN) is refused
with :class:`~cosyvoice_clone.errors.InvalidRequestError` (exit 2, "nothing was sent") at the
start of the operation, so a request that cannot succeed never spends a voice slot or a task.
"""

from __future__ import annotations

import math
import os
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
    label: str | None = None,
) -> None:
    """Refuse ``value`` unless it is a (finite) number in range.

    ``minimum`` is inclusive unless ``above`` (then the value must be greater); ``integer``
    also refuses fractions. ``field`` names the argument (``timeout`` ...) in the message,
    written as the CLI option (``--timeout``) unless ``label`` names it otherwise.
    """
    name = label or "--" + field.replace("_", "-")
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


def require_timeout(value: Any, field: str = "timeout", label: str | None = None) -> None:
    """A wait bound in seconds: finite and greater than 0."""
    require_number(value, field, minimum=0, above=True, label=label)


def require_concurrency(concurrency: Any, retries: Any) -> None:
    """Tasks at once (1–64) and retries of a transient failure (0–20)."""
    require_number(concurrency, "concurrency", minimum=1, maximum=64, integer=True)
    require_number(retries, "retries", minimum=0, maximum=20, integer=True)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _refuse_type(name: str, wanted: str, value: Any) -> InvalidRequestError:
    # The value itself is never shown: it may be a key.
    return InvalidRequestError(f"{name} must be {wanted}, not {_type_name(value)}", field=name)


_STR_ARGUMENTS = ("region", "api_key", "http_base", "websocket_url", "workspace")
_PATH_ARGUMENTS = ("home", "output_dir")


def check_client_arguments(**arguments: Any) -> None:
    """Refuse a wrongly typed argument of the public constructors (``CosyVoice``,
    ``AsyncCosyVoice``) with :class:`InvalidRequestError` naming it, before anything is read
    or sent. Pass any subset of the constructor's keyword arguments; ``None`` (and the
    "not given" sentinel) is always accepted. The value is never put in the message.
    """
    import httpx

    from ._retry import RetryPolicy
    from .config import Settings
    from .http import NotGiven

    for name, value in arguments.items():
        if value is None or isinstance(value, NotGiven):
            continue
        if name in _STR_ARGUMENTS:
            if not isinstance(value, str):
                raise _refuse_type(name, "a str", value)
        elif name in _PATH_ARGUMENTS:
            if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
                raise _refuse_type(name, "a str or a path", value)
        elif name == "settings":
            if not isinstance(value, Settings):
                raise _refuse_type(name, "a cosyvoice_clone.config.Settings", value)
        elif name == "evidence":
            if not isinstance(value, bool):
                raise _refuse_type(name, "True or False", value)
        elif name == "transport":
            if not isinstance(value, (httpx.BaseTransport, httpx.AsyncBaseTransport)):
                raise _refuse_type(name, "an httpx transport", value)
        elif name == "retry":
            if not isinstance(value, RetryPolicy):
                raise _refuse_type(name, "a RetryPolicy", value)
        elif name == "rate_limit":
            require_number(value, name, minimum=0, above=True, label=name)
        elif name == "timeout":
            if not isinstance(value, httpx.Timeout):
                require_timeout(value, name, label=name)
        elif name == "max_connections":
            require_number(value, name, minimum=1, maximum=1000, integer=True, label=name)
        elif name == "on_retry":
            if not callable(value):
                raise _refuse_type(name, "a callable", value)
        else:
            raise TypeError(f"check_client_arguments: unknown argument {name!r}")


__all__ = ["check_client_arguments", "require_concurrency", "require_number", "require_timeout"]
