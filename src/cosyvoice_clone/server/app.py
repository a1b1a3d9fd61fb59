"""The speech server as a Starlette app (:func:`create_app`): every route, in one list.

OpenAI's speech API and discovery (:mod:`.speech_api`), OpenAI's custom voices: consents
(:mod:`.consents_api`) and voices made from a sample or a description (:mod:`.voices_api`), the
voice studio's page and JSON API (:mod:`.studio`) and the MCP tools at ``/mcp``
(:mod:`cosyvoice_clone.mcp.http`), all over one
:class:`~cosyvoice_clone.client.AsyncCosyVoice` and the shared plumbing (:mod:`.plumbing`: key
check, admission, the one error mapping, the self-cleaning stream), behind the local server's
protections (:mod:`.security`), inside the access log (:mod:`.access`: one line per request,
``x-request-id`` on every answer). Every failure, Starlette's 404 and 405 included, is rendered
by one handler in OpenAI's shape.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..client import AsyncCosyVoice
from ..mcp.http import McpHttp  # MCP over HTTP (issue 26)
from .access import AccessMiddleware
from .consents_api import ConsentsAPI
from .plumbing import Doors, ServerConfig, hide_paths, render_error
from .protocol import APIError
from .security import Protection, default_protection, install  # security hook (issue 22)
from .speech_api import SpeechAPI
from .studio import STATIC_DIR, Studio
from .voices_api import VoicesAPI, warn_unresolved_aliases

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
    consents = ConsentsAPI(doors)
    voices = VoicesAPI(doors, consents)
    here = Path(__file__).resolve()
    hide_paths(home=client.settings.home, server=here.parents[3], env=sys.prefix)
    mcp_http = McpHttp(client.settings, doors.authorize)  # MCP over HTTP (issue 26)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await warn_unresolved_aliases(doors)
        try:
            async with mcp_http.run():  # MCP over HTTP hook (issue 26)
                yield
        finally:
            await studio.aclose()
            await client.aclose()

    s, c = STUDIO_API, "/v1/audio/voice_consents"
    handler: Callable[[Request, Exception], Awaitable[Response]] = render_error
    app = Starlette(
        routes=[
            # OpenAI's audio API
            Route("/v1/audio/speech", api.speech, methods=["POST"]),
            Route("/v1/models", api.models, methods=["GET"]),
            Route("/v1/models/{model:path}", api.model, methods=["GET"]),
            Route("/v1/audio/models", api.models, methods=["GET"]),
            Route("/v1/audio/voices", api.voices, methods=["GET"]),
            # OpenAI's custom voices: consents, creation, deletion
            Route("/v1/audio/voices", voices.create, methods=["POST"]),
            Route("/v1/audio/voices/{voice_id}", voices.delete, methods=["DELETE"]),
            Route(c, consents.create, methods=["POST"]),
            Route(c, consents.list, methods=["GET"]),
            Route(f"{c}/{{consent_id}}", consents.retrieve, methods=["GET"]),
            Route(f"{c}/{{consent_id}}", consents.update, methods=["POST"]),
            Route(f"{c}/{{consent_id}}", consents.delete, methods=["DELETE"]),
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
        exception_handlers={APIError: handler, HTTPException: handler},
    )
    app.state.server = doors
    app.state.studio = studio
    # security hook (issue 22): Host/Origin checks, studio token, limits, redaction
    install(app, protection or default_protection(client.settings, doors.config.api_keys))
    app.add_middleware(AccessMiddleware)  # outermost: refusals are logged too
    return app
