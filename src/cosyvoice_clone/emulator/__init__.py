"""The offline DashScope: an emulator of voice enrollment, speech synthesis and uploads.

Three ways to run it:

- ``cosyvoice-clone emulator serve`` (foreground server; see ``--help``);
- ``start_server(Backend(EmulatorConfig(...)))`` / ``start_embedded(home, region)`` in a
  background thread (what ``cosyvoice-clone --emulator`` uses);
- the ``cosyvoice_emulator`` pytest fixture (this package's ``pytest11`` plugin).

Modules: ``backend`` (the account's state and rules as plain Python, no HTTP), ``store``
(its SQLite storage), ``config`` (knobs), ``checks`` (request rules), ``design`` (how voices
sound), ``exceptions`` (the service's refusals), ``app`` and the endpoint modules (thin Starlette
routes), ``speech`` (the synthetic speech engine), ``server`` / ``embedded`` / ``pytest_plugin``
(ways to run it).

The names below are imported lazily so that loading the pytest plugin stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import Backend
    from .config import DEFAULT_API_KEY, EmulatorConfig
    from .embedded import start_embedded
    from .exceptions import ApiError
    from .server import RunningEmulator, start_server
    from .store import Voice

_EXPORTS = {
    "DEFAULT_API_KEY": "config",
    "ApiError": "exceptions",
    "Backend": "backend",
    "EmulatorConfig": "config",
    "Voice": "store",
    "start_embedded": "embedded",
    "RunningEmulator": "server",
    "start_server": "server",
}

__all__ = [
    "DEFAULT_API_KEY",
    "ApiError",
    "Backend",
    "EmulatorConfig",
    "RunningEmulator",
    "Voice",
    "start_embedded",
    "start_server",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
