"""Request plumbing shared by the emulator's endpoints: request ids, keys, recorded JSON bodies.

Every JSON body a client sends to an API endpoint (and every WebSocket command) is recorded with
its headers, credentials removed, so that a test can compare what two clients put on the wire
(``Backend.recorded()``, ``GET /_emulator/requests``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import HTTPConnection, Request

from .backend import Backend
from .exceptions import ApiError, invalid_parameter

SECRET_HEADERS = frozenset({"authorization", "cookie", "x-api-key"})
SECRET_QUERY = frozenset({"api_key", "signature"})


def request_id() -> str:
    """A fresh request id (uuid4, like the service's)."""
    return str(uuid.uuid4())


def bearer_key(conn: HTTPConnection) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (scheme case-insensitive)."""
    scheme, _, key = conn.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


def wire_view(conn: HTTPConnection) -> dict[str, Any]:
    """Path, query and headers of a request, without credentials."""
    return {
        "path": conn.url.path,
        "query": {k: v for k, v in conn.query_params.items() if k.lower() not in SECRET_QUERY},
        "headers": {
            k.lower(): v for k, v in conn.headers.items() if k.lower() not in SECRET_HEADERS
        },
    }


async def read_capped(request: Request, limit: int) -> bytes:
    """The request body, or :class:`ApiError` 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "RequestTooLarge", f"The request body exceeds {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "RequestTooLarge", f"The request body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int, endpoint: str) -> Any:
    """The parsed JSON body (recorded under ``endpoint``); 400 if it is not JSON."""
    body = await read_capped(request, limit)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_parameter("The request body is not valid JSON.") from None
    backend: Backend = request.app.state.backend
    backend.record(endpoint, {"method": request.method, **wire_view(request), "body": payload})
    return payload
