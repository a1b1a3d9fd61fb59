"""The `serve` command: the OpenAI-compatible speech API and the studio over one
:class:`~cosyvoice_clone.client.AsyncCosyVoice`."""

from __future__ import annotations

from typing import Any, Optional

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


def warm_on_start(app: Any, client: Any) -> None:
    """network hook (issue 24): the app opens ``client``'s warm synthesis connections when it
    starts (a failure is one warning line: the server starts anyway)."""
    import contextlib
    import logging

    from ..errors import CosyVoiceCloneError

    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Any) -> Any:
        async with inner(started):
            try:
                await client.warm()
            except CosyVoiceCloneError as exc:
                logging.getLogger("uvicorn.error").warning("no warm connections: %s", exc)
            yield

    app.router.lifespan_context = lifespan


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
        open_discovery: bool = typer.Option(
            False,
            "--open-discovery",
            help="Answer the model and voice lists without the API key (Open WebUI and "
            "wyoming-openai ask them without one); speech and every change still need it.",
        ),
        default_voice: Optional[str] = typer.Option(
            None,
            "--default-voice",
            help="Speak with this voice for OpenAI voice names (nova, alloy, ...) and unknown "
            "names; a deleted or mismatched CosyVoice voice is still refused.",
            show_default=False,
        ),
        voice_model: str = typer.Option(
            "cosyvoice-v3.5-plus",
            "--voice-model",
            help="Target model of voices made with POST /v1/audio/voices (unless the request "
            "names one).",
        ),
        voice_wait: float = typer.Option(
            30.0,
            "--voice-wait",
            min=0.0,
            help="Seconds POST /v1/audio/voices waits for a new voice to be OK; then it "
            "answers with the voice still DEPLOYING.",
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
        warm: int = typer.Option(  # network hook (issue 24)
            2,
            "--warm",
            min=0,
            help="Synthesis connections opened at start and kept open (renewed every 30 s), so "
            "requests pay no connection handshake; 0: none.",
        ),
    ) -> None:
        """Serve an OpenAI-compatible speech API for your cloned voices, and the voice studio.

        Open http://HOST:PORT/ in a browser for the studio: record or upload a sample, check and
        fix it, clone, listen to the clone, manage voices.

        POST /v1/audio/speech (OpenAI's request: model, input, voice, instructions,
        response_format mp3|opus|aac|flac|wav|pcm, speed, stream_format audio|sse),
        GET /v1/models, GET /v1/audio/models, GET /v1/audio/voices, GET /healthz; OpenAI's
        custom voices: POST/GET /v1/audio/voice_consents, POST /v1/audio/voices (a clone from
        audio_sample + consent + name, or a design from type=prompt), DELETE
        /v1/audio/voices/ID. OpenAI model names (tts-1,
        gpt-4o-mini-tts, ...) mean the voice's own model. Honours --region, --emulator
        and --home. Prints the base URL to give your apps.

        Examples:

        \b
          cosyvoice-clone serve --voice-alias alloy=myvoice
          cosyvoice-clone serve --default-voice myvoice      (any OpenAI voice name speaks)
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
        from .. import catalog

        if voice_model not in catalog.synthesis_models():
            raise InvalidRequestError(
                f"unknown --voice-model {voice_model!r}",
                field="voice_model",
                allowed=", ".join(catalog.synthesis_models()),
                hint="use one of: " + ", ".join(catalog.synthesis_models()),
            )
        sock = bind(host, port)  # before anything is printed: the URL names the real port
        port = sock.getsockname()[1]
        app_state = state(ctx)
        settings = app_state.settings()
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        for name in ("cosyvoice_clone.server.access", "cosyvoice_clone.server.startup",
                     "uvicorn.error", "cosyvoice_clone.state"):  # fmt: skip
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
        client = AsyncCosyVoice(settings=settings, warm=warm)
        protection = default_protection(
            settings,
            keys,
            bound_host=host,
            allowed_hosts=hosts,
            cors_origins=origins,
            max_input_chars=max_input_chars,
        )
        config = ServerConfig(
            api_keys=keys, aliases=aliases, max_queue=max_queue, open_discovery=open_discovery,
            default_voice=(default_voice or "").strip() or None, voice_model=voice_model,
            voice_wait=voice_wait,
        )  # fmt: skip
        app = create_app(client, config, protection)
        if warm:
            warm_on_start(app, client)  # network hook (issue 24)
        print(f"OPENAI_BASE_URL={base_url(host, port)}", flush=True)
        app_state.err_console.print(
            f"voice studio: {base_url(host, port).removesuffix('/v1')}/; "
            f"serving {settings.region} voices; "
            + ("clients need an API key" if keys else "no API key required (loopback)")
            + ("; model and voice lists open (--open-discovery)" if open_discovery else "")
            + "; Ctrl-C to stop",
            markup=False,
        )
        app_state.err_console.print(protection.describe(), markup=False)  # security hook
        serve_forever(app, sock)
