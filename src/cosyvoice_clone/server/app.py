"""The speech server as a Starlette app (:func:`create_app`): every route, in one list.

OpenAI's speech API (:mod:`.speech_api`), the voice studio's page and JSON API
(:mod:`.studio`), both over one :class:`~cosyvoice_clone.client.AsyncCosyVoice` and the shared
plumbing (:mod:`.plumbing`: key check, admission, the one error mapping, the self-cleaning
stream), and the MCP tools at ``/mcp`` (:mod:`cosyvoice_clone.mcp.http`), behind the local
server's protections (:mod:`.security`). Every failure is an
:class:`~.protocol.APIError` rendered by one handler in OpenAI's shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..client import AsyncCosyVoice
from ..mcp.http import McpHttp  # MCP over HTTP hook (issue 26)
from .plumbing import Doors, ServerConfig, render_error
from .protocol import APIError
from .security import Protection, default_protection, install  # security hook (issue 22)
from .speech_api import SpeechAPI
from .studio import STATIC_DIR, Studio

__all__ = ["ServerConfig", "create_app"]

STUDIO_API = "/studio/api"


def create_app(
    client: AsyncCosyVoice,
    config: ServerConfig | None = None,
    protection: Protection | None = None,  # security hook (issue 22)
) -> Starlette:
    """The ASGI app serving ``client`` (closed when the app shuts down), behind the local
    server's protections (by default those of a loopback server)."""
    doors = Doors(client, config or ServerConfig())
    api = SpeechAPI(doors)
    studio = Studio(doors)
    mcp_http = McpHttp(client.settings, doors.authorize)  # MCP over HTTP hook (issue 26)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with mcp_http.run():  # MCP over HTTP hook (issue 26)
                yield
        finally:
            await studio.aclose()
            await client.aclose()

    s = STUDIO_API
    handler: Callable[[Request, Exception], Awaitable[Response]] = render_error
    app = Starlette(
        routes=[
            # OpenAI's audio API
            Route("/v1/audio/speech", api.speech, methods=["POST"]),
            Route("/v1/models", api.models, methods=["GET"]),
            Route("/v1/audio/voices", api.voices, methods=["GET"]),
            Route("/healthz", api.healthz, methods=["GET"]),
            *mcp_http.routes(),  # MCP over Streamable HTTP at /mcp (issue 26)
            # the studio: its page, scripts and styles
            Route("/", studio.page, methods=["GET"]),
            Mount("/studio/static", app=StaticFiles(directory=STATIC_DIR), name="studio-static"),
            # the studio's API
            Route(f"{s}/config", studio.config, methods=["GET"]),
            Route(f"{s}/samples", studio.add_sample, methods=["POST"]),
            Route(f"{s}/samples/url", studio.add_url, methods=["POST"]),
            Route(f"{s}/samples/{{sample_id}}/audio", studio.sample_audio, methods=["GET"]),
            Route(f"{s}/samples/{{sample_id}}/check", studio.check, methods=["POST"]),
            Route(f"{s}/samples/{{sample_id}}/fix", studio.fix, methods=["POST"]),
            Route(f"{s}/clones", studio.clone, methods=["POST"]),
            Route(f"{s}/designs", studio.design, methods=["POST"]),
            Route(f"{s}/previews/{{token}}", studio.preview, methods=["GET"]),
            Route(f"{s}/jobs/{{job_id}}/events", studio.job_events, methods=["GET"]),
            Route(f"{s}/voices", studio.voices, methods=["GET"]),
            Route(f"{s}/voices/{{voice}}", studio.show_voice, methods=["GET"]),
            Route(f"{s}/voices/{{voice}}", studio.delete_voice, methods=["DELETE"]),
            Route(f"{s}/voices/{{voice}}/sample", studio.update_sample, methods=["POST"]),
            Route(f"{s}/speech", studio.order_speech, methods=["POST"]),
            Route(f"{s}/speech/{{token}}", studio.speak, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={APIError: handler},
    )
    app.state.server = doors
    app.state.studio = studio
    # security hook (issue 22): Host/Origin checks, studio token, limits, redaction
    install(app, protection or default_protection(client.settings, doors.config.api_keys))
    return app
