"""The `mcp` command: serve the voice workflow to agents over MCP (stdio)."""

from __future__ import annotations

import typer

from .common import state


def register(app: typer.Typer) -> None:
    """Add the ``mcp`` command to ``app``."""

    @app.command("mcp")
    def mcp_command(
        ctx: typer.Context,
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="Log every tool call on stderr."
        ),
    ) -> None:
        """Serve the voice tools over MCP on stdin/stdout (needs the `mcp` extra).

        Tools: voice_clone, check_sample, list_voices, get_voice, wait_voice, synthesize,
        delete_voice. Honours the global options (--region, --emulator, --home,
        --output-dir). Logs go to stderr; stdout carries only the protocol.

        Config for MCP clients:

          {"mcpServers": {"cosyvoice-clone": {"command": "cosyvoice-clone", "args": ["mcp"]}}}

        Offline: "args": ["--emulator", "mcp"]
        """
        import logging

        from .. import mcp as mcp_server

        mcp_server.require_sdk()
        import anyio

        settings = state(ctx).settings()
        mcp_server.configure_logging(settings, logging.INFO if verbose else logging.WARNING)
        anyio.run(mcp_server.serve_stdio, settings)
