"""One access-log line for every request on every route, and ``x-request-id`` on every answer.

:class:`AccessMiddleware` is the outermost layer of the app (outside the protections of
:mod:`.security`, so that a refused Host, Origin or body is logged too). Each request gets an
:class:`AccessEntry` in its scope (:func:`entry_of`); handlers fill in what they know (voice,
model, characters, format, ``stream_format``, the first audio's time), and the middleware writes
the line once the answer is over, as JSON on the ``cosyvoice_clone.server.access`` logger:
method, path (never the query), status, the error's ``code``, the user agent, timings and the
request id. Never the key, never the text.

``x-request-id`` (what the ``openai`` package reads into ``_request_id``): the DashScope request
id when the answer has one (``X-DashScope-Request-Id``), else an id made here (``req_…``).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

access_log = logging.getLogger("cosyvoice_clone.server.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCOPE_KEY = "cosyvoice_clone.access"
REQUEST_ID = b"x-request-id"
DASHSCOPE_REQUEST_ID = b"x-dashscope-request-id"
_ERROR_BODY_MAX = 64 * 1024
_USER_AGENT_MAX = 200


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 1)


@dataclass
class AccessEntry:
    """One access log line: what was asked and how it went; never the key or the text."""

    method: str
    path: str
    user_agent: str | None = None
    started: float = field(default_factory=time.monotonic)
    status: int = 200
    error: str | None = None
    voice: str | None = None
    model: str | None = None
    characters: int | None = None
    format: str | None = None
    stream_format: str | None = None
    first_byte_ms: float | None = None
    first_audio_ms: float | None = None
    request_id: str | None = None
    notes: list[str] = field(default_factory=list)
    """What the server adjusted (``speed clamped``, ``instructions ignored``, ...)."""
    written: bool = False

    def mark_first_audio(self) -> None:
        self.first_audio_ms = _ms(self.started)

    def write(self) -> None:
        """Write the line (once)."""
        if self.written:
            return
        self.written = True
        data: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "error": self.error,
            "user_agent": self.user_agent,
            "voice": self.voice,
            "model": self.model,
            "characters": self.characters,
            "format": self.format,
            "stream_format": self.stream_format,
            "first_byte_ms": self.first_byte_ms,
            "first_audio_ms": self.first_audio_ms,
            "total_ms": _ms(self.started),
            "request_id": self.request_id,
        }
        if self.notes:
            data["adjusted"] = self.notes
        access_log.info(json.dumps(data, ensure_ascii=False))


def entry_of(scope: Scope) -> AccessEntry:
    """The request's entry (a detached one when the middleware is not installed)."""
    entry = scope.get(SCOPE_KEY)
    if isinstance(entry, AccessEntry):
        return entry
    entry = AccessEntry(str(scope.get("method", "")), str(scope.get("path", "")))
    scope[SCOPE_KEY] = entry
    return entry


def _error_code(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code is not None else None


class AccessMiddleware:
    """The access line and ``x-request-id`` (see the module docstring); pure ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        agent = next((v for k, v in scope.get("headers", []) if k.lower() == b"user-agent"), b"")
        entry = AccessEntry(
            scope["method"],
            scope["path"],
            agent.decode("latin-1")[:_USER_AGENT_MAX] or None,
        )
        scope[SCOPE_KEY] = entry
        error_body: bytearray | None = None

        async def logged(message: Message) -> None:
            nonlocal error_body
            if message["type"] == "http.response.start":
                entry.status = int(message["status"])
                entry.first_byte_ms = _ms(entry.started)
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != REQUEST_ID]  # fmt: skip
                upstream = next((v for k, v in headers if k.lower() == DASHSCOPE_REQUEST_ID), None)
                if upstream:
                    entry.request_id = upstream.decode("latin-1")
                if not entry.request_id:
                    entry.request_id = f"req_{secrets.token_hex(12)}"
                headers.append((REQUEST_ID, entry.request_id.encode("latin-1")))
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if entry.status >= 400 and ctype.startswith(b"application/json"):
                    error_body = bytearray()
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and error_body is not None:
                if len(error_body) < _ERROR_BODY_MAX:
                    error_body += message.get("body", b"")
                if not message.get("more_body") and entry.error is None:
                    entry.error = _error_code(bytes(error_body))
            await send(message)

        try:
            await self.app(scope, receive, logged)
        except BaseException as exc:
            if entry.status < 400:
                entry.status, entry.error = 500, entry.error or type(exc).__name__
            raise
        finally:
            entry.write()
