"""The emulator's own exceptions: refusals of the emulated service, each with a code and message.

These are the service's answers, not this package's errors (nothing here subclasses
:mod:`cosyvoice_clone.errors`): the client under test is what turns them into its own errors.

- :class:`ApiError` (HTTP status, DashScope code, message, extra headers) is raised anywhere in
  the backend or a route and rendered by the app's one handler as the service's JSON body
  ``{"request_id", "code", "message"}`` (the stand-in OSS host renders it as OSS's XML);
- :class:`TaskFailure` (code, message) ends a WebSocket synthesis task with ``task-failed``;
- :class:`DropConnection` asks the route to drop the TCP connection without answering (the
  ``drop_after_commit`` fault).
"""

from __future__ import annotations

import math

ENGINE_418 = "[tts:]Engine return error code: 418"
"""What the service answers for a voice it cannot speak with the model (unknown, other model,
not deployed): ``task-failed`` ``InvalidParameter`` on the WebSocket, HTTP 400 on HTTP."""


class ApiError(Exception):
    """A refusal of the emulated service: rendered as ``{"request_id", "code", "message"}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class TaskFailure(Exception):
    """A reason to answer ``task-failed`` on the synthesis WebSocket (then close)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DropConnection(Exception):
    """Raised after a commit when the ``drop_after_commit`` fault fired: close, answer nothing."""


def invalid_parameter(message: str) -> ApiError:
    """400 ``InvalidParameter`` with ``message``."""
    return ApiError(400, "InvalidParameter", message)


def not_found() -> ApiError:
    """400 ``BadRequest.ResourceNotExist``: the documented answer for an unknown voice id."""
    return ApiError(400, "BadRequest.ResourceNotExist", "The Required resource not exist.")


def rate_limited(retry_after: float) -> ApiError:
    """429 ``Throttling.RateQuota`` with a ``Retry-After`` header (whole seconds, at least 1)."""
    return ApiError(
        429,
        "Throttling.RateQuota",
        "Requests rate limit exceeded, please try again later.",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


def internal_error() -> ApiError:
    """500 ``InternalError`` (the service's spelling of its message kept)."""
    return ApiError(500, "InternalError", "An internal error has occured, please try again.")


def task_invalid(message: str) -> TaskFailure:
    """``task-failed`` with ``InvalidParameter``."""
    return TaskFailure("InvalidParameter", message)
