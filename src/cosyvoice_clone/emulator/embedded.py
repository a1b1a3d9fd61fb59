"""The emulator embedded in a CLI process (``cosyvoice-clone --emulator ...``).

:func:`start_embedded` serves a :class:`Backend` whose state persists in a file under ``home``
(mode 0600) on a free loopback port, in a background thread, so voices survive from one command
to the next.

Each region has its own state file, as the real regions are separate deployments: a voice
cloned with ``--region ap-southeast-1`` does not exist in ``cn-beijing`` and vice versa.
``cn-beijing`` (the default region) keeps ``emulator.sqlite3``, the file used before regions were
separated; every other region uses ``emulator-<region>.sqlite3`` (:func:`state_file`).

Defaults suit interactive use; environment variables override them:

=========================================== ========================================== =======
variable                                     meaning                                    default
=========================================== ========================================== =======
``COSYVOICE_CLONE_EMULATOR_DEPLOY_DELAY``    seconds a new voice stays DEPLOYING        1.5
``COSYVOICE_CLONE_EMULATOR_FIRST_AUDIO_LATENCY`` seconds before the first audio frame    0
``COSYVOICE_CLONE_EMULATOR_RTF``             audio production real-time factor          0
``COSYVOICE_CLONE_EMULATOR_RATE_LIMITS``     ``1``/``0``: service rate limits on/off    1
``COSYVOICE_CLONE_EMULATOR_FAULTS``          fault spec, e.g. ``http503=0.2``           none
``COSYVOICE_CLONE_EMULATOR_QUOTA``           voice slots                                1000
``COSYVOICE_CLONE_EMULATOR_NETWORK_DELAY``   one-way seconds on synthesis connections   0
``COSYVOICE_CLONE_EMULATOR_CONNECTION_IDLE`` seconds an idle connection stays open      60
=========================================== ========================================== =======
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import catalog
from .._sqlite import DatabaseFileError
from .backend import Backend
from .config import DEFAULT_API_KEY, EmulatorConfig
from .server import RunningEmulator, start_server

STATE_FILE = "emulator.sqlite3"
"""State file of the default region (cn-beijing); see :func:`state_file`."""
EMBEDDED_DEPLOY_DELAY = 1.5

ENV_PREFIX = "COSYVOICE_CLONE_EMULATOR_"
ENV_SETTINGS: dict[str, str] = {
    "DEPLOY_DELAY": "deploy_delay",
    "FIRST_AUDIO_LATENCY": "first_audio_latency",
    "RTF": "rtf",
    "RATE_LIMITS": "rate_limits",
    "FAULTS": "faults",
    "QUOTA": "quota",
    "NETWORK_DELAY": "network_delay",
    "CONNECTION_IDLE": "connection_idle_timeout",
}
"""Suffix of ``COSYVOICE_CLONE_EMULATOR_<SUFFIX>`` -> :class:`EmulatorConfig` field."""

__all__ = [
    "DEFAULT_API_KEY",
    "ENV_SETTINGS",
    "RunningEmulator",
    "config_from_env",
    "start_embedded",
    "state_file",
]


def state_file(region: str) -> str:
    """Name of the state file of ``region`` under the home dir (one per region)."""
    if region == catalog.DEFAULT_REGION:
        return STATE_FILE
    return f"emulator-{region}.sqlite3"


def config_from_env(
    config: EmulatorConfig, environ: Mapping[str, str] | None = None
) -> EmulatorConfig:
    """Apply ``COSYVOICE_CLONE_EMULATOR_*`` overrides to ``config`` (in place; returned).

    Raises :class:`~cosyvoice_clone.errors.ConfigError` naming the variable if one is invalid.
    """
    from ..errors import ConfigError

    env = os.environ if environ is None else environ
    for suffix, name in ENV_SETTINGS.items():
        value = env.get(ENV_PREFIX + suffix)
        if value is None or value.strip() == "":
            continue
        try:
            config.update({name: value.strip()})
        except ValueError as exc:
            raise ConfigError(f"{ENV_PREFIX}{suffix}: {exc}") from None
    return config


def start_embedded(home: Path, region: str, **settings: Any) -> RunningEmulator:
    """Start an emulator of ``region`` with persistent state under ``home`` on a free port.

    The state is the region's own file (:func:`state_file`): voices and uploads of one region
    are invisible to the other. A state file that is a folder, not a database, damaged or from
    a newer version is a :class:`~cosyvoice_clone.errors.ConfigError`, and is left untouched.

    ``settings`` are :class:`EmulatorConfig` fields that override the defaults (environment
    overrides win over both). Call ``.stop()`` on the result when done.
    """
    from ..errors import ConfigError

    config = EmulatorConfig(deploy_delay=EMBEDDED_DEPLOY_DELAY)
    try:
        config.update({"region": region, **settings})
    except ValueError as exc:
        raise ConfigError(f"emulator: {exc}") from None
    config_from_env(config)
    home = Path(home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    path = home / state_file(config.region)
    try:
        backend = Backend(config, state_path=path)
    except DatabaseFileError as exc:
        raise ConfigError(
            f"the emulator's state {path} cannot be used: {exc}",
            hint=exc.hint or f"move it away (`mv {path} {path}.bad`) to start the emulator afresh",
        ) from None
    try:
        key = DEFAULT_API_KEY if DEFAULT_API_KEY in config.api_keys else None
        return start_server(backend, api_key=key)
    except BaseException:
        backend.close()
        raise
