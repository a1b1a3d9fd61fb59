"""The one retry policy: the HTTP delays and the synthesis backoff come from `_retry`."""

from __future__ import annotations

from cosyvoice_clone import errors, http
from cosyvoice_clone._retry import NO_RETRY, SYNTHESIS_RETRY, RetryPolicy


def test_http_reexports_the_one_policy() -> None:
    assert http.RetryPolicy is RetryPolicy and http.NO_RETRY is NO_RETRY


def test_synthesis_backoff_doubles_and_throttling_starts_longer() -> None:
    plain = errors.SynthesisError("task failed")
    throttled = errors.RateLimitError("slow down", api_code="Throttling")
    assert [SYNTHESIS_RETRY.backoff(n, plain) for n in (1, 2, 3)] == [0.3, 0.6, 1.2]
    assert [SYNTHESIS_RETRY.backoff(n, throttled) for n in (1, 2, 3, 5)] == [1.0, 2.0, 4.0, 8.0]
    assert SYNTHESIS_RETRY.backoff(9, plain) == 8.0


def test_http_delay_honours_retry_after_with_a_cap() -> None:
    policy = RetryPolicy(jitter=False, max_retry_after=5.0)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    assert policy.delay(1, retry_after=60.0) == 5.0
