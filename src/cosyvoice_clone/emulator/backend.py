"""The emulator's state and rules as plain Python: voices, uploads, limits, faults. No HTTP here.

:class:`Backend` is what the Starlette app (``app.py``) and the synthesis endpoint (``tts.py``)
call. Its state lives in SQLite: in memory by default, or in a file (``state_path``) so that the
CLI's ``--emulator`` mode keeps voices across separate commands. Voice status is computed from
stored timestamps (``ready_at``), so it advances with time in every process that opens the file.

Service-side refusals are raised as :class:`ApiError` (HTTP status, DashScope code, message);
the app renders them as the service's JSON error body.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import math
import os
import random
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .. import catalog
from ..audio.files import format_size
from .faults import validate_faults

DEFAULT_API_KEY = "sk-cosyvoice-emulator"
"""The documented key every emulator accepts unless configured otherwise (not a secret)."""

DEPLOYING = catalog.VoiceStatus.DEPLOYING
OK = catalog.VoiceStatus.OK
UNDEPLOYED = catalog.VoiceStatus.UNDEPLOYED

ENGINE_418 = "[tts:]Engine return error code: 418"
"""What the service answers for a voice it cannot speak with the model (unknown, other model,
not deployed): ``task-failed`` ``InvalidParameter`` on the WebSocket, HTTP 400 on HTTP."""

SYSTEM_VOICE_PITCH_HZ = {"male": (105.0, 135.0), "female": (200.0, 240.0), "child": (270.0, 310.0)}
"""Fundamental-frequency range of the emulator's rendering of a system voice, by gender."""

UPLOAD_EXPIRE_SECONDS = 48 * 3600
UPLOAD_POLICY_SECONDS = 300
UPLOAD_MAX_FILE_MB = 100
UPLOAD_STORE_MAX_BYTES = 20 * 1024 * 1024
"""The stand-in OSS host refuses files above this (the emulator keeps uploads in SQLite)."""

UPLOAD_POLICY_REQUESTS_PER_SECOND = 100.0
MAX_PAGE_SIZE = 1000
RECORD_LIMIT = 200
"""Requests kept per endpoint for :meth:`Backend.recorded`."""

_BEIJING = timezone(timedelta(hours=8))
_PREFIX_RE = re.compile(rf"^[A-Za-z0-9]{{1,{catalog.PREFIX_MAX_LENGTH}}}$")
"""ASCII letters and digits only (clone API reference: \"仅允许数字和英文字母\", 2026-02)."""


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


@dataclass
class EmulatorConfig:
    """Knobs of one emulator; every field may be changed while it runs."""

    deploy_delay: float = 0.0
    """Seconds a new (or updated) voice stays DEPLOYING before it becomes OK."""
    create_delay: float = 0.0
    """Seconds ``create_voice`` waits after storing the voice before it answers (a window in
    which a test can kill the client: the voice exists, the client doesn't know it yet)."""
    first_audio_latency: float = 0.0
    """Seconds between run-task and the first audio frame."""
    rtf: float = 0.0
    """Audio is produced at ``rtf`` × real time (0.5 = twice as fast as playback; 0 = at once)."""
    rate_limits: bool = True
    """10 enrollment requests/s in total and 3 synthesis task submissions/s per model."""
    faults: dict[str, float] = field(default_factory=dict)
    """Fault kind -> probability (see :mod:`.faults`)."""
    quota: int = catalog.VOICE_QUOTA
    region: str = catalog.DEFAULT_REGION
    api_keys: set[str] = field(default_factory=lambda: {DEFAULT_API_KEY})
    fetch_timeout: float = 10.0
    """Seconds allowed to download a sample URL."""
    enrollment_rps: float = catalog.ENROLLMENT_REQUESTS_PER_SECOND
    synthesis_tasks_per_second: float = catalog.SYNTHESIS_TASKS_PER_SECOND_PER_MODEL
    idle_timeout: float = catalog.SYNTHESIS_IDLE_TIMEOUT_S
    """Seconds without a client message before a synthesis task fails."""
    seed: int | None = None
    """Seed of the fault dice (``None``: unpredictable)."""

    def copy(self) -> EmulatorConfig:
        """A deep-enough copy (own faults dict and key set)."""
        return dataclasses.replace(self, faults=dict(self.faults), api_keys=set(self.api_keys))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view; the API keys are counted, never shown."""
        data = dataclasses.asdict(self)
        data["api_keys"] = len(self.api_keys)
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (a dict of field -> value) after validating every one of them."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        staged: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in fields:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(sorted(fields))}")
            staged[name] = _coerce_setting(name, value)
        for name, value in staged.items():
            setattr(self, name, value)


_FLOAT_SETTINGS = {
    "create_delay",
    "deploy_delay",
    "first_audio_latency",
    "rtf",
    "fetch_timeout",
    "enrollment_rps",
    "synthesis_tasks_per_second",
    "idle_timeout",
}


def _coerce_setting(name: str, value: Any) -> Any:
    if name in _FLOAT_SETTINGS:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{name} must be a number")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"{name} must be a finite number >= 0")
        return number
    if name == "rate_limits":
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false",
                                                        "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise ValueError("rate_limits must be true or false")
        return value
    if name == "faults":
        if isinstance(value, str):
            from .faults import parse_faults

            return parse_faults(value)
        if not isinstance(value, dict):
            raise ValueError("faults must be a spec string or an object of kind -> probability")
        return validate_faults(value)
    if name == "quota":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("quota must be an integer")
        try:
            quota = int(value)
        except ValueError:
            raise ValueError(f"quota must be an integer, not {value!r}") from None
        if quota < 0:
            raise ValueError("quota must be >= 0")
        return quota
    if name == "region":
        if value not in catalog.REGIONS:
            raise ValueError(f"unknown region {value!r}; known: {', '.join(catalog.REGIONS)}")
        return value
    if name == "api_keys":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, set, tuple)) or not all(
            isinstance(k, str) and k for k in value
        ):
            raise ValueError("api_keys must be a list of non-empty strings")
        if not value:
            raise ValueError("api_keys must not be empty")
        return set(value)
    if name == "seed":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("seed must be an integer or null")
        return value
    raise ValueError(f"unknown setting {name!r}")  # pragma: no cover - guarded by update()


def beijing_time(epoch: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in Beijing time, the service's timestamp format."""
    return datetime.fromtimestamp(epoch, _BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def system_voice_pitch(voice: catalog.SystemVoice) -> float:
    """A deterministic pitch for a system voice: its gender's range, placed by its name."""
    low, high = SYSTEM_VOICE_PITCH_HZ.get(voice.gender or "", (140.0, 180.0))
    fraction = int.from_bytes(hashlib.sha256(voice.name.encode()).digest()[:4], "big") / 2**32
    return round(low + (high - low) * fraction, 1)


@dataclass(frozen=True)
class Voice:
    """A cloned voice as stored; ``status`` is computed from the clock on every access."""

    voice_id: str
    target_model: str
    prefix: str
    resource_link: str
    language_hint: str | None
    pitch_hz: float | None
    """Fundamental frequency measured from the enrollment sample (Hz), if measurable."""
    created_at: float
    modified_at: float
    ready_at: float
    final_status: catalog.VoiceStatus
    sample_sha256: str
    voice_prompt: str | None = None
    """The description a designed voice was made from (``None`` for a cloned voice)."""
    rate: float = 1.0
    """Speaking-rate factor of the voice (a designed voice's follows its description)."""

    @property
    def designed(self) -> bool:
        """Whether the voice was designed from a description rather than cloned."""
        return self.voice_prompt is not None

    @property
    def status(self) -> catalog.VoiceStatus:
        """DEPLOYING until ``ready_at``, then OK (or UNDEPLOYED if review rejected it)."""
        if time.time() < self.ready_at:
            return DEPLOYING
        return self.final_status

    @property
    def gmt_create(self) -> str:
        return beijing_time(self.created_at)

    @property
    def gmt_modified(self) -> str:
        return beijing_time(self.modified_at)

    def list_item(self) -> dict[str, str]:
        """The ``list_voice`` item shape."""
        return {
            "voice_id": self.voice_id,
            "gmt_create": self.gmt_create,
            "gmt_modified": self.gmt_modified,
            "status": self.status.value,
        }

    def query_output(self) -> dict[str, str]:
        """The ``query_voice`` output shape (the voice id is not echoed)."""
        return {
            "gmt_create": self.gmt_create,
            "gmt_modified": self.gmt_modified,
            "status": self.status.value,
            "target_model": self.target_model,
            "resource_link": self.resource_link,
        }


@dataclass(frozen=True)
class Upload:
    """A file stored by the stand-in OSS host."""

    key: str
    content_type: str
    data: bytes
    created_at: float

    @property
    def url(self) -> str:
        return f"oss://{self.key}"


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


def _create_voices_uploads_meta(conn: sqlite3.Connection) -> None:
    """1: voices, uploads and a key/value ``meta`` table."""
    conn.execute(
        """CREATE TABLE voices (
            voice_id TEXT PRIMARY KEY,
            target_model TEXT NOT NULL,
            prefix TEXT NOT NULL,
            resource_link TEXT NOT NULL,
            language_hint TEXT,
            pitch_hz REAL,
            created_at REAL NOT NULL,
            modified_at REAL NOT NULL,
            ready_at REAL NOT NULL,
            final_status TEXT NOT NULL,
            sample_sha256 TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX voices_prefix ON voices (prefix)")
    conn.execute(
        """CREATE TABLE uploads (
            key TEXT PRIMARY KEY,
            content_type TEXT NOT NULL,
            data BLOB NOT NULL,
            created_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _add_designed_voices(conn: sqlite3.Connection) -> None:
    """2: designed voices keep their description and speaking-rate factor."""
    conn.execute("ALTER TABLE voices ADD COLUMN voice_prompt TEXT")
    conn.execute("ALTER TABLE voices ADD COLUMN rate REAL NOT NULL DEFAULT 1.0")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_voices_uploads_meta,
    _add_designed_voices,
)
"""Append-only, in order: migration N (1-based) brings ``PRAGMA user_version`` to N."""

_VOICE_COLUMNS = (
    "voice_id, target_model, prefix, resource_link, language_hint, pitch_hz, created_at, "
    "modified_at, ready_at, final_status, sample_sha256, voice_prompt, rate"
)


def _open_database(path: Path | None) -> sqlite3.Connection:
    if path is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    else:
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(path, 0o600)
        conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
    conn.execute("PRAGMA busy_timeout = 30000")
    _migrate(conn)
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Run the append-only migrations the database has not seen yet."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for number, migration in enumerate(MIGRATIONS, start=1):
            if number > version:
                migration(conn)
                conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class DesignSpec:
    """The checked fields of a design request."""

    target_model: str
    prefix: str
    voice_prompt: str
    preview_text: str
    language_hint: str | None
    sample_rate: int
    response_format: str


def _design_text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_parameter(f"Missing required parameter: {name}.")
    if len(value) > limit:
        raise invalid_parameter(f"{name} is too long: {len(value)} characters, at most {limit}.")
    if catalog.foreign_letters(value):
        raise invalid_parameter(f"{name} must be written in Chinese or English.")
    return value


_DESIGN_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("child", ("child", "kid", "little girl", "little boy", "儿童", "童声", "小孩", "孩子")),
    ("female", ("female", "woman", "girl", "lady", "女")),
    ("male", ("male", "man", "boy", "gentleman", "男")),
    ("deep", ("deep", "low", "bass", "husky", "低沉", "浑厚", "低音", "沙哑", "磁性")),
    ("high", ("high", "bright", "shrill", "squeaky", "高亢", "尖", "清亮", "高音")),
    ("fast", ("fast", "quick", "rapid", "brisk", "快")),
    ("slow", ("slow", "leisurely", "unhurried", "慢", "舒缓", "缓")),
)


def design_traits(prompt: str) -> tuple[float, float]:
    """``(pitch Hz, rate factor)`` of the voice a description asks for, deterministically.

    Gender words pick the pitch range (child > female > male; none: a neutral range), a hash of
    the prompt places the voice inside it; "deep"/"低沉" lowers it by 15 %, "high"/"高亢" raises
    it by 15 %; "fast"/"快" speaks 1.25 times faster, "slow"/"慢" 0.8 times.
    """
    text = prompt.lower()
    found = set()
    for trait, words in _DESIGN_WORDS:
        for word in words:
            hit = (
                word in text
                if catalog.has_cjk(word)
                else re.search(rf"\b{re.escape(word)}s?\b", text) is not None
            )
            if hit:
                found.add(trait)
                break
    if "child" in found:
        low, high = SYSTEM_VOICE_PITCH_HZ["child"]
    elif "female" in found and "male" not in found:
        low, high = SYSTEM_VOICE_PITCH_HZ["female"]
    elif "male" in found and "female" not in found:
        low, high = SYSTEM_VOICE_PITCH_HZ["male"]
    else:
        low, high = 140.0, 180.0
    fraction = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") / 2**32
    pitch = low + (high - low) * fraction
    if "deep" in found and "high" not in found:
        pitch *= 0.85
    elif "high" in found and "deep" not in found:
        pitch *= 1.15
    rate = 1.0
    if "fast" in found and "slow" not in found:
        rate = 1.25
    elif "slow" in found and "fast" not in found:
        rate = 0.8
    return round(pitch, 1), rate


class Backend:
    """Voices, uploads, limits and faults of one emulated DashScope account.

    Thread-safe: the app calls it from the event loop and from worker threads.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, state_path: Path | None = None
    ) -> None:
        self.config = config.copy() if config is not None else EmulatorConfig()
        self._initial_config = self.config.copy()
        self.state_path = Path(state_path) if state_path is not None else None
        self._lock = threading.RLock()
        self._db = _open_database(self.state_path)
        self._limiter = RateLimiter()
        self._random = random.Random(self.config.seed)
        self._seeded_with = self.config.seed
        self._secret = self._load_secret()
        self.counters: dict[str, int] = {}
        """Observability: how many requests of each kind and outcome (e.g. ``create_voice``)."""
        self._recorded: dict[str, deque[dict[str, Any]]] = {}

    # -- plumbing ------------------------------------------------------------------------------

    def _load_secret(self) -> bytes:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
            if row is not None:
                return bytes.fromhex(row[0])
            secret = secrets.token_bytes(32)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)", (secret.hex(),)
            )
            row = self._db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
            return bytes.fromhex(row[0])

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

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def reset(self, *, config: bool = True) -> None:
        """Forget every voice and upload, the rate windows and counters; restore the config."""
        with self._lock:
            self._db.execute("DELETE FROM voices")
            self._db.execute("DELETE FROM uploads")
            self._limiter.reset()
            self.counters.clear()
            self._recorded.clear()
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

    # -- voices --------------------------------------------------------------------------------

    def _row_to_voice(self, row: Iterable[Any]) -> Voice:
        voice = Voice(*row)
        return dataclasses.replace(voice, final_status=catalog.VoiceStatus(voice.final_status))

    def voice(self, voice_id: str) -> Voice | None:
        """The voice with this id, or ``None``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_VOICE_COLUMNS} FROM voices WHERE voice_id = ?", (voice_id,)
            ).fetchone()
        return self._row_to_voice(row) if row is not None else None

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

    def voice_count(self) -> int:
        """How many voices exist (they all count against the quota)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM voices").fetchone()[0])

    def check_clone_request(
        self,
        target_model: Any,
        prefix: Any,
        language_hints: Any = None,
        max_prompt_audio_length: Any = None,
        enable_preprocess: Any = None,
    ) -> tuple[str, str, str | None]:
        """Validate the fields of ``create_voice`` (before the sample is fetched).

        Returns ``(target_model, prefix, language_hint)``; raises :class:`ApiError`.
        """
        if not isinstance(target_model, str) or not target_model:
            raise invalid_parameter("Missing required parameter: target_model.")
        model = catalog.TARGET_MODELS.get(target_model)
        if model is None:
            raise invalid_parameter(
                f"target_model {target_model!r} is not supported; supported: "
                + ", ".join(catalog.TARGET_MODELS)
            )
        if self.config.region not in model.clone_regions:
            allowed = ", ".join(catalog.clone_models_in(self.config.region)) or "none"
            raise ApiError(
                400,
                "InvalidParameter",
                f"Voice cloning for {target_model} is not supported in region "
                f"{self.config.region}; models that can clone here: {allowed}.",
            )
        if not isinstance(prefix, str) or not prefix:
            raise invalid_parameter("Missing required parameter: prefix.")
        if not _PREFIX_RE.match(prefix):
            raise invalid_parameter(
                f"prefix must be 1-{catalog.PREFIX_MAX_LENGTH} ASCII letters or digits."
            )
        hint: str | None = None
        if language_hints is not None:
            if not isinstance(language_hints, list) or not all(
                isinstance(h, str) for h in language_hints
            ):
                raise invalid_parameter("language_hints must be a list of strings.")
            if language_hints and model.language_hints:
                hint = language_hints[0]
                if hint not in model.language_hints:
                    raise invalid_parameter(
                        f"language_hints {hint!r} is not supported by {target_model}; "
                        f"supported: {', '.join(model.language_hints)}."
                    )
        if max_prompt_audio_length is not None:
            low, high = catalog.MAX_PROMPT_AUDIO_LENGTH_RANGE
            if (
                isinstance(max_prompt_audio_length, bool)
                or not isinstance(max_prompt_audio_length, (int, float))
                or not low <= float(max_prompt_audio_length) <= high
            ):
                raise invalid_parameter(
                    f"max_prompt_audio_length must be a number in [{low}, {high}]."
                )
        if enable_preprocess is not None and not isinstance(enable_preprocess, bool):
            raise invalid_parameter("enable_preprocess must be a boolean.")
        return target_model, prefix, hint

    def check_design_request(
        self, data: dict[str, Any], parameters: dict[str, Any]
    ) -> DesignSpec:
        """Validate the fields of a design ``create_voice``; raises :class:`ApiError`.

        The documented rules (docs/protocol.md "Voice design"): target models v3.5-plus/-flash
        and v3-plus/-flash, Beijing only; ``voice_prompt`` <= 500 and ``preview_text`` <= 200
        characters, Chinese or English; ``language_hints`` zh or en; the preview's
        ``parameters.sample_rate`` / ``response_format``.
        """
        target_model = data.get("target_model")
        if not isinstance(target_model, str) or not target_model:
            raise invalid_parameter("Missing required parameter: target_model.")
        if target_model not in catalog.DESIGN_MODELS:
            raise invalid_parameter(
                f"target_model {target_model!r} does not support voice design; supported: "
                + ", ".join(catalog.DESIGN_MODELS)
            )
        if self.config.region not in catalog.DESIGN_REGIONS:
            raise invalid_parameter(
                f"Voice design for {target_model} is not supported in region "
                f"{self.config.region}; it is offered in " + ", ".join(catalog.DESIGN_REGIONS) + "."
            )
        if data.get("url"):
            raise invalid_parameter("url and voice_prompt cannot be used together.")
        prefix = data.get("prefix")
        if not isinstance(prefix, str) or not prefix:
            raise invalid_parameter("Missing required parameter: prefix.")
        if not _PREFIX_RE.match(prefix):
            raise invalid_parameter(
                f"prefix must be 1-{catalog.PREFIX_MAX_LENGTH} ASCII letters or digits."
            )
        prompt = _design_text(data, "voice_prompt", catalog.VOICE_PROMPT_MAX_CHARS)
        preview = _design_text(data, "preview_text", catalog.PREVIEW_TEXT_MAX_CHARS)
        hints = data.get("language_hints")
        hint: str | None = None
        if hints is not None:
            if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
                raise invalid_parameter("language_hints must be a list of strings.")
            if hints:
                hint = hints[0]
                if hint not in catalog.DESIGN_LANGUAGES:
                    raise invalid_parameter(
                        f"language_hints {hint!r} is not supported by voice design; "
                        f"supported: {', '.join(catalog.DESIGN_LANGUAGES)}."
                    )
        rate = parameters.get("sample_rate", catalog.DEFAULT_DESIGN_SAMPLE_RATE)
        if isinstance(rate, bool) or rate not in catalog.DESIGN_SAMPLE_RATES:
            raise invalid_parameter(
                f"sample_rate {rate!r} is not supported; supported: "
                + ", ".join(map(str, catalog.DESIGN_SAMPLE_RATES))
            )
        fmt = parameters.get("response_format", catalog.DEFAULT_DESIGN_RESPONSE_FORMAT)
        if fmt not in catalog.DESIGN_RESPONSE_FORMATS:
            raise invalid_parameter(
                f"response_format {fmt!r} is not supported; supported: "
                + ", ".join(catalog.DESIGN_RESPONSE_FORMATS)
            )
        return DesignSpec(target_model, prefix, prompt, preview, hint, int(rate), str(fmt))

    def judge_sample(self, data: bytes, filename: str | None = None) -> float | None:
        """Decode and measure a sample like the service does; return its pitch (Hz).

        Raises :class:`ApiError` with the documented ``Audio.*`` / format code if unusable.
        CPU-bound: call it from a worker thread.
        """
        from .. import audio

        if len(data) > catalog.SAMPLE_MAX_BYTES:
            raise ApiError(
                400,
                "BadRequest.InputDownloadFailed",
                f"The audio file is larger than {format_size(catalog.SAMPLE_MAX_BYTES)}.",
            )
        rejection = audio.service_rejection(data, filename)
        if rejection is not None:
            code, message = rejection
            raise ApiError(400, code, message)
        pitch = audio.voice_pitch_hz(data)
        return float(pitch) if pitch is not None else None

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
        voice_id = f"{target_model}-{mark}{prefix}-{uuid.uuid4().hex}"
        final = UNDEPLOYED if self.fault("review_reject") else OK
        voice = Voice(
            voice_id=voice_id,
            target_model=target_model,
            prefix=prefix,
            resource_link=url,
            language_hint=language_hint,
            pitch_hz=pitch_hz,
            created_at=now,
            modified_at=now,
            ready_at=now + self.config.deploy_delay,
            final_status=final,
            sample_sha256=hashlib.sha256(sample).hexdigest(),
            voice_prompt=voice_prompt,
            rate=rate,
        )
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                used = int(self._db.execute("SELECT COUNT(*) FROM voices").fetchone()[0])
                if used >= self.config.quota:
                    raise ApiError(
                        400,
                        "Throttling.AllocationQuota",
                        f"Your current quota is {self.config.quota}",
                    )
                self._db.execute(
                    f"INSERT INTO voices ({_VOICE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    dataclasses.astuple(voice),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return voice

    def list_voices(
        self, prefix: str | None = None, page_index: int = 0, page_size: int = 10
    ) -> list[Voice]:
        """One page of voices, newest first, optionally only those with ``prefix``."""
        if page_index < 0:
            raise invalid_parameter("page_index must be >= 0.")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise invalid_parameter(f"page_size must be in [1, {MAX_PAGE_SIZE}].")
        query = f"SELECT {_VOICE_COLUMNS} FROM voices"
        params: list[Any] = []
        if prefix:
            query += " WHERE prefix = ?"
            params.append(prefix)
        query += " ORDER BY created_at DESC, voice_id LIMIT ? OFFSET ?"
        params += [page_size, page_index * page_size]
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [self._row_to_voice(r) for r in rows]

    def update_voice(
        self, voice_id: str, *, url: str, sample: bytes, pitch_hz: float | None
    ) -> Voice:
        """Replace a voice's sample (already checked); it deploys again."""
        now = time.time()
        final = UNDEPLOYED if self.fault("review_reject") else OK
        with self._lock:
            cursor = self._db.execute(
                "UPDATE voices SET resource_link = ?, pitch_hz = ?, modified_at = ?, "
                "ready_at = ?, final_status = ?, sample_sha256 = ? WHERE voice_id = ?",
                (
                    url,
                    pitch_hz,
                    now,
                    now + self.config.deploy_delay,
                    final,
                    hashlib.sha256(sample).hexdigest(),
                    voice_id,
                ),
            )
            if cursor.rowcount == 0:
                raise not_found()
        voice = self.voice(voice_id)
        if voice is None:  # deleted by another process in between
            raise not_found()
        return voice

    def delete_voice(self, voice_id: str) -> None:
        """Delete a voice; unknown ids raise ``BadRequest.ResourceNotExist``."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM voices WHERE voice_id = ?", (voice_id,))
        if cursor.rowcount == 0:
            raise not_found()

    def settle(self, voice_id: str | None = None, *, status: str = OK) -> int:
        """End deployment now: the voice (or every DEPLOYING voice) becomes ``status``.

        ``status`` is OK or UNDEPLOYED (a review rejection on demand). Returns how many changed.
        """
        if status not in (OK.value, UNDEPLOYED.value):
            raise ValueError("status must be OK or UNDEPLOYED")
        final = catalog.VoiceStatus(status)
        now = time.time()
        with self._lock:
            if voice_id is None:
                cursor = self._db.execute(
                    "UPDATE voices SET ready_at = ?, final_status = ? WHERE ready_at > ?",
                    (now, final.value, now),
                )
            else:
                cursor = self._db.execute(
                    "UPDATE voices SET ready_at = MIN(ready_at, ?), final_status = ? "
                    "WHERE voice_id = ?",
                    (now, final.value, voice_id),
                )
        return int(cursor.rowcount)

    def require_voice(self, voice_id: Any) -> Voice:
        """The voice with this id, or ``BadRequest.ResourceNotExist``."""
        if not isinstance(voice_id, str) or not voice_id:
            raise invalid_parameter("Missing required parameter: voice_id.")
        voice = self.voice(voice_id)
        if voice is None:
            raise not_found()
        return voice

    # -- uploads -------------------------------------------------------------------------------

    def issue_upload_policy(self, model: str, upload_host: str) -> dict[str, Any]:
        """A getPolicy ``data`` object whose policy the stand-in OSS host will accept."""
        if not catalog.REGIONS[self.config.region].supports_temporary_upload:
            raise invalid_parameter(
                f"Temporary file upload is not supported in region {self.config.region}."
            )
        expires = time.time() + UPLOAD_POLICY_SECONDS
        tenant = hashlib.sha256(self._secret + b"tenant").hexdigest()[:16]
        day = datetime.now(_BEIJING).strftime("%Y-%m-%d")
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
        with self._lock:
            self._db.execute(  # expired uploads are gone for good
                "DELETE FROM uploads WHERE created_at < ?",
                (upload.created_at - UPLOAD_EXPIRE_SECONDS,),
            )
            try:
                self._db.execute(
                    f"INSERT {'' if forbid_overwrite else 'OR REPLACE'} INTO uploads "
                    "(key, content_type, data, created_at) VALUES (?, ?, ?, ?)",
                    (key, content_type, data, upload.created_at),
                )
            except sqlite3.IntegrityError:
                raise ApiError(409, "FileAlreadyExists", "The object already exists.") from None
        return upload

    def upload(self, key: str) -> Upload | None:
        """The uploaded object ``key`` if it exists and has not expired (48 h)."""
        with self._lock:
            row = self._db.execute(
                "SELECT key, content_type, data, created_at FROM uploads WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        upload = Upload(key=row[0], content_type=row[1], data=bytes(row[2]), created_at=row[3])
        if time.time() - upload.created_at > UPLOAD_EXPIRE_SECONDS:
            return None
        return upload

    # -- views ---------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready summary: config, voice counts by status, uploads, counters."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_VOICE_COLUMNS} FROM voices").fetchall()
            uploads = int(self._db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0])
            counters = dict(self.counters)
        by_status = {status.value: 0 for status in catalog.VoiceStatus}
        for row in rows:
            by_status[self._row_to_voice(row).status.value] += 1
        return {
            "config": self.config.to_dict(),
            "state": str(self.state_path) if self.state_path else None,
            "voices": len(rows),
            "voices_by_status": by_status,
            "uploads": uploads,
            "counters": counters,
        }
