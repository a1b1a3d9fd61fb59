"""The MCP server: the tools wired into the official SDK's low-level server, served on stdio."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import CosyVoiceCloneError
from .schemas import INSTALL_HINT, INSTRUCTIONS, SERVER_NAME, TOOLS, TOOLS_BY_NAME
from .tools import INLINE_AUDIO_KEY, Progress, VoiceTools, _json_text, error_payload
from .validation import validate_arguments

if TYPE_CHECKING:
    from pathlib import Path

    from mcp.server.lowlevel import Server

    from ..config import Settings

logger = logging.getLogger("cosyvoice_clone.mcp")


def tool_definitions() -> list[Any]:
    """The tools as ``mcp_types.Tool`` objects."""
    import mcp_types as types

    return [
        types.Tool(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            input_schema=spec.input_schema,
            output_schema=spec.output_schema,
            annotations=types.ToolAnnotations(
                title=spec.title,
                read_only_hint=spec.read_only,
                destructive_hint=spec.destructive,
                idempotent_hint=spec.idempotent,
                open_world_hint=spec.open_world,
            ),
        )
        for spec in TOOLS
    ]


async def call_tool(
    tools: VoiceTools,
    name: str,
    arguments: Mapping[str, Any] | None,
    progress: Progress | None = None,
) -> Any:
    """Run one tool call and return a ``CallToolResult`` (failures as ``is_error`` results)."""
    import mcp_types as types
    from mcp.shared.exceptions import MCPError

    spec = TOOLS_BY_NAME.get(name)
    if spec is None:
        raise MCPError(
            code=types.INVALID_PARAMS,
            message=f"unknown tool {name!r}; tools: " + ", ".join(TOOLS_BY_NAME),
        )
    started = time.monotonic()
    try:
        args = validate_arguments(spec, arguments)
        try:
            data = await tools.handler(name)(args, progress)
        finally:
            if progress is not None:
                await progress.drain()
    except Exception as exc:  # every failure becomes a tool error; the server keeps serving
        payload = error_payload(exc, tools.secrets)
        if isinstance(exc, CosyVoiceCloneError):
            logger.info("tool %s failed: %s", name, payload["error"]["code"])
        else:
            logger.error("tool %s crashed: %s", name, payload["error"]["message"])
            logger.debug("traceback", exc_info=True)
        return types.CallToolResult(
            content=[types.TextContent(text=_json_text(payload))],
            structured_content=payload,
            is_error=True,
        )
    logger.info("tool %s ok in %.2f s", name, time.monotonic() - started)
    from ..config import redact

    inline = data.pop(INLINE_AUDIO_KEY, None) if isinstance(data, dict) else None
    text = redact(_json_text(data), *tools.secrets)
    content: list[Any] = [types.TextContent(text=text)]
    if inline is not None:
        import base64

        mime, audio = inline
        content.append(
            types.AudioContent(data=base64.b64encode(audio).decode("ascii"), mime_type=mime)
        )
    return types.CallToolResult(content=content, structured_content=json.loads(text))


def build_server(settings: Settings, files_under: Path | None = None) -> Server[VoiceTools]:
    """An MCP low-level server exposing :data:`TOOLS` on ``settings`` (``files_under``: the
    only folder its tools read and write local files in; see :class:`.tools.VoiceTools`)."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    import mcp_types as types
    from mcp.server.context import ServerRequestContext
    from mcp.server.lowlevel import Server

    @asynccontextmanager
    async def lifespan(_: Server[VoiceTools]) -> AsyncIterator[VoiceTools]:
        tools = VoiceTools(settings, files_under)
        try:
            yield tools
        finally:
            await tools.aclose()

    async def on_list_tools(
        ctx: ServerRequestContext[VoiceTools], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tool_definitions())

    async def on_call_tool(
        ctx: ServerRequestContext[VoiceTools], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        # A no-op unless the client sent a progress token with the call.
        progress = Progress(ctx.session.report_progress)
        result: types.CallToolResult = await call_tool(
            ctx.lifespan_context, params.name, params.arguments, progress
        )
        return result

    return Server(
        SERVER_NAME,
        version=__version__,
        title="CosyVoice voice cloning",
        description="Clone voices with Alibaba Cloud CosyVoice and speak with them.",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


class _RedactingFilter(logging.Filter):
    """Masks the API key (and anything key-shaped) in every log record."""

    def __init__(self, secrets: tuple[str | None, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        from ..config import redact

        text = record.getMessage()
        if record.exc_info:  # tracebacks too: an exception message may quote anything
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg = redact(text, *self.secrets)
        record.args = None
        return True


def configure_logging(settings: Settings, level: int = logging.WARNING) -> None:
    """Send logs to stderr (never stdout: it carries the protocol), with the key masked."""
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("cosyvoice-clone mcp: %(levelname)s %(message)s"))
    key = settings.api_key
    handler.addFilter(_RedactingFilter((key.value,) if key is not None else ()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "websockets", "uvicorn", "mcp"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


async def serve_stdio(settings: Settings) -> None:
    """Serve the tools over stdin/stdout until the client closes stdin."""
    from mcp.server.stdio import stdio_server

    server = build_server(settings)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def require_sdk() -> None:
    """Raise :class:`~cosyvoice_clone.errors.ConfigError` if the ``mcp`` SDK is missing."""
    from ..errors import ConfigError

    try:
        import mcp.server.lowlevel  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the MCP server needs the optional 'mcp' package", hint=INSTALL_HINT
        ) from None


__all__ = [
    "build_server",
    "call_tool",
    "configure_logging",
    "require_sdk",
    "serve_stdio",
    "tool_definitions",
]
