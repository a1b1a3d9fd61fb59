"""The MCP server: the whole voice workflow for agents (``cosyvoice-clone mcp``).

Nine tools, on the same library as the CLI (:data:`TOOLS` lists them all)::

    voice_clone         the skill's normalized request (+ a local path for the sample), wait,
                        force
    voice_design        a voice from a text description (+ its spoken preview), wait, force
    check_sample        preflight a sample before spending a voice slot
    list_voices         voices on the service, with what the local registry knows
    list_system_voices  the service's preset voices the catalog knows (nothing sent)
    get_voice           one voice
    wait_voice          poll a voice until it is OK
    synthesize          text -> an audio file (path, duration, format); the model guard applies
    delete_voice        delete a voice (needs ``confirm: true``)

Layers: :mod:`.schemas` (:data:`TOOLS`: each tool's name, description and JSON schemas);
:mod:`.validation` (arguments checked against them); :mod:`.hints` (what to do next, in tool
words); :mod:`.tools` (:class:`VoiceTools`: public-client calls, ``to_dict()`` payloads, no MCP
in it); :mod:`.server` (:func:`build_server` wires them into
an ``mcp`` low-level server, the official SDK, 2.x) that validates the arguments against the
schema and turns every failure into a tool error carrying ``code``, ``message``, ``hint`` and
``request_id`` — never a crash of the server, never the API key. :func:`serve_stdio` serves it on
stdin/stdout; logs go to stderr only.

``mcp`` is an optional dependency (``pip install -e '.[mcp]'`` in a checkout): it, the client and
the audio stack are imported inside functions, so importing this module is cheap.
"""

from __future__ import annotations

from .hints import mcp_hint
from .schemas import TOOLS, ToolSpec
from .server import (
    build_server,
    call_tool,
    configure_logging,
    require_sdk,
    serve_stdio,
    tool_definitions,
)
from .tools import Progress, VoiceTools, error_payload
from .validation import validate_arguments

__all__ = [
    "TOOLS",
    "Progress",
    "ToolSpec",
    "VoiceTools",
    "build_server",
    "call_tool",
    "configure_logging",
    "error_payload",
    "mcp_hint",
    "require_sdk",
    "serve_stdio",
    "tool_definitions",
    "validate_arguments",
]
