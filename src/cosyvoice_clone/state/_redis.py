"""The Redis backend: pacing, claims and the voice index shared by every replica of an account.

Every key is under ``cvc:{namespace}:`` (a hash of the API key). Times are Redis's clock
(``TIME`` inside the scripts), the one clock replicas on several hosts agree on; claim times are
converted to this host's clock when they are read. Two connection pools: pacing calls (made on
the event loop by speech) time out after 0.25 s, claims and the index after 2 s.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from ..claims import Claim, ClaimOwner, ClaimStore, Database, process_alive
from ..config import ENV_REDIS_PASSWORD, redacted_url, url_password
from ..errors import ConfigError, StateUnavailableError
from ..extras import extra_hint
from ..models import VoiceRecord
from ..pacing import PaceMode, share_pacing
from .base import LOGGER, StateBackend, VoiceIndex

log = logging.getLogger(LOGGER)

PACING_TIMEOUT = 0.25
"""Seconds a pacing call may take before speech paces locally (it runs on the event loop)."""
STATE_TIMEOUT = 2.0
"""Seconds a claim or index call may take (they run in worker threads)."""
RETRY_AFTER = 5.0
"""Seconds between attempts to reach Redis again while pacing locally."""
CLAIM_TTL = 30.0
"""Seconds a Redis claim lasts without a heartbeat; its owner refreshes it every third of that,
so a replica that died on another host is taken over after at most this long."""
CLAIM_KEEP = 86400
"""Seconds a claim hash outlives its expiry, so a take-over learns who it replaced."""

RUN_HINT = "start Redis or fix --state-url; speech goes on with local pacing"
START_HINT = "start Redis or fix --state-url (without it, state stays in files under --home)"

T = TypeVar("T")

PACE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, window, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
if floor > now + 3600 then floor = 0 end
if mode == 'push' then
  local f = now + math.min(tonumber(ARGV[4]), 3600)
  if f > floor then
    redis.call('SET', KEYS[2], string.format('%.6f', f), 'PX', math.ceil((f - now) * 1000) + 1000)
  end
  return '0'
end
local slots = {}
for _, s in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local v = tonumber(s)
  if v > now - window and v <= now + 3600 then slots[#slots + 1] = v end
end
local at = math.max(now, floor)
if #slots >= limit then at = math.max(at, slots[#slots - limit + 1] + window) end
if mode == 'take' then
  if at > now then return string.format('%.6f', at - now) end
elseif #slots > 0 then
  at = math.max(at, slots[#slots])
end
slots[#slots + 1] = at
table.sort(slots)
local keep = {}
for i = math.max(1, #slots - limit + 1), #slots do
  keep[#keep + 1] = string.format('%.6f', slots[i])
end
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], unpack(keep))
redis.call('PEXPIRE', KEYS[1], math.ceil((at - now + window) * 1000) + 1000)
return string.format('%.6f', at - now)
"""

CLAIM_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = string.format('%.6f', now)
local cur = redis.call('HMGET', KEYS[1], 'token', 'pid', 'host', 'started_at', 'expires_at',
  'sample_url')
if cur[1] and tonumber(cur[5]) > now and cur[1] ~= ARGV[5] then
  return {0, n, cur[1], cur[2], cur[3], cur[4], cur[5], cur[6] or ''}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'pid', ARGV[2], 'host', ARGV[3],
  'started_at', n, 'expires_at', string.format('%.6f', now + tonumber(ARGV[4])))
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) + tonumber(ARGV[6])))
if cur[1] then return {1, n, cur[1], cur[2], cur[3], cur[4], cur[5], cur[6] or ''} end
return {1, n}
"""

NOTE_LUA = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'sample_url', ARGV[2],
  'expires_at', string.format('%.6f', now + tonumber(ARGV[3])))
return 1
"""

EXTEND_LUA = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'expires_at', string.format('%.6f', now + tonumber(ARGV[2])))
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) + tonumber(ARGV[3])))
return 1
"""

RELEASE_LUA = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

UPDATE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i])
  else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
"""


def _import_redis() -> Any:
    try:
        import redis
    except ImportError:
        raise ConfigError(
            "--state-url needs the redis extra, which is not installed",
            hint=extra_hint("redis", "redis-py"),
        ) from None
    return redis


class RedisState(StateBackend):
    """The shared state in one Redis database, for one account (``namespace``)."""

    def __init__(self, url: str, *, home: Path, namespace: str) -> None:
        self.url = url
        self.display = redacted_url(url)
        self.home = home
        self.prefix = f"cvc:{namespace}:"
        self._redis = _import_redis()
        self._pace_client = self._connect(PACING_TIMEOUT)
        self._client = self._connect(STATE_TIMEOUT)
        self._pace_script = self._pace_client.register_script(PACE_LUA)
        self._claim_script = self._client.register_script(CLAIM_LUA)
        self._note_script = self._client.register_script(NOTE_LUA)
        self._release_script = self._client.register_script(RELEASE_LUA)
        self._extend_script = self._client.register_script(EXTEND_LUA)
        self._held: dict[tuple[str, str], float] = {}
        """Claims this process holds: (redis key, token) -> ttl, refreshed by the heartbeat."""
        self._held_lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._update_script = self._client.register_script(UPDATE_LUA)
        self._outage_lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._voices = RedisVoiceIndex(self)

    def _connect(self, timeout: float) -> Any:
        password = None if url_password(self.url) else os.environ.get(ENV_REDIS_PASSWORD) or None
        try:
            return self._redis.Redis.from_url(
                self.url,
                password=password,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                decode_responses=True,
            )
        except ValueError as exc:
            raise ConfigError(
                f"--state-url {self.display!r} cannot be used: {exc}",
                hint="e.g. redis://127.0.0.1:6379/0",
            ) from None

    # -- errors -------------------------------------------------------------------------------

    def _reason(self, exc: Exception) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        password = url_password(self.url) or os.environ.get(ENV_REDIS_PASSWORD)
        if password:
            text = text.replace(password, "***")
        return text[:160]

    def unavailable(
        self, exc: Exception, doing: str, hint: str = RUN_HINT
    ) -> StateUnavailableError:
        """The one-line error of an outage while ``doing`` something that must be shared."""
        return StateUnavailableError(
            f"the shared state at {self.display} is unreachable ({self._reason(exc)}): {doing}",
            hint=hint,
        )

    def call(self, doing: str, action: Callable[[], T]) -> T:
        """Run a claim or index call; an outage (or a refusal) is a ``StateUnavailableError``."""
        try:
            return action()
        except self._redis.RedisError as exc:
            raise self.unavailable(exc, doing) from None

    def check(self) -> None:
        try:
            self._client.ping()
        except self._redis.AuthenticationError as exc:
            raise ConfigError(
                f"the shared state at {self.display} refused the password ({self._reason(exc)})",
                hint=f"fix the password in --state-url or env {ENV_REDIS_PASSWORD}",
            ) from None
        except self._redis.ResponseError as exc:
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise ConfigError(
                    f"the shared state at {self.display} needs a password ({self._reason(exc)})",
                    hint=f"put it in --state-url (redis://:PASSWORD@HOST) or env "
                    f"{ENV_REDIS_PASSWORD}",
                ) from None
            raise self.unavailable(exc, "nothing was done", START_HINT) from None
        except self._redis.RedisError as exc:
            raise self.unavailable(exc, "nothing was done", START_HINT) from None
        share_pacing(self.home, self)

    def close(self) -> None:
        share_pacing(self.home, None)
        for client in (self._pace_client, self._client):
            client.close()

    # -- pacing -------------------------------------------------------------------------------

    def pace(
        self, bucket: str, *, limit: int, window: float, mode: PaceMode, seconds: float = 0.0
    ) -> float | None:
        """One atomic script call; ``None`` (pace locally) while Redis is unreachable."""
        if self._down_since is not None and time.monotonic() < self._retry_at:
            return None
        keys = [f"{self.prefix}pace:{bucket}:slots", f"{self.prefix}pace:{bucket}:floor"]
        try:
            answer = self._pace_script(keys=keys, args=[limit, repr(window), mode, repr(seconds)])
        except self._redis.RedisError as exc:
            with self._outage_lock:
                self._retry_at = time.monotonic() + RETRY_AFTER
                if self._down_since is None:
                    self._down_since = time.monotonic()
                    log.warning(
                        "shared state %s unreachable (%s): pacing locally until it is back",
                        self.display,
                        self._reason(exc),
                    )
            return None
        if self._down_since is not None:
            with self._outage_lock:
                if self._down_since is not None:
                    self._down_since = None
                    log.warning("shared state %s reachable again: pacing is shared", self.display)
        return float(answer)

    # -- claims and voices ----------------------------------------------------------------------

    def hold(self, key: str, token: str, ttl: float) -> None:
        """Keep the claim alive (every ``ttl / 3`` s) until :meth:`drop`."""
        with self._held_lock:
            self._held[(key, token)] = ttl
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(
                    target=self._beat, name="cosyvoice-clone-claims", daemon=True
                )
                self._heartbeat.start()

    def drop(self, key: str, token: str) -> None:
        with self._held_lock:
            self._held.pop((key, token), None)

    def _beat(self) -> None:
        while True:
            with self._held_lock:
                if not self._held:
                    self._heartbeat = None
                    return
                pause = min(self._held.values()) / 3
            time.sleep(pause)
            with self._held_lock:
                held = list(self._held.items())
            for (key, token), ttl in held:
                # An outage: creating fails closed anyway, and the claim may expire.
                with contextlib.suppress(self._redis.RedisError):
                    self._extend_script(keys=[key], args=[token, repr(ttl), CLAIM_KEEP])

    def claims(self, db: Database, lock: threading.RLock) -> ClaimStore:
        return RedisClaims(self)

    @property
    def voices(self) -> VoiceIndex | None:
        return self._voices


class RedisClaims(ClaimStore):
    """Clone claims in Redis: an owner (token, pid, host), a start and an expiry per key."""

    def __init__(
        self,
        state: RedisState,
        *,
        ttl: float = CLAIM_TTL,
        alive: Callable[[int], bool] = process_alive,
    ) -> None:
        self.state = state
        self.ttl = ttl
        self.clock = time.time
        self._alive = alive
        self.host = socket.gethostname()

    def _key(self, key: str) -> str:
        return f"{self.state.prefix}claim:{key}"

    @staticmethod
    def _owner(key: str, values: list[Any], offset: float) -> ClaimOwner:
        token, pid, host, started, expires, url = values[:6]
        return ClaimOwner(
            key,
            str(token),
            int(pid),
            str(host),
            float(started) + offset,
            float(expires) + offset,
            str(url) or None,
        )

    def _run(self, key: str, token: str, dead: str) -> list[Any]:
        args = [token, os.getpid(), self.host, repr(self.ttl), dead, CLAIM_KEEP]
        answer: list[Any] = self.state.call(
            "nothing was created",
            lambda: self.state._claim_script(keys=[self._key(key)], args=args),
        )
        return answer

    def try_claim(self, key: str) -> Claim | ClaimOwner:
        token = secrets.token_hex(8)
        answer = self._run(key, token, "")
        offset = time.time() - float(answer[1])
        if int(answer[0]) == 0:
            owner = self._owner(key, answer[2:], offset)
            same_host = owner.host == self.host and owner.pid != os.getpid()
            if not (same_host and not self._alive(owner.pid)):
                return owner
            answer = self._run(key, token, owner.token)  # a dead owner on this host: take over
            offset = time.time() - float(answer[1])
            if int(answer[0]) == 0:
                return self._owner(key, answer[2:], offset)
        previous = self._owner(key, answer[2:], offset) if len(answer) > 2 else None
        self.state.hold(self._key(key), token, self.ttl)
        return Claim(key, token, float(answer[1]) + offset, previous=previous)

    def owner(self, key: str) -> ClaimOwner | None:
        fields_ = ("token", "pid", "host", "started_at", "expires_at", "sample_url")
        values = self.state.call(
            "the claim could not be read",
            lambda: self.state._client.hmget(self._key(key), fields_),
        )
        if not values or values[0] is None:
            return None
        return self._owner(key, [v if v is not None else "" for v in values], 0.0)

    def note(self, claim: Claim, sample_url: str) -> bool:
        args = [claim.token, sample_url, repr(self.ttl)]
        answer = self.state.call(
            "nothing was created",
            lambda: self.state._note_script(keys=[self._key(claim.key)], args=args),
        )
        return int(answer) == 1

    def release(self, claim: Claim) -> None:
        self.state.drop(self._key(claim.key), claim.token)
        try:
            self.state._release_script(keys=[self._key(claim.key)], args=[claim.token])
        except self.state._redis.RedisError as exc:  # the expiry cleans it up
            log.warning(
                "shared state %s: a claim could not be released (%s); it expires by itself",
                self.state.display,
                self.state._reason(exc),
            )


_FIELDS = tuple(f.name for f in fields(VoiceRecord) if f.name != "sample_source")
"""Every registry field but ``sample_source`` (a path on the host that made the voice)."""


def _encode(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _decode(data: dict[str, str]) -> VoiceRecord | None:
    if not data.get("voice_id"):
        return None
    values: dict[str, Any] = {k: data.get(k) for k in _FIELDS if k in data}
    values.setdefault("target_model", None)
    if values.get("options"):
        values["options"] = json.loads(values["options"])
    if values.get("usage_count") is not None:
        values["usage_count"] = int(values["usage_count"])
    return VoiceRecord(**values)


class RedisVoiceIndex:
    """Voice records by id, dedupe key and prefix (every field of the registry's row)."""

    def __init__(self, state: RedisState) -> None:
        self.state = state
        self.prefix = state.prefix

    def put(self, record: VoiceRecord) -> None:
        mapping = {
            f: _encode(getattr(record, f)) for f in _FIELDS if getattr(record, f) is not None
        }

        def write() -> None:
            pipe = self.state._client.pipeline(transaction=True)
            pipe.hset(f"{self.prefix}voice:{record.voice_id}", mapping=mapping)
            if record.dedupe_key:
                pipe.set(f"{self.prefix}key:{record.dedupe_key}", record.voice_id)
            if record.prefix and record.endpoint:
                pipe.sadd(f"{self.prefix}prefix:{record.endpoint}|{record.prefix}", record.voice_id)
            pipe.execute()

        self.state.call("the voice was not shared", write)

    def update(self, voice_id: str, values: dict[str, Any]) -> None:
        args: list[str] = []
        for name, value in values.items():
            args += [name, "" if value is None else _encode(value)]
        key = f"{self.prefix}voice:{voice_id}"
        self.state.call(
            "the change was not shared",
            lambda: self.state._update_script(keys=[key], args=args),
        )
        if values.get("dedupe_key"):
            new_key = f"{self.prefix}key:{values['dedupe_key']}"
            self.state.call(
                "the change was not shared",
                lambda: self.state._client.set(new_key, voice_id),
            )

    def get(self, voice_id: str) -> VoiceRecord | None:
        data = self.state.call(
            "the voice index could not be read",
            lambda: self.state._client.hgetall(f"{self.prefix}voice:{voice_id}"),
        )
        return _decode(data)

    def for_key(self, dedupe_key: str) -> str | None:
        found = self.state.call(
            "nothing was created",
            lambda: self.state._client.get(f"{self.prefix}key:{dedupe_key}"),
        )
        return str(found) if found else None

    def ids_for_prefix(self, endpoint: str, prefix: str) -> set[str]:
        found = self.state.call(
            "the voice index could not be read",
            lambda: self.state._client.smembers(f"{self.prefix}prefix:{endpoint}|{prefix}"),
        )
        return {str(v) for v in found}


__all__ = ["RedisClaims", "RedisState", "RedisVoiceIndex"]
