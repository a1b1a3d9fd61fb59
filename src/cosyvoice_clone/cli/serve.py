"""The `serve` command: the OpenAI-compatible speech API and the studio over one
:class:`~cosyvoice_clone.client.AsyncCosyVoice`."""

from __future__ import annotations

from typing import Optional

import typer

from ..errors import InvalidRequestError
from .common import state


def parse_aliases(values: list[str]) -> dict[str, str]:
    """``alloy=myvoice`` options -> ``{"alloy": "myvoice"}`` (one clear error for a bad one)."""
    aliases: dict[str, str] = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise InvalidRequestError(
                f"invalid --voice-alias {value!r}",
                field="voice_alias",
                hint="use NAME=VOICE, e.g. --voice-alias alloy=myvoice",
            )
        aliases[name.strip()] = target.strip()
    return aliases


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""

    @app.command("serve")
    def serve_command(
        ctx: typer.Context,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to bind."),
        api_key: Optional[list[str]] = typer.Option(
            None,
            "--api-key",
            help="A key clients must send as `Authorization: Bearer KEY` (repeatable); "
            "required to bind a non-loopback address.",
            show_default=False,
        ),
        voice_alias: Optional[list[str]] = typer.Option(
            None,
            "--voice-alias",
            help="NAME=VOICE: let apps that only offer OpenAI's voices use yours (repeatable).",
            show_default=False,
        ),
        max_queue: int = typer.Option(
            64, "--max-queue", min=1, help="Speech requests admitted at once; beyond: 429."
        ),
        # security hook (issue 22): the local server's protections (server/security.py)
        allowed_host: Optional[list[str]] = typer.Option(
            None,
            "--allowed-host",
            help="Also answer for this Host name, e.g. behind a reverse proxy (repeatable; "
            "'*': any, only with --api-key).",
            show_default=False,
        ),
        cors_origin: Optional[list[str]] = typer.Option(
            None,
            "--cors-origin",
            help="Let web pages from this origin (scheme://host[:port]) call the API (repeatable).",
            show_default=False,
        ),
        max_input_chars: int = typer.Option(
            20_000, "--max-input-chars", help="Characters of text per speech request; beyond: 413."
        ),
    ) -> None:
        """Serve an OpenAI-compatible speech API for your cloned voices, and the voice studio.

        Open http://HOST:PORT/ in a browser for the studio: record or upload a sample, check and
        fix it, clone, listen to the clone, manage voices.

        POST /v1/audio/speech (OpenAI's request: model, input, voice, instructions,
        response_format mp3|opus|aac|flac|wav|pcm, speed, stream_format audio|sse),
        GET /v1/models, GET /v1/audio/voices, GET /healthz. OpenAI model names (tts-1,
        gpt-4o-mini-tts, ...) mean the voice's own model. Honours --region, --emulator
        and --home. Prints the base URL to give your apps.

        Examples:

        \b
          cosyvoice-clone serve --voice-alias alloy=myvoice
          cosyvoice-clone --emulator serve --port 8000          (offline)
          cosyvoice-clone serve --host 0.0.0.0 --api-key "$MY_SERVER_KEY"
          cosyvoice-clone serve --allowed-host speech.example.org   (behind a proxy)
        """
        import logging
        import sys

        from ..client import AsyncCosyVoice
        from ..server import ServerConfig, create_app, serve_forever
        from ..server.run import base_url, bind, is_loopback
        from ..server.security import check_options, default_protection  # security hook

        keys = tuple(k for k in (api_key or []) if k)
        hosts, origins = check_options(
            allowed_hosts=allowed_host or [],
            cors_origins=cors_origin or [],
            api_keys=keys,
            max_input_chars=max_input_chars,
        )
        if not is_loopback(host) and not keys:
            raise InvalidRequestError(
                f"binding {host} exposes the server beyond this machine: it needs an --api-key",
                field="host",
                hint="add --api-key KEY (clients send `Authorization: Bearer KEY`), or bind "
                "127.0.0.1",
            )
        aliases = parse_aliases(voice_alias or [])
        sock = bind(host, port)  # before anything is printed: the URL names the real port
        port = sock.getsockname()[1]
        app_state = state(ctx)
        settings = app_state.settings()
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        for name in ("cosyvoice_clone.server.access", "uvicorn.error", "cosyvoice_clone.state"):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
        client = AsyncCosyVoice(settings=settings)
        protection = default_protection(
            settings,
            keys,
            bound_host=host,
            allowed_hosts=hosts,
            cors_origins=origins,
            max_input_chars=max_input_chars,
        )
        config = ServerConfig(api_keys=keys, aliases=aliases, max_queue=max_queue)
        app = create_app(client, config, protection)
        print(f"OPENAI_BASE_URL={base_url(host, port)}", flush=True)
        app_state.err_console.print(
            f"voice studio: {base_url(host, port).removesuffix('/v1')}/; "
            f"serving {settings.region} voices; "
            + ("clients need an API key" if keys else "no API key required (loopback)")
            + "; Ctrl-C to stop",
            markup=False,
        )
        app_state.err_console.print(protection.describe(), markup=False)  # security hook
        serve_forever(app, sock)
