"""The `mcp` command: serve the voice workflow to agents over MCP (stdio)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand

from .common import state

TOOLS_PLACEHOLDER = "{tools}"


def tool_list() -> str:
    """The MCP server's tools, from its tool table (``mcp.TOOLS``): ``voice_clone, ...``."""
    from ..mcp.schemas import TOOLS

    return ", ".join(tool.name for tool in TOOLS)


class _McpCommand(TyperCommand):
    """The ``mcp`` command: its help lists the tools of the server's table when it is shown
    (the table is imported for ``--help`` only, not on every start of the CLI)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        if self.help and TOOLS_PLACEHOLDER in self.help:
            names = tool_list()
            self.help = self.help.replace(
                TOOLS_PLACEHOLDER, f"{names.count(',') + 1} tools: {names}"
            )
        super().format_help(ctx, formatter)


def register(app: typer.Typer) -> None:
    """Add the ``mcp`` command to ``app``."""

    @app.command("mcp", cls=_McpCommand)
    def mcp_command(
        ctx: typer.Context,
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="Log every tool call on stderr."
        ),
    ) -> None:
        """Serve the voice tools over MCP on stdin/stdout (needs the `mcp` extra).

        The {tools}. Honours the global options (--region, --emulator, --home,
        --output-dir). Logs go to stderr (COSYVOICE_CLONE_DEBUG=1 adds tracebacks of
        unexpected failures); stdout carries only the protocol.

        Examples:

        \b
          cosyvoice-clone mcp
          cosyvoice-clone --emulator --home ./voices mcp     (offline)

        Config for MCP clients:

        \b
          {"mcpServers": {"cosyvoice-clone": {
             "command": "cosyvoice-clone", "args": ["mcp"],
             "env": {"DASHSCOPE_API_KEY": "sk-..."}}}}
        """
        import logging
        import os
        import sys

        from .. import mcp as mcp_server

        mcp_server.require_sdk()
        import anyio

        app_state = state(ctx)
        settings = app_state.settings()
        level = logging.INFO if verbose else logging.WARNING
        if os.environ.get("COSYVOICE_CLONE_DEBUG"):
            level = logging.DEBUG  # also the tracebacks of unexpected failures in tools
        mcp_server.configure_logging(settings, level)
        if sys.stdin.isatty():
            app_state.err_console.print(
                "cosyvoice-clone mcp: serving MCP on stdin/stdout; start it from an MCP client "
                "(Ctrl-C to stop)",
                markup=False,
            )
        anyio.run(mcp_server.serve_stdio, settings)
