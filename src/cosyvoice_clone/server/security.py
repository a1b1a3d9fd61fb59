"""What keeps the local servers safe on the user's machine: one ASGI middleware.

A web page the user visits must not be able to spend the account or read and change voices
through ``cosyvoice-clone serve`` (or ``emulator serve``) on ``127.0.0.1``. What the most trusted
local servers do (Jupyter's token, Host and Origin checks; Ollama's allowed hosts and origins
after its DNS-rebinding fix; the ``mcp`` SDK's transport security; Vite's ``server.allowedHosts``
after CVE-2025-24010) is done here, in this order, before any handler runs:

1. **Host** (HTTP and WebSocket): the bound address, ``localhost``, the loopback addresses and
   the names given with ``--allowed-host`` (``*``: any, only with ``--api-key``); a wildcard
   bind also accepts any IP address and this machine's name. Anything else: 421, one line
   naming ``--allowed-host``. (A DNS-rebinding page sends its own name as Host.)
2. **Origin**: a request carrying an ``Origin`` that is neither the server's own (the Host it
   was sent to, or an ``--allowed-host`` name) nor one given with ``--cors-origin`` is refused
   (403) before any work; ``Origin: null`` is foreign. Requests without ``Origin`` (SDKs,
   curl, other servers) are unaffected. CORS preflights are answered for ``--cors-origin``
   origins only, and only their answers carry ``Access-Control-Allow-Origin``.
3. (``serve`` only) **the studio's per-launch token**: every ``POST``/``DELETE`` under
   ``/studio/api`` carries ``X-Studio-Token`` (the page has it in a ``<meta>`` tag, put there
   by :func:`studio_page`, and ``api.js`` sends it) or a valid server ``--api-key``.
4. (``serve`` only) **content types**: the JSON endpoints take ``application/json`` only (415);
   the sample upload takes raw audio and refuses the three types an HTML form can send
   without a CORS preflight (``text/plain``, ``multipart/form-data``,
   ``application/x-www-form-urlencoded``).
5. (``serve`` only) **limits**: a body cap (413; the upload's cap is the studio's
   :data:`UPLOAD_MAX_BYTES`), a JSON nesting limit (400, never a 500 from a RecursionError)
   and ``--max-input-chars`` on the text to speak (413).
6. **No secret in any answer**: error bodies (status >= 400), server-sent events and every
   header pass :func:`cosyvoice_clone.config.redact` with the configured keys; an exception
   that escapes a handler becomes a redacted 500 in the route's error shape, and every log
   record made in the process is redacted the same way (:func:`redact_logs`, in
   :mod:`.redaction`).

The options (``--allowed-host``, ``--cors-origin``, ``--api-key``, ``--max-input-chars``) are
validated, and Host/Origin values parsed, in :mod:`.security_options`.

Why Origin is enough for writes: browsers send ``Origin`` on every request whose method is
neither GET nor HEAD (``no-cors`` fetches and form posts included) and on every CORS request
(Fetch Standard, "append a request `Origin` header", fetch.spec.whatwg.org, read 2026-12); a
cross-origin GET without it gets an opaque answer the page cannot read. The Host check is what
stops a rebinding page, which is same-origin with itself and sends its own name as Host.

Errors use the one error shape of :class:`~.protocol.APIError` (OpenAI's ``{"error": {...}}``,
also the studio's); the emulator's in DashScope's ``{"request_id", "code", "message"}``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import catalog
from ..config import redact
from .protocol import APIError
from .redaction import redact_logs
from .security_options import (
    DEFAULT_MAX_INPUT_CHARS,
    LOOPBACK_HOSTS,
    check_options,
    is_ip,
    is_wildcard,
    machine_names,
    origin_of,
    split_host,
)

__all__ = [
    "DEFAULT_MAX_INPUT_CHARS",
    "MAX_JSON_DEPTH",
    "UPLOAD_MAX_BYTES",
    "Protection",
    "SecurityMiddleware",
    "check_options",
    "default_protection",
    "install",
    "redact_logs",
    "studio_page",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("cosyvoice_clone.server.security")

UPLOAD_MAX_BYTES = 4 * catalog.SAMPLE_MAX_BYTES
"""A sample upload (the studio's Fix repairs a file up to 4x the service's 10 MiB)."""
MAX_JSON_DEPTH = 32
STUDIO_TOKEN_HEADER = "x-studio-token"
STUDIO_TOKEN_META = "cosyvoice-studio-token"
FORM_TYPES = ("text/plain", "multipart/form-data", "application/x-www-form-urlencoded")
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
UPLOAD_PATH = "/studio/api/samples"
STUDIO_API = "/studio/api/"
MULTIPART_PATHS = {"/v1/audio/voice_consents": "recording", "/v1/audio/voices": "audio_sample"}
"""OpenAI's uploads (the ``openai`` package always sends them as multipart/form-data): the one
place a form type is taken. A page cannot post one here: browsers send ``Origin`` with every
form post, and a foreign one is refused (step 2). Their body cap is one file of the service's
10 MiB plus the form's other fields; the field named is the one a 413 blames."""
MULTIPART_MAX_BYTES = catalog.SAMPLE_MAX_BYTES + 2**20
SPEECH_PATHS = {"/v1/audio/speech": "input", "/studio/api/speech": "text"}
"""Routes whose text is limited by ``--max-input-chars``, and the field holding it."""


@dataclass(frozen=True)
class Protection:
    """How one server is protected (see the module docstring)."""

    bound_host: str | None = None
    """The address the server listens on; ``None``: unknown (any IP address is accepted)."""
    allowed_hosts: tuple[str, ...] = ()
    """``--allowed-host`` names (``*``: any Host)."""
    cors_origins: tuple[str, ...] = ()
    """``--cors-origin`` origins (``scheme://host[:port]``)."""
    api_keys: tuple[str, ...] = ()
    """The server's own keys (``--api-key``): a valid one stands for the studio token."""
    secrets: tuple[str, ...] = ()
    """Removed from every answer and log line (the DashScope key, the server's keys)."""
    max_input_chars: int = DEFAULT_MAX_INPUT_CHARS
    max_body_bytes: int | None = None
    """JSON bodies; ``None``: enough for ``max_input_chars`` escaped characters, at least 1 MiB."""
    studio_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    speech_server: bool = True
    """``False`` (the emulator): Host and Origin checks only, errors in DashScope's shape."""

    @property
    def body_limit(self) -> int:
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return max(2**20, 6 * self.max_input_chars + 64 * 1024)

    def describe(self) -> str:
        """The startup line's account of what is on."""
        hosts = ", ".join(self.allowed_hosts) or "none"
        checked = (
            f"Host checked (this address, localhost, loopback; --allowed-host: {hosts})"
            if self.speech_server
            else "Host checked (localhost and IP addresses only)"
        )
        parts = [
            "any Host (--allowed-host '*')" if "*" in self.allowed_hosts else checked,
            "foreign Origins refused"
            + (f" (CORS for {', '.join(self.cors_origins)})" if self.cors_origins else ""),
        ]
        if self.speech_server:
            parts += [
                "studio token on",
                "JSON only",
                f"input <= {self.max_input_chars:,} chars",
                f"body <= {self.body_limit // 1024:,} KiB",
            ]
        return "protections: " + "; ".join(parts)


# --------------------------------------------------------------------------- the middleware


class Refusal(Exception):
    """A request refused by the middleware: status, one line, the error code."""

    def __init__(self, status: int, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


class SecurityMiddleware:
    """The checks of the module docstring around ``app`` (pure ASGI: streaming stays
    streaming, WebSockets included)."""

    def __init__(self, app: ASGIApp, protection: Protection) -> None:
        self.app = app
        self.protection = protection
        bound = (protection.bound_host or "").strip("[]").lower()
        self._hosts = {*LOOPBACK_HOSTS, *protection.allowed_hosts}
        if bound and not is_wildcard(bound):
            self._hosts.add(bound)
        self._any_ip = protection.bound_host is None or is_wildcard(bound)
        if is_wildcard(bound):
            self._hosts |= machine_names()
        self._named = {h for h in protection.allowed_hosts if h != "*"}
        if protection.speech_server or protection.secrets:
            redact_logs(*protection.secrets)

    # -- checks ------------------------------------------------------------------------------

    def host_allowed(self, value: str | None) -> bool:
        if "*" in self.protection.allowed_hosts:
            return True
        parsed = split_host(value or "")
        if parsed is None or not parsed[0]:
            return False
        host = parsed[0]
        if host in self._hosts:
            return True
        if is_ip(host):
            return self._any_ip or ipaddress.ip_address(host).is_loopback
        return False

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        normal = origin_of(origin)
        if normal is None:  # "null" (sandboxed pages, file://) or garbage
            return False
        if normal in self.protection.cors_origins:
            return True
        scheme = normal.split("://", 1)[0]
        own = origin_of(f"{scheme}://{host_header.strip()}")
        if own is not None and own == normal:
            return True
        return (urlsplit(normal).hostname or "").lower() in self._named  # behind a proxy

    def _valid_server_key(self, headers: dict[str, str]) -> bool:
        scheme, _, key = headers.get("authorization", "").partition(" ")
        key = key.strip()
        return scheme.lower() == "bearer" and any(
            hmac.compare_digest(key.encode(), k.encode()) for k in self.protection.api_keys
        )

    def check(self, scope: Scope, headers: dict[str, str]) -> None:
        """Raise :class:`Refusal` for a request that must not reach the app."""
        host = headers.get("host")
        if not self.host_allowed(host):
            shown = (host or "").strip()[:80] or "(none)"
            name = (split_host(host or "") or ("NAME",))[0] or "NAME"
            fix = (
                f"to serve this name (a reverse proxy, another machine), start it with "
                f"--allowed-host {name}"
                if self.protection.speech_server
                else "connect to it by IP address or as localhost"
            )
            raise Refusal(
                421, f"this server does not answer for the host {shown!r}: {fix}",
                "host_not_allowed",
            )  # fmt: skip
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, host or ""):
            raise Refusal(
                403,
                f"requests from the web page at {origin[:80]!r} are refused: only this server's "
                "own pages may call it; to allow another site, start the server with "
                "--cors-origin ORIGIN",
                "origin_not_allowed",
            )

    def check_request(self, scope: Scope, headers: dict[str, str]) -> None:
        """The speech server's checks of a state-changing request, before its body is read."""
        method, path = scope["method"], scope["path"]
        if method not in STATE_CHANGING:
            return
        if path.startswith(STUDIO_API):
            token = headers.get(STUDIO_TOKEN_HEADER, "")
            good = hmac.compare_digest(token.encode(), self.protection.studio_token.encode())
            if not good and not self._valid_server_key(headers):
                if self.protection.api_keys:
                    raise Refusal(
                        401,
                        "invalid or missing API key: send `Authorization: Bearer KEY` with one "
                        "of the keys this server was started with (ask its owner)",
                        "invalid_api_key",
                    )
                raise Refusal(
                    403,
                    "the studio's API takes calls from the studio page only: open the page "
                    "(it sends the launch token as X-Studio-Token), or read the token from "
                    f'its <meta name="{STUDIO_TOKEN_META}">',
                    "studio_token_required",
                )
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        length = headers.get("content-length", "")
        size = int(length) if length.isdigit() else None
        if path == UPLOAD_PATH:
            if ctype in FORM_TYPES:
                raise Refusal(
                    415,
                    f"a sample is uploaded as the raw audio file, not as {ctype}: send it with "
                    "Content-Type: audio/wav (or the file's own type, or "
                    "application/octet-stream)",
                    "unsupported_media_type",
                    "sample",
                )
            if size is not None and size > UPLOAD_MAX_BYTES:
                raise _too_large_upload()
            return
        if method == "DELETE" and not size:
            return
        if method == "POST" and path in MULTIPART_PATHS and ctype == "multipart/form-data":
            if size is not None and size > MULTIPART_MAX_BYTES:
                raise _too_large_form(MULTIPART_PATHS[path])
            return
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise Refusal(
                415,
                f"this endpoint takes JSON: send Content-Type: application/json "
                f"(not {ctype or 'no content type'})",
                "unsupported_media_type",
            )
        if size is not None and size > self.protection.body_limit:
            raise self._too_large_body()

    def _too_large_body(self) -> Refusal:
        return Refusal(
            413,
            f"the request body is larger than {self.protection.body_limit // 1024:,} KiB",
            "request_too_large",
        )

    def check_json(self, path: str, body: bytes) -> None:
        """Nesting and text length of a JSON body (malformed JSON is the handler's to answer)."""
        if _json_depth(body) > MAX_JSON_DEPTH:
            raise Refusal(
                400,
                f"the request body nests JSON deeper than {MAX_JSON_DEPTH} levels",
                "invalid_json",
            )
        name = SPEECH_PATHS.get(path)
        if name is None:
            return
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):
            return
        text = data.get(name) if isinstance(data, dict) else None
        limit = self.protection.max_input_chars
        if isinstance(text, str) and len(text) > limit:
            raise Refusal(
                413,
                f"'{name}' is {len(text):,} characters; this server speaks at most {limit:,} "
                "per request (split the text, or start the server with a larger "
                "--max-input-chars)",
                "input_too_long",
                "input" if name == "input" else "text",
            )

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        try:
            self.check(scope, headers)
        except Refusal as refused:
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008, "reason": refused.code})
                return
            await self._answer(scope, send, refused)
            return
        if scope["type"] == "websocket" or not self.protection.speech_server:
            await self.app(scope, receive, send)  # untouched (the emulator reaches uvicorn's
            return  # connection through ``receive`` to drop it on purpose)
        origin = headers.get("origin")
        cors = (  # never for the page: another site may call the API, not read the token
            origin
            if origin is not None
            and origin_of(origin) in self.protection.cors_origins
            and scope["path"] != "/"
            else None
        )
        if scope["method"] == "OPTIONS" and origin is not None:
            await self._preflight(send, origin, headers)
            return
        body: bytes | None = None
        try:
            self.check_request(scope, headers)
            form = _is_form(scope, headers)
            if scope["method"] in STATE_CHANGING and scope["path"] != UPLOAD_PATH:
                body = await self._read_body(receive, scope["path"] if form else None)
                if not form:
                    self.check_json(scope["path"], body)
        except Refusal as refused:
            await self._answer(scope, send, refused, cors)
            return
        await self._run(scope, self._replay(body, receive) if body is not None else
                        self._capped(scope, receive), send, cors)  # fmt: skip

    async def _read_body(self, receive: Receive, form_path: str | None = None) -> bytes:
        data = bytearray()
        limit = MULTIPART_MAX_BYTES if form_path else self.protection.body_limit
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            data += message.get("body", b"")
            if len(data) > limit:
                if form_path:
                    raise _too_large_form(MULTIPART_PATHS[form_path])
                raise self._too_large_body()
            if not message.get("more_body"):
                break
        return bytes(data)

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _capped(self, scope: Scope, receive: Receive) -> Receive:
        """The upload's body, cut off (as a disconnect, answered 413) beyond its cap."""
        if scope["method"] not in STATE_CHANGING:
            return receive
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > UPLOAD_MAX_BYTES:
                raise _too_large_upload()
            return message

        return capped

    async def _run(self, scope: Scope, receive: Receive, send: Send, cors: str | None) -> None:
        started = False
        redacting = False
        held: dict[str, Any] | None = None
        chunks: list[bytes] = []
        secrets_ = self.protection.secrets

        async def guarded(message: Message) -> None:
            nonlocal started, redacting, held
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                raw = list(message.get("headers", []))
                ctype = next((v for k, v in raw if k.lower() == b"content-type"), b"").lower()
                textual = ctype.startswith((b"application/json", b"text/"))
                redacting = textual and (status >= 400 or ctype.startswith(b"text/event-stream"))
                raw = [
                    (k, redact(v.decode("latin-1"), *secrets_).encode("latin-1")) for k, v in raw
                ]
                if cors:
                    raw += [(b"access-control-allow-origin", cors.encode()), (b"vary", b"Origin")]
                message = {**message, "headers": raw}
                if redacting and any(k.lower() == b"content-length" for k, _ in raw):
                    held = dict(message)  # a whole JSON error: redacted at its end
                    return
                if redacting:
                    message["headers"] = [(k, v) for k, v in raw if k.lower() != b"content-length"]
                await send(message)
                return
            if message["type"] == "http.response.body" and redacting:
                data = message.get("body", b"")
                if held is not None:
                    chunks.append(data)
                    if message.get("more_body"):
                        return
                    text = redact(b"".join(chunks).decode("utf-8", "replace"), *secrets_).encode()
                    start = held
                    start["headers"] = [
                        (k, v) for k, v in start["headers"] if k.lower() != b"content-length"
                    ] + [(b"content-length", str(len(text)).encode())]
                    held = None
                    await send(start)
                    await send({"type": "http.response.body", "body": text, "more_body": False})
                    return
                if data:
                    data = redact(data.decode("utf-8", "replace"), *secrets_).encode()
                message = {**message, "body": data}
            await send(message)

        try:
            await self.app(scope, receive, guarded)
        except Refusal as refused:  # the upload's cap, reached while the handler read it
            if not started:
                await self._answer(scope, send, refused, cors)
        except Exception as exc:
            detail = redact(f"{type(exc).__name__}: {exc}", *secrets_)
            log.error("unexpected failure on %s %s: %s", scope["method"], scope["path"], detail,
                      exc_info=exc)  # fmt: skip
            if not started:
                failed = Refusal(500, f"internal error: {detail}", "internal")
                await self._answer(scope, send, failed, cors)
            else:
                raise

    async def _preflight(self, send: Send, origin: str, headers: dict[str, str]) -> None:
        allow = origin_of(origin) in self.protection.cors_origins
        if not allow:  # the server's own origin never needs a preflight
            await self._answer({"path": "", "type": "http"}, send, Refusal(
                403, "this origin is not allowed: start the server with --cors-origin ORIGIN",
                "origin_not_allowed"))  # fmt: skip
            return
        requested = headers.get("access-control-request-headers", "")
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", b"GET, POST, DELETE, OPTIONS"),
                    (b"access-control-allow-headers",
                     (requested or "authorization, content-type").encode("latin-1")),
                    (b"access-control-max-age", b"600"),
                    (b"vary", b"Origin"),
                ],
            }
        )  # fmt: skip
        await send({"type": "http.response.body", "body": b""})

    async def _answer(
        self, scope: Scope, send: Send, refused: Refusal, cors: str | None = None
    ) -> None:
        message = redact(refused.message, *self.protection.secrets)
        if self.protection.speech_server:
            error = APIError(refused.status, message, param=refused.param, code=refused.code,
                             type="api_error" if refused.status >= 500 else
                             "invalid_request_error")  # fmt: skip
            body = json.dumps(error.body(), ensure_ascii=False).encode()
        else:
            body = json.dumps(
                {"request_id": secrets.token_hex(16), "code": _DASHSCOPE_CODES.get(
                    refused.status, "AccessDenied"), "message": message},
                ensure_ascii=False).encode()  # fmt: skip
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
        if cors:
            headers += [(b"access-control-allow-origin", cors.encode()), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": refused.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_DASHSCOPE_CODES = {421: "InvalidHost", 403: "AccessDenied", 500: "InternalError"}


def _too_large_upload() -> Refusal:
    return Refusal(
        413,
        f"the file is larger than {UPLOAD_MAX_BYTES // 2**20} MiB; a sample needs at most "
        f"{catalog.SAMPLE_MAX_BYTES // 2**20} MiB",
        "sample_too_large",
        "sample",
    )


def _is_form(scope: Scope, headers: dict[str, str]) -> bool:
    ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return scope["path"] in MULTIPART_PATHS and ctype == "multipart/form-data"


def _too_large_form(param: str) -> Refusal:
    return Refusal(
        413,
        f"the upload is larger than {MULTIPART_MAX_BYTES // 2**20} MiB; '{param}' may be at most "
        f"{catalog.SAMPLE_MAX_BYTES // 2**20} MiB",
        "file_too_large",
        param,
    )


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def _json_depth(body: bytes) -> int:
    """How deep brackets nest in ``body`` (strings skipped), without parsing it."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


# --------------------------------------------------------------------------- install


def default_protection(settings: Any, api_keys: tuple[str, ...] = (), **options: Any) -> Protection:
    """The protection of a speech server over ``settings`` (a :class:`~..config.Settings`):
    its DashScope key and the server's ``api_keys`` are redacted everywhere."""
    key = settings.api_key.value if getattr(settings, "api_key", None) is not None else None
    return Protection(api_keys=api_keys, secrets=tuple(k for k in (key, *api_keys) if k),
                      **options)  # fmt: skip


def install(app: Any, protection: Protection) -> Protection:
    """Put the middleware around a Starlette ``app`` (outside its routing and exception
    handlers) and keep ``protection`` as ``app.state.protection``."""
    app.add_middleware(SecurityMiddleware, protection=protection)
    app.state.protection = protection
    return protection


def studio_page(request: Any, path: Path) -> Any:
    """The studio page with the launch token in a ``<meta>`` tag (read by ``api.js``)."""
    from starlette.responses import HTMLResponse

    html = path.read_text(encoding="utf-8")
    protection: Protection | None = getattr(request.app.state, "protection", None)
    if protection is not None:
        meta = f'<meta name="{STUDIO_TOKEN_META}" content="{protection.studio_token}">'
        html = html.replace("</head>", f"  {meta}\n</head>", 1)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
