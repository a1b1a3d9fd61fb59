"""Clone claims in Redis: held, taken over from a dead owner or after the expiry, released."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from state_helpers import RedisServer

from cosyvoice_clone.claims import Claim, ClaimOwner
from cosyvoice_clone.state import namespace, open_state
from cosyvoice_clone.state._redis import RedisClaims, RedisState

ACCOUNT = "sk-test-account"


def claims(redis_server: RedisServer, tmp_path: Path, **kwargs: object) -> RedisClaims:
    state = open_state(redis_server.url, home=tmp_path / "h", account=ACCOUNT)
    assert isinstance(state, RedisState)
    return RedisClaims(state, **kwargs)  # type: ignore[arg-type]


def plant(redis_server: RedisServer, key: str, *, pid: int, host: str, expires_in: float) -> None:
    """A claim written by someone else (Redis's clock)."""
    client = redis_server.client()
    now = float(client.time()[0]) + client.time()[1] / 1e6
    client.hset(
        f"cvc:{namespace(ACCOUNT)}:claim:{key}",
        mapping={"token": "theirs", "pid": pid, "host": host, "started_at": now - 1,
                 "expires_at": now + expires_in, "sample_url": "oss://sample"},
    )  # fmt: skip


def test_claim_held_noted_released(redis_server: RedisServer, tmp_path: Path) -> None:
    board = claims(redis_server, tmp_path)
    mine = board.try_claim("k1")
    assert isinstance(mine, Claim) and mine.previous is None
    held = board.try_claim("k1")
    assert isinstance(held, ClaimOwner) and held.token == mine.token and held.pid == os.getpid()
    assert board.note(mine, "oss://s") and board.owner("k1").sample_url == "oss://s"  # type: ignore[union-attr]
    assert not board.note(Claim("k1", "not-mine", 0.0), "x")
    board.release(Claim("k1", "not-mine", 0.0))
    assert board.owner("k1") is not None  # only the owner's token releases
    board.release(mine)
    assert board.owner("k1") is None


def test_a_dead_owner_on_this_host_is_taken_over(redis_server: RedisServer, tmp_path: Path) -> None:
    board = claims(redis_server, tmp_path, alive=lambda pid: False)
    plant(redis_server, "k2", pid=os.getpid() + 100000, host=socket.gethostname(), expires_in=300)
    got = board.try_claim("k2")
    assert isinstance(got, Claim) and got.previous is not None
    assert got.previous.token == "theirs" and got.previous.sample_url == "oss://sample"


def test_another_host_waits_for_the_expiry(redis_server: RedisServer, tmp_path: Path) -> None:
    board = claims(redis_server, tmp_path, alive=lambda pid: False)
    plant(redis_server, "k3", pid=1, host="elsewhere", expires_in=300)
    held = board.try_claim("k3")
    assert isinstance(held, ClaimOwner) and held.host == "elsewhere"  # its pid can't be probed
    plant(redis_server, "k4", pid=1, host="elsewhere", expires_in=-1)
    got = board.try_claim("k4")
    assert isinstance(got, Claim) and got.previous is not None and got.previous.host == "elsewhere"


def test_a_held_claim_is_kept_alive_and_lapses_when_its_owner_stops(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    import time

    board = claims(redis_server, tmp_path, ttl=0.6)
    mine = board.try_claim("k5")
    assert isinstance(mine, Claim)
    other = claims(redis_server, tmp_path, alive=lambda pid: False)
    other.host = "another-host"  # a replica elsewhere: it can only wait for the expiry
    time.sleep(1.5)  # over twice the ttl: the heartbeat kept it
    assert isinstance(other.try_claim("k5"), ClaimOwner)
    board.state.drop(board._key("k5"), mine.token)  # the owner stops beating (it died)
    time.sleep(1.0)
    taken = other.try_claim("k5")
    assert isinstance(taken, Claim) and taken.previous is not None
    assert taken.previous.token == mine.token
    other.release(taken)
