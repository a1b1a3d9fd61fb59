"""Fixtures of the MCP-over-HTTP tests: the speech server's (defined in tests/server)."""

from tests.server.server_helpers import home, make_server, voice  # noqa: F401
