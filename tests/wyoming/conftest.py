"""Fixtures of the Wyoming tests (defined in wyoming_helpers)."""

from tests.wyoming.wyoming_helpers import cloned, home, wyoming_server  # noqa: F401
