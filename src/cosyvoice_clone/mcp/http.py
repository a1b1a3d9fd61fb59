"""MCP over Streamable HTTP: the same server as on stdio (:func:`.server.build_server`, the
nine tools of :data:`.schemas.TOOLS`), at ``cosyvoice-clone serve``'s ``/mcp``.

:class:`McpHttp` is what the speech server mounts: an ASGI endpoint for one Starlette
``Route("/mcp", ...)`` (a ``Mount`` would answer ``/mcp`` with a redirect) and :meth:`McpHttp.run`
for the app's lifespan (the ``mcp`` SDK's ``StreamableHTTPSessionManager``, stateless: every
request is served on its own, so replicas behind a balancer need no sticky sessions; answers are
server-sent events, so a long ``voice_clone`` reports progress). Before the SDK sees a request:

- the server's key (``serve --api-key``): a request without one of them is refused (401) by the
  server's own check (``authorize``, the same as every route's);
- the local-safety checks (Host, Origin, body limits, redaction of every answer and log line)
  are the speech server's middleware around the whole app, ``/mcp`` included; the SDK's own
  DNS-rebinding check is therefore off (it would not know ``--allowed-host``/``--cors-origin``).

Without the ``mcp`` package :meth:`McpHttp.routes` is empty (``/mcp`` is then a 404) and
:attr:`McpHttp.available` is false. The tools call the same library as every door; their
client is created on first use over the server's settings (the same home, registry and
shared pacing).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.routing import Route

    from ..config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Authorize = Callable[["Request"], None]
"""Raises (the host app's error, rendered by its handler) for a request it refuses."""

PATH = "/mcp"


def sdk_available() -> bool:
    """Whether the ``mcp`` SDK (with its Streamable HTTP server) is installed."""
    try:
        import mcp.server.streamable_http_manager  # noqa: F401
    except ImportError:
        return False
    return True


class McpHttp:
    """The MCP tools at ``/mcp`` of an ASGI app (see the module docstring)."""

    def __init__(self, settings: Settings, authorize: Authorize | None = None) -> None:
        self.available = sdk_available()
        self._authorize = authorize
        self._manager: Any = None
        if self.available:
            from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

            from .server import build_server

            self._manager = StreamableHTTPSessionManager(
                app=build_server(settings),
                stateless=True,
                security_settings=None,  # the host app's middleware checks Host and Origin
            )

    def routes(self) -> list[Route]:
        """``[Route("/mcp", ...)]`` (every method), or nothing without the SDK."""
        from starlette.routing import Route

        return [Route(PATH, self, name="mcp")] if self.available else []

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """The app's lifespan part: the SDK's session manager (and the tools' client)."""
        if self._manager is None:
            yield
            return
        async with self._manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._authorize is not None:
            from starlette.requests import Request

            self._authorize(Request(scope))
        await self._manager.handle_request(scope, receive, send)


__all__ = ["PATH", "McpHttp", "sdk_available"]
