"""Fixtures of the speech server tests (defined in server_helpers, shared with tests/studio)."""

from tests.server.server_helpers import home, make_server, server, voice  # noqa: F401
