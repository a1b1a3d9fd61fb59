"""The `wyoming` command: your cloned voices in Home Assistant (a Wyoming TTS server)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

import typer

from ..errors import InvalidRequestError
from .common import state

if TYPE_CHECKING:
    from ..wyoming import RunningWyoming

DEFAULT_URI = "tcp://127.0.0.1:10200"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class _Redacting(logging.Filter):
    """Masks the API key in every log record of the server."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        from ..config import redact

        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact(text, *self.secrets), None
        return True


def _log_to_stderr(level: int, secrets: tuple[str, ...]) -> Callable[[], None]:
    """The server's log lines on stderr, key masked; returns what undoes it."""
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s cosyvoice-clone wyoming: %(message)s"))
    handler.addFilter(_Redacting(secrets))
    logger = logging.getLogger("cosyvoice_clone.wyoming")
    before = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]

    return restore


def _require_zeroconf() -> None:
    """Refuse ``--zeroconf`` before anything listens when the package is missing."""
    import importlib.util

    from ..errors import ConfigError

    if importlib.util.find_spec("zeroconf") is None:
        raise ConfigError(
            "--zeroconf needs the 'zeroconf' package",
            hint="pip install 'wyoming[zeroconf]', or leave --zeroconf out and add the server in "
            "Home Assistant by host and port",
        )


async def _announce(running: RunningWyoming, name: str) -> None:
    """Register the server with zeroconf (``_wyoming._tcp.local.``) for Home Assistant; it
    stays announced until the process ends."""
    from wyoming.zeroconf import HomeAssistantZeroconf

    host = running.address.host
    announced = HomeAssistantZeroconf(
        port=running.address.port, name=name, host=None if host in ("0.0.0.0", "::") else host
    )
    await announced.register_server()


def register(app: typer.Typer) -> None:
    """Add the ``wyoming`` command to ``app``."""

    @app.command("wyoming")
    def wyoming_command(
        ctx: typer.Context,
        uri: str = typer.Option(
            DEFAULT_URI, "--uri", help="Where to listen: tcp://HOST:PORT or unix://PATH."
        ),
        voice: Optional[str] = typer.Option(
            None,
            "--voice",
            help="Voice for requests that name none (default: the first listed voice of the "
            "request's language).",
            show_default=False,
        ),
        model: Optional[str] = typer.Option(
            None,
            "--model",
            help="Speak with this model (default: each voice's own; a voice bound to another "
            "model is refused).",
            show_default=False,
        ),
        sample_rate: int = typer.Option(
            22050, "--sample-rate", help="Rate of the 16-bit mono PCM sent to Home Assistant."
        ),
        system_voices: bool = typer.Option(
            False, "--system-voices", help="Also list the service's system (preset) voices."
        ),
        zeroconf: Optional[str] = typer.Option(
            None,
            "--zeroconf",
            help="Announce the server on the local network under this name, for Home "
            "Assistant's discovery (needs the 'zeroconf' package and a LAN address in --uri).",
            show_default=False,
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request on stderr."),
    ) -> None:
        """Serve your cloned and designed voices to Home Assistant over Wyoming (needs the
        `wyoming` extra).

        Home Assistant: Settings > Devices & services > Add integration > Wyoming Protocol,
        then this machine's host and the port of --uri. The voices are the registry's (named
        by prefix) that can speak now; new clones appear when Home Assistant reloads the
        integration. Streaming synthesis is supported (audio as each sentence completes).
        Honours --region, --emulator and --home. Wyoming has no keys: bind a LAN address only
        on a network you trust.

        Examples:

        \b
          cosyvoice-clone wyoming
          cosyvoice-clone wyoming --uri tcp://0.0.0.0:10200 --voice myvoice
          cosyvoice-clone --emulator wyoming --system-voices      (offline)
        """
        import asyncio
        import signal

        from .. import wyoming as door_module
        from ..client import AsyncCosyVoice
        from ..wyoming.door import check_options
        from ..wyoming.server import describe_voices

        door_module.require_sdk()
        address = door_module.parse_uri(uri)
        check_options(sample_rate, model)
        if zeroconf is not None and (address.scheme != "tcp" or address.host in LOOPBACK):
            raise InvalidRequestError(
                "--zeroconf announces the server to other machines, but --uri listens on this "
                "machine only",
                field="zeroconf",
                hint="listen on a LAN address (--uri tcp://0.0.0.0:10200), or leave --zeroconf "
                "out and add the server in Home Assistant by host and port",
            )
        if zeroconf is not None:
            _require_zeroconf()
        app_state = state(ctx)
        settings = app_state.settings()
        key = settings.api_key
        restore_logging = _log_to_stderr(
            logging.INFO if verbose else logging.WARNING,
            (key.value,) if key is not None and key.value else (),
        )
        err = app_state.err_console

        async def main() -> None:
            client = AsyncCosyVoice(settings=settings)
            try:
                door = door_module.WyomingDoor(
                    client,
                    sample_rate=sample_rate,
                    model=model,
                    default_voice=voice,
                    system_voices=system_voices,
                )
                listed = await door.voices()
                running = await door_module.start_server(door, uri)
                if zeroconf:
                    await _announce(running, zeroconf)
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(signum, stop.set)
                err.print(
                    f"Wyoming server on {running.uri} ({sample_rate} Hz); "
                    f"{describe_voices(listed)}; "
                    f"serving {settings.region} voices; Ctrl-C to stop",
                    markup=False,
                )
                if address.scheme == "tcp" and address.host not in LOOPBACK:
                    err.print(
                        "warning: Wyoming has no keys: anyone who reaches this port can speak "
                        "with your voices on your account",
                        markup=False,
                    )
                serving = asyncio.create_task(running.serve_forever())
                try:
                    await stop.wait()
                finally:
                    serving.cancel()
                    await running.stop()
                err.print("stopped", markup=False)
            finally:
                await client.aclose()

        try:
            asyncio.run(main())
        finally:
            restore_logging()
