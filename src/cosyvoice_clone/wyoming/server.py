"""The Wyoming server: listening on a ``tcp://`` or ``unix://`` URI (:func:`start_server`),
one :class:`~.handler.CosyVoiceHandler` per connection over one :class:`~.door.WyomingDoor`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import InvalidRequestError
from .door import WyomingDoor, require_sdk
from .voices import ListedVoice

if TYPE_CHECKING:
    from .handler import CosyVoiceHandler

logger = logging.getLogger("cosyvoice_clone.wyoming")

DEFAULT_URI = "tcp://127.0.0.1:10200"


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
    "DEFAULT_URI",
    "Address",
    "RunningWyoming",
    "describe_voices",
    "parse_uri",
    "start_server",
]
