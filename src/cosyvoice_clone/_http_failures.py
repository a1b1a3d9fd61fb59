"""How the HTTP client words and judges a failure: what a call does in words, a connection
that is hopeless to retry, the region advice, the ``Retry-After`` header (no I/O)."""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._flow import Call

_NET_HINT = "check the network, the endpoint (cosyvoice-clone doctor) and try again"

_DOING = {
    "list_voice": "listing voices",
    "query_voice": "asking for a voice",
    "create_voice": "creating the voice",
    "update_voice": "updating the voice",
    "delete_voice": "deleting the voice",
    "getPolicy": "asking for an upload slot",
    "upload": "uploading the sample",
}
"""What each call does, in words (the service's action names are internal)."""


def _doing(call: Call) -> str:
    label = call.label or ""
    return _DOING.get(label) or label.replace("_", " ") or f"{call.method} {call.path}"


QUICK_ATTEMPTS = 3
"""Attempts at most when nothing listens or the host is unknown (two quick retries, under a
second: enough for a server that is just starting, not 30 s of hoping)."""


def _hopeless_connect(exc: BaseException) -> bool:
    """A connection refused or a host name that does not resolve (retrying rarely helps)."""
    import socket

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionRefusedError, socket.gaierror)):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return "refused" in text or "name or service not known" in text or "nodename" in text


def _alibaba_host(host: str) -> bool:
    """Whether ``host`` is one of Alibaba Cloud's (where the region advice applies)."""
    name = host.rsplit("@", 1)[-1].split(":", 1)[0].lower()
    return name.endswith(".aliyuncs.com") or name.endswith(".aliyun.com")


def _other_region_hint(region: str) -> str:
    from . import catalog

    others = [r for r in catalog.REGIONS.values() if r.name != region]
    return "; ".join(f"--region {r.name} uses {urlsplit(r.http_base).netloc}" for r in others)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - time.time())
