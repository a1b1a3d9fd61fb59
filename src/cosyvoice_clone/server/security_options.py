"""The options of the local servers' protections (``--allowed-host``, ``--cors-origin``,
``--api-key``, ``--max-input-chars``): validated once, one clear error each, and the parsing of
the Host and Origin values the middleware (:mod:`.security`) compares them with."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from urllib.parse import urlsplit

from .. import catalog
from ..errors import InvalidRequestError

DEFAULT_MAX_INPUT_CHARS = 20_000
"""Characters of text per speech request: 5x OpenAI's 4,096, a tenth of the service's 200,000
per task (about 25 minutes of speech)."""
MAX_INPUT_CHARS_RANGE = (1, catalog.MAX_CHARS_PER_TASK)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def check_options(
    *,
    allowed_hosts: list[str] | tuple[str, ...] = (),
    cors_origins: list[str] | tuple[str, ...] = (),
    api_keys: list[str] | tuple[str, ...] = (),
    max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validate ``--allowed-host``, ``--cors-origin``, ``--api-key`` and ``--max-input-chars``
    (one clear error each, never showing a key); return the normalised hosts and origins."""
    for index, key in enumerate(api_keys, 1):
        if not key or any(not ("!" <= ch <= "~") for ch in key):
            raise InvalidRequestError(
                f"--api-key number {index} contains a space, a line break or a character "
                "that is not printable ASCII",
                field="api_key",
                hint="a server key is printable ASCII without spaces, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe())'`",
            )
    hosts: list[str] = []
    for name in allowed_hosts:
        host = name.strip().lower().rstrip(".")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host or any(ch in host for ch in "/@ ") or (host != "*" and "*" in host):
            raise InvalidRequestError(
                f"invalid --allowed-host {name!r}",
                field="allowed_host",
                hint="give a host name or address without scheme or port, e.g. "
                "--allowed-host speech.example.org (or '*' with --api-key)",
            )
        hosts.append(host)
    if "*" in hosts and not api_keys:
        raise InvalidRequestError(
            "--allowed-host '*' accepts any Host: it needs an --api-key",
            field="allowed_host",
            hint="name the hosts instead (--allowed-host NAME, repeatable), or add --api-key KEY",
        )
    origins: list[str] = []
    for value in cors_origins:
        origin = origin_of(value.strip())
        if origin is None:
            raise InvalidRequestError(
                f"invalid --cors-origin {value!r}",
                field="cors_origin",
                hint="give an origin: scheme://host[:port] without a path, e.g. "
                "--cors-origin http://localhost:3000",
            )
        origins.append(origin)
    low, high = MAX_INPUT_CHARS_RANGE
    if not low <= max_input_chars <= high:
        raise InvalidRequestError(
            f"--max-input-chars {max_input_chars} is out of range",
            field="max_input_chars",
            hint=f"use {low} to {high:,} (the service's limit per task); "
            f"the default is {DEFAULT_MAX_INPUT_CHARS:,}",
        )
    return tuple(dict.fromkeys(hosts)), tuple(dict.fromkeys(origins))


def origin_of(value: str) -> str | None:
    """``scheme://host[:port]`` normalised (lower case, default port dropped), or ``None``."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def split_host(value: str) -> tuple[str, str | None] | None:
    """A ``Host`` header as (host, port); ``None`` when it is not one."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return host, rest[1:] or None
    host, sep, port = value.partition(":")
    if sep and not port.isdigit():
        return None
    return host.rstrip("."), port or None


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_wildcard(host: str | None) -> bool:
    return host in ("0.0.0.0", "::", "")


def machine_names() -> set[str]:
    names = {socket.gethostname().lower()}
    with contextlib.suppress(OSError):
        names.add(socket.getfqdn().lower())
    return names
