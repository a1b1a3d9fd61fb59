"""The service's error codes map to exact exception classes (a table written by hand from the
service's documentation, not read from the production table)."""

from __future__ import annotations

import pytest

from cosyvoice_clone import errors
from cosyvoice_clone.errors import (
    APIStatusError,
    AuthenticationError,
    BadSampleError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    api_error,
)

# Source: the voice-clone API reference, error codes
# (help.aliyun.com/zh/model-studio/cosyvoice-clone-api, 2026-02) and dashscope SDK 2.0.2.
BY_CODE: dict[str, tuple[type[APIStatusError], int]] = {
    "InvalidApiKey": (AuthenticationError, 3),
    "AccessDenied": (AuthenticationError, 3),
    "AccessDenied.Unpurchased": (AuthenticationError, 3),
    "Model.AccessDenied": (AuthenticationError, 3),
    "Arrearage": (APIStatusError, 1),
    "BadRequest.ResourceNotExist": (NotFoundError, 1),
    "Throttling.AllocationQuota": (QuotaExceededError, 4),
    "Throttling": (RateLimitError, 4),
    "Throttling.RateQuota": (RateLimitError, 4),
    "BadRequest.UnsupportedFileFormat": (BadSampleError, 1),
    "BadRequest.InputDownloadFailed": (BadSampleError, 1),
    "InvalidParameter.DataInspection": (BadSampleError, 1),
    "Audio.AudioShortError": (BadSampleError, 1),
    "Audio.AudioSilentError": (BadSampleError, 1),
    "Audio.DecoderError": (BadSampleError, 1),
    "Audio.AudioRateError": (BadSampleError, 1),
    "Audio.SomethingNew": (BadSampleError, 1),  # any Audio.* code
    "InvalidParameter": (APIStatusError, 1),
    "InternalError": (ServerError, 1),
    "ServiceUnavailable": (ServerError, 1),
}

# Codes we don't know fall back on the HTTP status.
BY_STATUS: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    429: RateLimitError,
    500: ServerError,
    502: ServerError,
    503: ServerError,
    400: APIStatusError,
    404: APIStatusError,
}


@pytest.mark.parametrize(("api_code", "expected"), sorted(BY_CODE.items()))
def test_each_api_code_maps_to_its_exact_class(
    api_code: str, expected: tuple[type[APIStatusError], int]
) -> None:
    cls, exit_code = expected
    err = api_error(400, api_code, "message", "rid")
    assert type(err) is cls
    assert err.exit_code == exit_code and err.api_code == api_code and err.request_id == "rid"
    assert err.hint or cls is APIStatusError


@pytest.mark.parametrize(("status", "cls"), sorted(BY_STATUS.items()))
def test_unknown_codes_fall_back_on_the_http_status(status: int, cls: type[APIStatusError]) -> None:
    assert type(api_error(status, "Some.UnknownCode", None)) is cls
    assert type(api_error(status, None, None)) is cls


def test_every_production_code_is_in_the_hand_written_table() -> None:
    assert set(errors.API_CODES) <= set(BY_CODE)


def test_the_old_timeout_name_is_an_alias() -> None:
    assert errors.TimeoutError is errors.OperationTimeoutError
    assert errors.OperationTimeoutError.exit_code == 5
    assert issubclass(errors.VoiceNotReadyError, errors.OperationTimeoutError)
