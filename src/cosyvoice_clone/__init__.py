"""cosyvoice-clone: clone voices with Alibaba Cloud CosyVoice and speak with them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    APIStatusError,
    AuthenticationError,
    BadSampleError,
    ConfigError,
    CosyVoiceCloneError,
    Interrupted,
    InvalidRequestError,
    MissingCredentialsError,
    ModelMismatchError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    SampleRejectedError,
    SampleUnreadableError,
    ServerError,
    SynthesisError,
    TimeoutError,
    TransportError,
    VoiceDeployingError,
    VoiceNotReadyError,
    VoiceRejectedError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .client import AsyncCosyVoice, CloneResult, CosyVoice

_LAZY = {"CosyVoice": "client", "AsyncCosyVoice": "client", "CloneResult": "client"}


def __getattr__(name: str) -> object:
    """Import the clients on first use (``import cosyvoice_clone`` stays light for the CLI)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIStatusError",
    "AsyncCosyVoice",
    "AuthenticationError",
    "BadSampleError",
    "CloneResult",
    "ConfigError",
    "CosyVoice",
    "CosyVoiceCloneError",
    "Interrupted",
    "InvalidRequestError",
    "MissingCredentialsError",
    "ModelMismatchError",
    "NotFoundError",
    "QuotaExceededError",
    "RateLimitError",
    "SampleRejectedError",
    "SampleUnreadableError",
    "ServerError",
    "SynthesisError",
    "TimeoutError",
    "TransportError",
    "VoiceDeployingError",
    "VoiceNotReadyError",
    "VoiceRejectedError",
    "__version__",
]
