"""The Wyoming server: what every connection shares (:class:`WyomingDoor`), and listening on a
``tcp://`` or ``unix://`` URI (:func:`start_server`, :func:`serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .. import catalog
from ..client import AsyncCosyVoice
from ..config import redact
from ..errors import ConfigError, CosyVoiceCloneError, InvalidRequestError
from .voices import ListedVoice, build_info, choose_voice, list_voices

if TYPE_CHECKING:
    from wyoming.error import Error
    from wyoming.event import Event
    from wyoming.info import Info
    from wyoming.tts import SynthesizeVoice

    from .handler import CosyVoiceHandler

logger = logging.getLogger("cosyvoice_clone.wyoming")

INSTALL_HINT = "install the extra: pip install 'cosyvoice-clone[wyoming]'"
DEFAULT_URI = "tcp://127.0.0.1:10200"
DEFAULT_SAMPLE_RATE = catalog.default_sample_rate("pcm")
FIRST_AUDIO_KEPT = 100


def require_sdk() -> None:
    """Raise :class:`~cosyvoice_clone.errors.ConfigError` if the ``wyoming`` package is missing."""
    try:
        import wyoming.server  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the Wyoming server needs the optional 'wyoming' package", hint=INSTALL_HINT
        ) from None


@dataclass
class WyomingDoor:
    """The client and the options every connection of one server shares."""

    client: AsyncCosyVoice
    sample_rate: int = DEFAULT_SAMPLE_RATE
    """The rate of the 16-bit mono PCM sent (one of ``catalog.SAMPLE_RATES``)."""
    model: str | None = None
    """Speak every voice with this model (default: each voice's own)."""
    default_voice: str | None = None
    """The voice of a request that names none (default: the first listed one of its language)."""
    system_voices: bool = False
    """Also list the service's system voices."""
    first_audio: list[float] = field(default_factory=list)
    """Seconds from a request to its first audio, most recent last (at most 100 kept)."""

    def __post_init__(self) -> None:
        if self.sample_rate not in catalog.SAMPLE_RATES:
            raise InvalidRequestError(
                f"sample rate {self.sample_rate} is not offered by the service",
                field="sample_rate",
                hint="use one of " + ", ".join(str(r) for r in catalog.SAMPLE_RATES),
            )
        if self.model is not None:
            catalog.check_model(self.model)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in an event or a log line: the API key."""
        key = self.client.settings.api_key
        return (key.value,) if key is not None and key.value else ()

    async def voices(self) -> list[ListedVoice]:
        """The voices announced now (the registry read afresh: new clones appear)."""
        return await list_voices(self.client, system=self.system_voices)

    async def info(self) -> Info:
        """The ``info`` answer."""
        return build_info(await self.voices())

    async def choose(self, voice: SynthesizeVoice | None) -> str:
        """The voice a request means (see :func:`.voices.choose_voice`)."""
        name = voice.name if voice is not None else None
        language = voice.language if voice is not None else None
        listed = [] if name else await self.voices()
        return choose_voice(listed, name=name, language=language, default=self.default_voice)

    def error_event(self, exc: BaseException) -> Error:
        """``exc`` as one Wyoming ``error`` event: the library's one line and code."""
        from wyoming.error import Error

        if isinstance(exc, CosyVoiceCloneError):
            text, code = str(exc), exc.code
        else:
            logger.error("unexpected failure: %s: %s", type(exc).__name__, exc, exc_info=exc)
            text, code = f"internal error of the server: {type(exc).__name__}: {exc}", "internal"
        return Error(text=redact(" ".join(text.split()), *self.secrets), code=code)

    def audio_start(self) -> Event:
        from wyoming.audio import AudioStart

        from .handler import CHANNELS, WIDTH

        return AudioStart(rate=self.sample_rate, width=WIDTH, channels=CHANNELS).event()

    def audio_chunk(self, data: bytes) -> Event:
        from wyoming.audio import AudioChunk

        from .handler import CHANNELS, WIDTH

        return AudioChunk(rate=self.sample_rate, width=WIDTH, channels=CHANNELS, audio=data).event()

    def record_first_audio(self, seconds: float) -> None:
        self.first_audio.append(seconds)
        del self.first_audio[:-FIRST_AUDIO_KEPT]


@dataclass(frozen=True)
class Address:
    """Where a server listens: ``tcp`` with host and port, or ``unix`` with a path."""

    scheme: str
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def uri(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def parse_uri(uri: str) -> Address:
    """``tcp://HOST:PORT`` or ``unix://PATH`` (one clear error for anything else)."""
    hint = "use tcp://HOST:PORT (e.g. tcp://127.0.0.1:10200) or unix://PATH"
    parts = urlsplit(uri.strip())
    if parts.scheme == "unix" and (parts.netloc or parts.path):
        return Address("unix", path=parts.netloc + parts.path)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.hostname and port is not None:
            return Address("tcp", host=parts.hostname, port=port)
    raise InvalidRequestError(f"invalid --uri {uri!r}", field="uri", hint=hint)


class RunningWyoming:
    """A Wyoming server listening (``address`` names the bound port); :meth:`stop` ends it."""

    def __init__(self, server: asyncio.AbstractServer, address: Address, door: WyomingDoor) -> None:
        self._server = server
        self.address = address
        self.door = door
        self._handlers: dict[asyncio.Task[None], CosyVoiceHandler] = {}

    @property
    def uri(self) -> str:
        return self.address.uri

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        await self._server.serve_forever()

    async def stop(self) -> None:
        """Stop listening and end every connection (their service tasks are cancelled)."""
        self._server.close()
        for handler in list(self._handlers.values()):
            with contextlib.suppress(Exception):
                await handler.stop()  # its run() ends: disconnect() cancels its jobs
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=5.0)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        if self.address.scheme == "unix":
            with contextlib.suppress(OSError):
                os.unlink(self.address.path)

    async def __aenter__(self) -> RunningWyoming:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def start_server(door: WyomingDoor, uri: str = DEFAULT_URI) -> RunningWyoming:
    """Listen on ``uri`` (``tcp://HOST:0`` picks a free port); returns once it accepts."""
    require_sdk()
    from .handler import CosyVoiceHandler

    address = parse_uri(uri)
    running: RunningWyoming | None = None

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert running is not None
        task = asyncio.current_task()
        handler = CosyVoiceHandler(door, reader, writer)
        if task is not None:
            running._handlers[task] = handler  # the server's own bookkeeping
        try:
            await handler.run()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            logger.info("a client connection ended: %s", exc)
        finally:
            if task is not None:
                running._handlers.pop(task, None)

    try:
        if address.scheme == "unix":
            path = Path(address.path)
            with contextlib.suppress(FileNotFoundError):
                if path.is_socket():
                    path.unlink()
            server = await asyncio.start_unix_server(connected, path=address.path)
        else:
            server = await asyncio.start_server(connected, host=address.host, port=address.port)
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot listen on {address.uri}: {exc.strerror or exc}",
            field="uri",
            hint="pick another port, or stop what already listens there",
        ) from None
    if address.scheme == "tcp":
        bound = server.sockets[0].getsockname()
        address = Address("tcp", host=address.host, port=int(bound[1]))
    running = RunningWyoming(server, address, door)
    return running


def describe_voices(voices: Sequence[ListedVoice]) -> str:
    """The startup line's account of the voices announced."""
    if not voices:
        return "no voice can speak yet: clone or design one (or `voices sync`), then reload"
    names = ", ".join(v.name for v in voices[:8]) + (" ..." if len(voices) > 8 else "")
    return f"{len(voices)} voice(s): {names}"


__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_URI",
    "Address",
    "RunningWyoming",
    "WyomingDoor",
    "describe_voices",
    "parse_uri",
    "require_sdk",
    "start_server",
]
