"""The emulator's state and rules as plain Python: voices, uploads, limits, faults. No HTTP here.

:class:`Backend` is one emulated DashScope account. The Starlette routes (``app.py``,
``http_tts.py``, ``uploads.py``) and the synthesis WebSocket (``tts.py``) only parse the wire and
call it; a test can drive it directly, without sockets::

    backend = Backend(EmulatorConfig(deploy_delay=0))
    voice = backend.create_voice(target_model="cosyvoice-v2", prefix="demo", url="...",
                                 sample=data, pitch_hz=180.0)
    backend.speaking_voice(voice.voice_id, "cosyvoice-v2")  # (180.0, 1.0)

Its knobs are :class:`~.config.EmulatorConfig`, its storage a :class:`~.store.Store` (SQLite in
memory, or a ``state_path`` file so that the CLI's ``--emulator`` mode keeps voices across
separate commands), its request checks :mod:`.checks`, its voices' sound :mod:`.design`.
Service-side refusals are raised as :class:`~.exceptions.ApiError` (HTTP status, DashScope
code, message); the app renders them as the service's JSON error body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import catalog
from . import checks
from .checks import DesignSpec
from .config import (
    DEFAULT_API_KEY,
    MAX_PAGE_SIZE,
    RECORD_LIMIT,
    UPLOAD_EXPIRE_SECONDS,
    UPLOAD_MAX_FILE_MB,
    UPLOAD_POLICY_REQUESTS_PER_SECOND,
    UPLOAD_POLICY_SECONDS,
    UPLOAD_STORE_MAX_BYTES,
    EmulatorConfig,
)
from .design import design_traits, system_voice_pitch
from .exceptions import ENGINE_418, ApiError, invalid_parameter, not_found, rate_limited
from .store import OK, SERVICE_TIMEZONE, UNDEPLOYED, Store, Upload, Voice

__all__ = [  # the names other modules (and older imports) take from here
    "DEFAULT_API_KEY",
    "ApiError",
    "Backend",
    "DesignSpec",
    "EmulatorConfig",
    "RateLimiter",
    "Upload",
    "Voice",
    "design_traits",
    "invalid_parameter",
    "not_found",
    "rate_limited",
]


class RateLimiter:
    """Sliding one-second windows: at most ``rate`` events per second per bucket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = {}

    def acquire(self, bucket: str, rate: float) -> float | None:
        """Record an event and return ``None``, or return the seconds to wait if over the rate."""
        limit = max(1, int(rate))
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(bucket, deque())
            while events and now - events[0] >= 1.0:
                events.popleft()
            if len(events) >= limit:
                return 1.0 - (now - events[0])
            events.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._events.clear()


class Backend:
    """Voices, uploads, limits and faults of one emulated DashScope account.

    Thread-safe: the app calls it from the event loop and from worker threads.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, state_path: Path | None = None
    ) -> None:
        """Raises :class:`~cosyvoice_clone._sqlite.DatabaseFileError` (nothing changed) when
        ``state_path`` is a folder, not a database, damaged or from a newer version."""
        self.config = config.copy() if config is not None else EmulatorConfig()
        self._initial_config = self.config.copy()
        self.state_path = Path(state_path) if state_path is not None else None
        self._lock = threading.RLock()
        self.store = Store(self.state_path)
        self._limiter = RateLimiter()
        self._random = random.Random(self.config.seed)
        self._seeded_with = self.config.seed
        self._secret = self.store.secret
        self.counters: dict[str, int] = {}
        """Observability: how many requests of each kind and outcome (e.g. ``create_voice``)."""
        self._recorded: dict[str, deque[dict[str, Any]]] = {}
        self._websockets: dict[int, dict[str, Any]] = {}
        self._websocket_ids = itertools.count(1)

    # -- observability -------------------------------------------------------------------------

    def count(self, name: str) -> None:
        """Increase the counter ``name`` by one."""
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + 1

    def record(self, endpoint: str, entry: dict[str, Any]) -> None:
        """Keep what a client sent to ``endpoint`` (the last ``RECORD_LIMIT`` per endpoint),
        stamped with ``received_at`` (epoch seconds)."""
        stamped = {**entry, "received_at": time.time()}
        with self._lock:
            self._recorded.setdefault(endpoint, deque(maxlen=RECORD_LIMIT)).append(stamped)

    def recorded(self, endpoint: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """What clients sent, per endpoint, oldest first (``enrollment``, ``http_synthesis``,
        ``upload_policy``, ``websocket``): JSON bodies and headers without credentials, and when
        each arrived (``received_at``)."""
        with self._lock:
            return {
                name: list(entries)
                for name, entries in self._recorded.items()
                if endpoint is None or name == endpoint
            }

    def websocket_opened(self) -> int:
        """A synthesis connection was accepted: its id (counted in ``websocket:connections``)."""
        with self._lock:
            ws_id = next(self._websocket_ids)
            self._websockets[ws_id] = {
                "id": ws_id,
                "opened_at": time.time(),
                "closed_at": None,
                "tasks": 0,
            }
            self.counters["websocket:connections"] = (
                self.counters.get("websocket:connections", 0) + 1
            )
            return ws_id

    def websocket_task(self, ws_id: int) -> None:
        """A task started on connection ``ws_id`` (counted in ``synthesis:tasks``)."""
        with self._lock:
            self.counters["synthesis:tasks"] = self.counters.get("synthesis:tasks", 0) + 1
            entry = self._websockets.get(ws_id)
            if entry is not None:
                entry["tasks"] += 1

    def stale_drop(self, ws_id: int) -> bool:
        """Whether a run-task on connection ``ws_id`` is to be dropped (config ``stale_drops``:
        only on a connection that already ran a task; counted in ``websocket:stale_drops``)."""
        with self._lock:
            entry = self._websockets.get(ws_id)
            if entry is None or not entry["tasks"] or self.config.stale_drops <= 0:
                return False
            self.config.stale_drops -= 1
            self.counters["websocket:stale_drops"] = (
                self.counters.get("websocket:stale_drops", 0) + 1
            )
            return True

    def websocket_closed(self, ws_id: int) -> None:
        """Connection ``ws_id`` is closed (either side)."""
        with self._lock:
            entry = self._websockets.get(ws_id)
            if entry is not None and entry["closed_at"] is None:
                entry["closed_at"] = time.time()

    def websockets(self) -> list[dict[str, Any]]:
        """Every synthesis connection since the last reset (and those still open), oldest
        first: ``id``, ``opened_at``, ``closed_at`` (``None``: open), ``tasks``."""
        with self._lock:
            return [dict(entry) for entry in self._websockets.values()]

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready summary: config, voice counts by status, uploads, counters,
        synthesis connections (``opened``, ``open``)."""
        voices = self.store.voices()
        with self._lock:
            counters = dict(self.counters)
            sockets = list(self._websockets.values())
        by_status = {status.value: 0 for status in catalog.VoiceStatus}
        for voice in voices:
            by_status[voice.status.value] += 1
        return {
            "config": self.config.to_dict(),
            "state": str(self.state_path) if self.state_path else None,
            "voices": len(voices),
            "voices_by_status": by_status,
            "uploads": self.store.upload_count(),
            "counters": counters,
            "websockets": {
                "opened": len(sockets),
                "open": sum(1 for entry in sockets if entry["closed_at"] is None),
            },
        }

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the state."""
        self.store.close()

    def reset(self, *, config: bool = True) -> None:
        """Forget every voice and upload, the rate windows and counters; restore the config."""
        with self._lock:
            self.store.clear()
            self._limiter.reset()
            self.counters.clear()
            self._recorded.clear()
            self._websockets = {  # open ones are real sockets: their close still lands
                key: entry for key, entry in self._websockets.items() if entry["closed_at"] is None
            }
            if config:
                self.config = self._initial_config.copy()
            self._random = random.Random(self.config.seed)
            self._seeded_with = self.config.seed

    # -- auth, limits, faults ------------------------------------------------------------------

    def authorized(self, key: str | None) -> bool:
        """Whether ``key`` is one of the configured API keys."""
        if not key:
            return False
        return any(hmac.compare_digest(key, k) for k in self.config.api_keys)

    def allow_enrollment(self) -> float | None:
        """Count one enrollment request: ``None`` if allowed, else seconds to wait (10/s)."""
        if not self.config.rate_limits:
            return None
        return self._limiter.acquire("enrollment", self.config.enrollment_rps)

    def allow_upload_policy(self) -> float | None:
        """Count one getPolicy request: ``None`` if allowed, else seconds to wait (100/s)."""
        if not self.config.rate_limits:
            return None
        return self._limiter.acquire("upload-policy", UPLOAD_POLICY_REQUESTS_PER_SECOND)

    def allow_synthesis_task(self, model: str) -> bool:
        """Count one task submission for ``model``: False if over 3/s (when limits are on)."""
        if not self.config.rate_limits:
            return True
        wait = self._limiter.acquire(f"synthesis:{model}", self.config.synthesis_tasks_per_second)
        return wait is None

    def fault(self, kind: str) -> bool:
        """Roll the dice for fault ``kind`` with its configured probability."""
        probability = self.config.faults.get(kind, 0.0)
        if probability <= 0.0:
            return False
        if probability >= 1.0:
            return True
        with self._lock:
            if self.config.seed != self._seeded_with:  # a new seed restarts the sequence
                self._random = random.Random(self.config.seed)
                self._seeded_with = self.config.seed
            return self._random.random() < probability

    # -- checks (no state changes) -------------------------------------------------------------

    def check_clone_request(
        self,
        target_model: Any,
        prefix: Any,
        language_hints: Any = None,
        max_prompt_audio_length: Any = None,
        enable_preprocess: Any = None,
    ) -> tuple[str, str, str | None]:
        """The fields of a clone ``create_voice`` in this region (:func:`.checks.clone_request`)."""
        return checks.clone_request(
            self.config.region,
            target_model,
            prefix,
            language_hints,
            max_prompt_audio_length,
            enable_preprocess,
        )

    def check_design_request(self, data: dict[str, Any], parameters: dict[str, Any]) -> DesignSpec:
        """The fields of a design ``create_voice`` here (:func:`.checks.design_request`)."""
        return checks.design_request(self.config.region, data, parameters)

    def judge_sample(self, data: bytes, filename: str | None = None) -> float | None:
        """Decode and measure a sample like the service does (:func:`.checks.judge_sample`)."""
        return checks.judge_sample(data, filename)

    # -- voices --------------------------------------------------------------------------------

    def voice(self, voice_id: str) -> Voice | None:
        """The voice with this id, or ``None``."""
        return self.store.voice(voice_id)

    def require_voice(self, voice_id: Any) -> Voice:
        """The voice with this id, or ``BadRequest.ResourceNotExist``."""
        if not isinstance(voice_id, str) or not voice_id:
            raise invalid_parameter("Missing required parameter: voice_id.")
        voice = self.voice(voice_id)
        if voice is None:
            raise not_found()
        return voice

    def voice_count(self) -> int:
        """How many voices exist (they all count against the quota)."""
        return self.store.voice_count()

    def speaking_pitch(self, voice_id: str, model: str) -> float:
        """The pitch (Hz) ``model`` speaks ``voice_id`` with (see :meth:`speaking_voice`)."""
        return self.speaking_voice(voice_id, model)[0]

    def speaking_voice(self, voice_id: str, model: str) -> tuple[float, float]:
        """``(pitch Hz, rate factor)`` ``model`` speaks ``voice_id`` with: a cloned or designed
        voice bound to ``model`` and OK, or a system voice of ``model``; anything else raises
        the service's 418."""
        from .speech import DEFAULT_PITCH_HZ

        system = catalog.system_voice(voice_id)
        if system is not None:
            if model not in system.models:
                raise invalid_parameter(ENGINE_418)
            return system_voice_pitch(system), 1.0
        voice = self.voice(voice_id)
        if voice is None or voice.target_model != model or voice.status != OK:
            raise invalid_parameter(ENGINE_418)
        return float(voice.pitch_hz or DEFAULT_PITCH_HZ), float(voice.rate)

    def create_voice(
        self,
        *,
        target_model: str,
        prefix: str,
        url: str,
        sample: bytes,
        pitch_hz: float | None,
        language_hint: str | None = None,
        voice_prompt: str | None = None,
        rate: float = 1.0,
    ) -> Voice:
        """Store a new voice (fields and sample already checked); enforce the quota.

        With ``voice_prompt`` it is a designed voice: its id carries the ``-vd-`` marker and
        ``sample`` is the rendered preview.
        """
        now = time.time()
        mark = f"{catalog.DESIGNED_VOICE_MARK}-" if voice_prompt is not None else ""
        voice = Voice(
            voice_id=f"{target_model}-{mark}{prefix}-{uuid.uuid4().hex}",
            target_model=target_model,
            prefix=prefix,
            resource_link=url,
            language_hint=language_hint,
            pitch_hz=pitch_hz,
            created_at=now,
            modified_at=now,
            ready_at=now + self.config.deploy_delay,
            final_status=UNDEPLOYED if self.fault("review_reject") else OK,
            sample_sha256=hashlib.sha256(sample).hexdigest(),
            voice_prompt=voice_prompt,
            rate=rate,
        )
        quota = self.config.quota
        if not self.store.add_voice(voice, quota=quota):
            raise ApiError(400, "Throttling.AllocationQuota", f"Your current quota is {quota}")
        return voice

    def list_voices(
        self, prefix: str | None = None, page_index: int = 0, page_size: int = 10
    ) -> list[Voice]:
        """One page of voices, newest first, optionally only those with ``prefix``."""
        if page_index < 0:
            raise invalid_parameter("page_index must be >= 0.")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise invalid_parameter(f"page_size must be in [1, {MAX_PAGE_SIZE}].")
        return self.store.voices(prefix, limit=page_size, offset=page_index * page_size)

    def update_voice(
        self, voice_id: str, *, url: str, sample: bytes, pitch_hz: float | None
    ) -> Voice:
        """Replace a voice's sample (already checked); it deploys again."""
        now = time.time()
        changed = self.store.replace_sample(
            voice_id,
            url=url,
            pitch_hz=pitch_hz,
            sample_sha256=hashlib.sha256(sample).hexdigest(),
            now=now,
            ready_at=now + self.config.deploy_delay,
            final_status=UNDEPLOYED if self.fault("review_reject") else OK,
        )
        voice = self.voice(voice_id) if changed else None
        if voice is None:  # unknown, or deleted by another process in between
            raise not_found()
        return voice

    def delete_voice(self, voice_id: str) -> None:
        """Delete a voice; unknown ids raise ``BadRequest.ResourceNotExist``."""
        if not self.store.delete_voice(voice_id):
            raise not_found()

    def settle(self, voice_id: str | None = None, *, status: str = OK) -> int:
        """End deployment now: the voice (or every DEPLOYING voice) becomes ``status``.

        ``status`` is OK or UNDEPLOYED (a review rejection on demand). Returns how many changed.
        """
        if status not in (OK.value, UNDEPLOYED.value):
            raise ValueError("status must be OK or UNDEPLOYED")
        return self.store.settle(voice_id, catalog.VoiceStatus(status), time.time())

    # -- uploads -------------------------------------------------------------------------------

    def issue_upload_policy(self, model: str, upload_host: str) -> dict[str, Any]:
        """A getPolicy ``data`` object whose policy the stand-in OSS host will accept."""
        if not catalog.REGIONS[self.config.region].supports_temporary_upload:
            raise invalid_parameter(
                f"Temporary file upload is not supported in region {self.config.region}."
            )
        expires = time.time() + UPLOAD_POLICY_SECONDS
        tenant = hashlib.sha256(self._secret + b"tenant").hexdigest()[:16]
        day = datetime.now(SERVICE_TIMEZONE).strftime("%Y-%m-%d")
        upload_dir = f"dashscope-instant/{tenant}/{day}/{uuid.uuid4()}"
        document = {
            "expiration": datetime.fromtimestamp(expires, timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"
            ),
            "conditions": [
                ["content-length-range", 0, UPLOAD_MAX_FILE_MB * 1024 * 1024],
                ["starts-with", "$key", upload_dir],
                {"bucket": "dashscope-file-mgr"},
            ],
            "model": model,
        }
        policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
        return {
            "policy": policy,
            "signature": self._sign(policy),
            "upload_dir": upload_dir,
            "upload_host": upload_host,
            "expire_in_seconds": UPLOAD_POLICY_SECONDS,
            "max_file_size_mb": UPLOAD_MAX_FILE_MB,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": "LTAI-emulator-upload",
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def object_signature(self, key: str) -> str:
        """The signature that makes ``GET /_oss/{key}?Signature=...`` readable without a key."""
        return hmac.new(self._secret, b"get:" + key.encode(), hashlib.sha256).hexdigest()[:32]

    def _sign(self, policy: str) -> str:
        digest = hmac.new(self._secret, policy.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def check_upload_form(self, fields: dict[str, str]) -> str:
        """Verify a multipart upload form against its policy; return the object key.

        Raises :class:`ApiError` with OSS-style codes (``AccessDenied``, ``InvalidArgument``).
        """
        policy = fields.get("policy", "")
        signature = fields.get("Signature", "")
        key = fields.get("key", "")
        if not policy or not signature or not fields.get("OSSAccessKeyId"):
            raise ApiError(400, "InvalidArgument", "Missing policy, Signature or OSSAccessKeyId.")
        if not hmac.compare_digest(self._sign(policy), signature):
            raise ApiError(403, "SignatureDoesNotMatch", "The policy signature does not match.")
        try:
            document = json.loads(base64.b64decode(policy))
            expires = datetime.strptime(document["expiration"], "%Y-%m-%dT%H:%M:%S.000Z")
            start = next(c[2] for c in document["conditions"] if c[0] == "starts-with")
        except (ValueError, KeyError, TypeError, StopIteration):
            raise ApiError(400, "InvalidPolicyDocument", "The policy is malformed.") from None
        if expires.replace(tzinfo=timezone.utc).timestamp() < time.time():
            raise ApiError(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        if not key or not key.startswith(start + "/") or ".." in key.split("/"):
            raise ApiError(
                403, "AccessDenied", "Invalid according to Policy: Policy Condition failed."
            )
        return key

    def store_upload(
        self, key: str, data: bytes, content_type: str, *, forbid_overwrite: bool = True
    ) -> Upload:
        """Keep an uploaded object; refuse to overwrite when asked to."""
        if len(data) > UPLOAD_STORE_MAX_BYTES:
            raise ApiError(400, "EntityTooLarge", "Your proposed upload exceeds the limit.")
        upload = Upload(key=key, content_type=content_type, data=data, created_at=time.time())
        expired_before = upload.created_at - UPLOAD_EXPIRE_SECONDS  # gone for good
        if not self.store.add_upload(
            upload, replace=not forbid_overwrite, expired_before=expired_before
        ):
            raise ApiError(409, "FileAlreadyExists", "The object already exists.")
        return upload

    def upload(self, key: str) -> Upload | None:
        """The uploaded object ``key`` if it exists and has not expired (48 h)."""
        upload = self.store.upload(key)
        if upload is None or time.time() - upload.created_at > UPLOAD_EXPIRE_SECONDS:
            return None
        return upload
