"""Request pacing with an injected clock (no sleeping): the enrollment pacer and the retry
defaults (``NOT_GIVEN`` is the default, ``None`` turns a feature off)."""

from __future__ import annotations

from cosyvoice_clone.client import DEFAULT_RATE_LIMIT, CosyVoice
from cosyvoice_clone.http import NO_RETRY, NOT_GIVEN, Pacer, RetryPolicy

KEY = "test-key-pacing"


def test_pacer_spaces_requests_by_the_rate_on_the_injected_clock() -> None:
    now = [50.0]
    pacer = Pacer(4.0, clock=lambda: now[0])
    assert [pacer.reserve() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    now[0] += 10.0
    assert pacer.reserve() == 0.0
    pacer.push_back(2.0)  # a 429 asked everyone to wait
    assert pacer.reserve() == 2.0


def test_no_rate_means_no_pacing() -> None:
    pacer = Pacer(None, clock=lambda: 0.0)
    assert [pacer.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_none_turns_retry_and_pacing_off_and_not_given_keeps_the_defaults() -> None:
    assert repr(NOT_GIVEN) == "NOT_GIVEN" and not NOT_GIVEN
    with CosyVoice(api_key=KEY, region="cn-beijing") as default:
        assert default._http.retry == RetryPolicy.from_env()
        assert default._http.pacer.interval == 1.0 / DEFAULT_RATE_LIMIT
    with CosyVoice(api_key=KEY, region="cn-beijing", retry=None, rate_limit=None) as off:
        assert off._http.retry == NO_RETRY and off._http.pacer.interval == 0.0
    policy = RetryPolicy(max_attempts=2)
    with CosyVoice(api_key=KEY, region="cn-beijing", retry=policy, rate_limit=2.0) as given:
        assert given._http.retry is policy and given._http.pacer.interval == 0.5
