"""The MCP server: the whole voice workflow for agents (``cosyvoice-clone mcp``).

Eight tools, on the same code as the CLI::

    voice_clone    the skill's normalized request (+ a local path for the sample), wait, force
    voice_design   a voice from a text description (+ its spoken preview), wait, force
    check_sample   preflight a sample before spending a voice slot
    list_voices    voices on the service, with what the local registry knows
    get_voice      one voice
    wait_voice     poll a voice until it is OK
    synthesize     text -> an audio file (path, duration, format); the model guard applies
    delete_voice   delete a voice (needs ``confirm: true``)

Layers: :mod:`.schemas` (:data:`TOOLS`: each tool's name, description and JSON schemas, and
argument validation); :mod:`.tools` (:class:`VoiceTools`: library calls, ``to_dict()`` payloads,
no MCP in it); :mod:`.server` (:func:`build_server` wires both into
an ``mcp`` low-level server, the official SDK, 2.x) that validates the arguments against the
schema and turns every failure into a tool error carrying ``code``, ``message``, ``hint`` and
``request_id`` — never a crash of the server, never the API key. :func:`serve_stdio` serves it on
stdin/stdout; logs go to stderr only.

``mcp`` is an optional dependency (``pip install -e '.[mcp]'`` in a checkout): it, the client and
the audio stack are imported inside functions, so importing this module is cheap.
"""

from __future__ import annotations

from .schemas import TOOLS, ConfirmationRequiredError, ToolSpec, validate_arguments
from .server import (
    build_server,
    call_tool,
    configure_logging,
    require_sdk,
    serve_stdio,
    tool_definitions,
)
from .tools import Progress, VoiceTools, error_payload

__all__ = [
    "TOOLS",
    "ConfirmationRequiredError",
    "Progress",
    "ToolSpec",
    "VoiceTools",
    "build_server",
    "call_tool",
    "configure_logging",
    "error_payload",
    "require_sdk",
    "serve_stdio",
    "tool_definitions",
    "validate_arguments",
]
