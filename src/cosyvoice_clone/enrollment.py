"""Voice enrollment: create, list, query, update, delete and wait for a cloned voice.

Each operation is written once, without I/O, as a flow (a generator of
:class:`~cosyvoice_clone.http.Call` and :class:`~cosyvoice_clone.http.Sleep` steps) in
:class:`EnrollmentCore`; the clients (:mod:`cosyvoice_clone.client`, :mod:`cosyvoice_clone.voices`)
drive the flows with their sync or async HTTP client.

``create_voice`` is not idempotent: every success uses one of the account's voice slots. After an
ambiguous failure (a timeout, a connection dropped after sending, a 5xx) the flow *reconciles*
before trying again: it lists the voices with the same prefix and adopts one that was created
for this target model within the attempt's time window, that nobody here knew of before, and
whose ``resource_link`` (when the service reports one) is the sample we sent. Only if there is
none does it send ``create_voice`` again. A voice design (:class:`~.request.DesignRequest`) goes
through the same flow; its voices are matched by their ``{model}-vd-{prefix}-`` ids alone (a
designed voice has no sample to compare).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import catalog
from .catalog import VoiceStatus
from .errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    NextStep,
    NotFoundError,
    QuotaExceededError,
    StepKind,
    VoiceNotReadyError,
    VoiceRejectedError,
)
from .http import (
    AmbiguousRequestError,
    ApiResponse,
    Call,
    Flow,
    Sleep,
)
from .request import CloneRequest, CloneResponse, DesignRequest, PreviewAudio

logger = logging.getLogger("cosyvoice_clone.enrollment")

CUSTOMIZATION_PATH = "services/audio/tts/customization"
OSS_RESOLVE_HEADER = "X-DashScope-OssResourceResolve"
BEIJING = catalog.SERVICE_TIMEZONE
DEFAULT_PAGE_SIZE = 100


def parse_service_time(value: Any) -> datetime | None:
    """Parse a ``gmt_create``-style ``YYYY-MM-DD HH:MM:SS`` (Beijing time, inferred) as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=BEIJING).astimezone(timezone.utc)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed.astimezone(timezone.utc)


@dataclass(frozen=True)
class VoiceInfo:
    """A voice as the service describes it (list or query)."""

    voice_id: str
    status: str | None = None
    gmt_create: str | None = None
    gmt_modified: str | None = None
    target_model: str | None = None
    resource_link: str | None = None

    @property
    def created_at(self) -> datetime | None:
        """``gmt_create`` as an aware UTC datetime."""
        return parse_service_time(self.gmt_create)

    @property
    def model(self) -> str | None:
        """The target model: reported by the service, else read from the voice id."""
        return self.target_model or catalog.model_from_voice_id(self.voice_id)

    @classmethod
    def from_wire(cls, data: dict[str, Any], voice_id: str | None = None) -> VoiceInfo:
        """From a ``voice_list`` item or a ``query_voice`` output."""

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value not in (None, "") else None

        return cls(
            voice_id=str(data.get("voice_id") or voice_id or ""),
            status=text("status"),
            gmt_create=text("gmt_create"),
            gmt_modified=text("gmt_modified"),
            target_model=text("target_model"),
            resource_link=text("resource_link"),
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (``target_model`` filled from the voice id when not reported)."""
        return {
            "voice_id": self.voice_id,
            "status": self.status,
            "target_model": self.model,
            "gmt_create": self.gmt_create,
            "gmt_modified": self.gmt_modified,
            "resource_link": self.resource_link,
        }


@dataclass(frozen=True)
class CreateResult:
    """The outcome of a create flow."""

    response: CloneResponse
    adopted: bool = False
    """True when the voice was found by reconciliation after an ambiguous failure."""
    attempts: int = 1
    """How many ``create_voice`` requests were sent (not counting transport retries)."""
    reconciliations: int = 0
    reconcile_request_id: str | None = None
    """For an adopted voice: the request id of the ``list_voice`` call that found it."""
    preview: PreviewAudio | None = None
    """A design's decoded preview (``None`` for a clone, or when the answer was lost)."""


@dataclass
class EnrollmentStats:
    """Counters of the create flow (for reports and benchmarks)."""

    creates: int = 0
    create_requests: int = 0
    reconciliations: int = 0
    adopted: int = 0
    recreated_after_ambiguous: int = 0

    def to_dict(self) -> dict[str, int]:
        """A plain dict for reports."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class WaitPolicy:
    """How ``wait_until_ready`` polls: growing intervals, bounded by ``timeout``."""

    timeout: float = catalog.DEFAULT_WAIT_TIMEOUT
    initial_interval: float = 0.5
    max_interval: float = 10.0
    multiplier: float = 1.5


@dataclass
class _Claims:
    """Voice ids this process already owns, so two flows never adopt the same voice."""

    ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, voice_id: str) -> bool:
        with self.lock:
            if voice_id in self.ids:
                return False
            self.ids.add(voice_id)
            return True

    def __contains__(self, voice_id: object) -> bool:
        with self.lock:
            return voice_id in self.ids


StatusCallback = Callable[[str, str | None, float], None]
"""``(voice_id, status, elapsed_seconds)`` after each poll."""


class EnrollmentCore:
    """The enrollment flows, with no I/O. Drive them with an HTTP client's ``run``."""

    def __init__(
        self,
        *,
        model: str = catalog.ENROLLMENT_MODEL,
        max_create_rounds: int = 8,
        clock_tolerance: float = 15.0,
        server_offset: Callable[[], float | None] | None = None,
    ) -> None:
        self.model = model
        self.max_create_rounds = max_create_rounds
        self.clock_tolerance = clock_tolerance
        self._server_offset = server_offset or (lambda: None)
        self.stats = EnrollmentStats()
        self.claims = _Claims()

    # -- single calls ---------------------------------------------------------------------

    def _call(
        self,
        action: str,
        fields: dict[str, Any],
        *,
        idempotent: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Call:
        return Call(
            "POST",
            CUSTOMIZATION_PATH,
            json={"model": self.model, "input": {"action": action, **fields}},
            headers=headers,
            idempotent=idempotent,
            label=action,
        )

    def list_page(
        self, prefix: str | None = None, page_index: int = 0, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Flow[list[VoiceInfo]]:
        """One page of ``list_voice``."""
        page, _ = yield from self._page(prefix, page_index, page_size)
        return page

    def _page(
        self, prefix: str | None, page_index: int, page_size: int
    ) -> Flow[tuple[list[VoiceInfo], str | None]]:
        fields: dict[str, Any] = {"page_index": page_index, "page_size": page_size}
        if prefix:
            fields["prefix"] = prefix
        response: ApiResponse = yield self._call("list_voice", fields)
        items = response.output.get("voice_list") or []
        page = [VoiceInfo.from_wire(item) for item in items if isinstance(item, dict)]
        return page, response.request_id

    def list_all(
        self, prefix: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Flow[list[VoiceInfo]]:
        """Every page of ``list_voice`` (deduplicated by voice id)."""
        voices, _ = yield from self._list_all_with_id(prefix, page_size)
        return voices

    def _list_all_with_id(
        self, prefix: str | None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Flow[tuple[list[VoiceInfo], str | None]]:
        """Like :meth:`list_all`, also returning the first page's request id."""
        seen: dict[str, VoiceInfo] = {}
        first_rid: str | None = None
        page_index = 0
        while True:
            page, rid = yield from self._page(prefix, page_index, page_size)
            first_rid = first_rid or rid
            for voice in page:
                seen.setdefault(voice.voice_id, voice)
            if len(page) < page_size:
                return list(seen.values()), first_rid
            page_index += 1

    def query(self, voice_id: str) -> Flow[VoiceInfo]:
        """``query_voice``: status, model, timestamps, resource link."""
        _check_voice_id(voice_id)
        response: ApiResponse = yield self._call("query_voice", {"voice_id": voice_id})
        return VoiceInfo.from_wire(response.output, voice_id)

    def update(self, voice_id: str, url: str, *, oss: bool | None = None) -> Flow[ApiResponse]:
        """``update_voice``: a new sample URL for an existing voice."""
        _check_voice_id(voice_id)
        use_oss = url.startswith("oss://") if oss is None else oss
        response: ApiResponse = yield self._call(
            "update_voice",
            {"voice_id": voice_id, "url": url},
            headers={OSS_RESOLVE_HEADER: "enable"} if use_oss else None,
        )
        return response

    def delete(self, voice_id: str) -> Flow[ApiResponse | None]:
        """``delete_voice``; after an ambiguous failure, a voice that is gone counts as deleted.

        (A blind retry would answer ``ResourceNotExist`` for a delete that did go through.)
        Returns ``None`` when the deletion was confirmed by a query rather than answered.
        """
        _check_voice_id(voice_id)
        call = self._call("delete_voice", {"voice_id": voice_id}, idempotent=False)
        last: CosyVoiceCloneError | None = None
        for round_no in range(1, self.max_create_rounds + 1):
            try:
                response: ApiResponse = yield call
            except AmbiguousRequestError as amb:
                last = amb.cause
                try:
                    yield from self.query(voice_id)
                except NotFoundError:
                    return None
                yield Sleep(min(8.0, 0.25 * 2 ** (round_no - 1)))
                continue
            return response
        assert last is not None
        raise last

    # -- create with reconciliation -----------------------------------------------------------

    def create(
        self, request: CloneRequest | DesignRequest, *, known: Collection[str] = ()
    ) -> Flow[CreateResult]:
        """``create_voice`` that never creates a second voice after an ambiguous failure.

        ``known`` are voice ids that existed before (e.g. from the registry); they are never
        adopted.
        """
        headers = {OSS_RESOLVE_HEADER: "enable"} if request.uses_temporary_upload else None
        call = Call(
            "POST",
            CUSTOMIZATION_PATH,
            json=request.to_payload(),
            headers=headers,
            idempotent=False,
            label="create_voice",
        )
        self.stats.creates += 1
        reconciliations = 0
        last_error: CosyVoiceCloneError | None = None
        for round_no in range(1, self.max_create_rounds + 1):
            started = time.time()
            self.stats.create_requests += 1
            if round_no > 1:
                self.stats.recreated_after_ambiguous += 1
            try:
                response: ApiResponse = yield call
            except AmbiguousRequestError as amb:
                last_error = amb.cause
                reconciliations += 1
                self.stats.reconciliations += 1
                ended = time.time()
                logger.debug(
                    "create_voice %s: ambiguous failure (%s); reconciling", request.prefix, amb
                )
                try:
                    adopted, list_rid = yield from self._reconcile(request, started, ended, known)
                except CosyVoiceCloneError as err:
                    err.hint = (
                        f"{err.hint + '; ' if err.hint else ''}an earlier create_voice may have "
                        "made a voice: run `cosyvoice-clone voices sync` before cloning again"
                    )
                    raise
                if adopted is not None:
                    self.stats.adopted += 1
                    return CreateResult(
                        CloneResponse(voice_id=adopted.voice_id),
                        adopted=True,
                        attempts=round_no,
                        reconciliations=reconciliations,
                        reconcile_request_id=list_rid,
                    )
                yield Sleep(min(8.0, 0.25 * 2 ** (round_no - 1)))
                continue
            except QuotaExceededError as err:
                raise (yield from self._quota_error(err)) from None
            try:
                parsed = CloneResponse.from_wire(response.body)
            except ValueError as exc:
                raise CosyVoiceCloneError(
                    f"create_voice: unexpected answer ({exc})",
                    request_id=response.request_id,
                    hint="run `cosyvoice-clone voices sync` to see whether a voice was created",
                ) from None
            self.claims.claim(parsed.voice_id)
            output = response.body.get("output")
            preview = (
                PreviewAudio.from_wire(output.get("preview_audio"))
                if isinstance(request, DesignRequest) and isinstance(output, dict)
                else None
            )
            return CreateResult(
                parsed, attempts=round_no, reconciliations=reconciliations, preview=preview
            )
        assert last_error is not None
        last_error.hint = (
            f"{last_error.hint + '; ' if last_error.hint else ''}no voice was found for prefix "
            f"{request.prefix!r} after {self.max_create_rounds} ambiguous attempts; "
            "`cosyvoice-clone voices sync` shows what exists"
        )
        raise last_error

    def _quota_error(self, err: QuotaExceededError) -> Flow[QuotaExceededError]:
        """Complete the service's quota message with how many voices exist (its own fact).

        The service's message ("Your current quota is N") states the account's limit; the
        count is what ``list_voice`` shows. Both are reported, labelled, so they never read as
        two different quotas.
        """
        try:
            voices = yield from self.list_all()
        except CosyVoiceCloneError:
            return err
        service_says = err.message.strip().rstrip(".")
        match = re.search(r"quota is (\d+)", service_says, flags=re.IGNORECASE)
        limit = (
            f"the service's voice limit for this account is {match.group(1)}"
            if match
            else f"the documented default limit is {catalog.VOICE_QUOTA} voices per account"
        )
        err.message = (
            f"no voice slot left ({service_says}): {limit}, and {len(voices)} cloned "
            f"voice(s) exist on this account"
        )
        err.hint = (
            "free slots with `cosyvoice-clone voices prune --older-than 30d` (add --dry-run to "
            "see what would go) or `cosyvoice-clone voices delete ID`"
        )
        return err

    def _window(self, started: float, ended: float) -> tuple[float, float]:
        offset = self._server_offset()
        tolerance = self.clock_tolerance if offset is not None else max(self.clock_tolerance, 120)
        shift = offset or 0.0
        return started + shift - tolerance, ended + shift + tolerance

    def _reconcile(
        self,
        request: CloneRequest | DesignRequest,
        started: float,
        ended: float,
        known: Collection[str],
    ) -> Flow[tuple[VoiceInfo | None, str | None]]:
        """The voice an ambiguous ``create_voice`` may have made, and the list's request id."""
        voices, list_rid = yield from self._list_all_with_id(request.prefix)
        lo, hi = self._window(started, ended)
        stem = (
            request.voice_id_stem
            if isinstance(request, DesignRequest)
            else f"{request.target_model}-{request.prefix}-"
        )
        fresh = [
            v
            for v in voices
            if v.voice_id.startswith(stem)
            and v.voice_id not in known
            and v.voice_id not in self.claims
        ]
        candidates = _in_window(fresh, lo, hi)
        if not candidates:
            logger.debug("reconcile %s: nothing was created", request.prefix)
            return None, list_rid
        matches: list[VoiceInfo] = []
        unknown_link: list[VoiceInfo] = []
        for voice in candidates[:10]:
            if not isinstance(request, CloneRequest):  # a design: id, window and claims decide
                unknown_link.append(voice)
                continue
            detail = yield from self.query(voice.voice_id)
            if detail.resource_link is None:
                unknown_link.append(voice)
            elif _same_sample(detail.resource_link, request.voice_sample_url):
                matches.append(voice)
        for voice in matches + unknown_link:
            if self.claims.claim(voice.voice_id):
                logger.debug("reconcile %s: adopting %s", request.prefix, voice.voice_id)
                return voice, list_rid
        return None, list_rid

    # -- waiting ------------------------------------------------------------------------------

    def wait_until_ready(
        self,
        voice_id: str,
        policy: WaitPolicy | None = None,
        on_status: StatusCallback | None = None,
    ) -> Flow[VoiceInfo]:
        """Poll ``query_voice`` with growing intervals until ``OK``.

        ``UNDEPLOYED`` raises :class:`VoiceRejectedError`; running out of time raises
        :class:`VoiceNotReadyError` (exit 5).
        """
        policy = policy or WaitPolicy()
        start = time.monotonic()
        interval = policy.initial_interval
        while True:
            info = yield from self.query(voice_id)
            elapsed = time.monotonic() - start
            if on_status is not None:
                on_status(voice_id, info.status, elapsed)
            if info.status == VoiceStatus.OK:
                return info
            if info.status == VoiceStatus.UNDEPLOYED:
                raise VoiceRejectedError(
                    f"voice {voice_id} was rejected by the service (status UNDEPLOYED)",
                    hint="the sample did not pass review: check it with `cosyvoice-clone check "
                    "SAMPLE`, delete the voice with `cosyvoice-clone voices delete "
                    f"{voice_id}` and clone again with a cleaner sample",
                    next_step=NextStep.of(StepKind.CLONE_AGAIN, voice_id=voice_id),
                )
            remaining = policy.timeout - elapsed
            if remaining <= 0:
                raise VoiceNotReadyError(
                    f"voice {voice_id} is still {info.status or 'not ready'} after "
                    f"{policy.timeout:g} s",
                    code="voice_not_ready",
                    next_step=NextStep.of(StepKind.WAIT_FOR_VOICE, voice_id=voice_id),
                )
            yield Sleep(min(interval, remaining))
            interval = min(policy.max_interval, interval * policy.multiplier)


def _check_voice_id(voice_id: str) -> None:
    if not isinstance(voice_id, str) or not voice_id.strip():
        raise InvalidRequestError("missing voice_id", field="voice_id", value=voice_id)


def _in_window(voices: list[VoiceInfo], lo: float, hi: float) -> list[VoiceInfo]:
    """Voices created in ``[lo, hi]`` (epoch seconds), oldest first.

    ``gmt_create`` has no zone; it is read as Beijing time. If none fits, whole-hour shifts are
    tried too, so a service that reports another zone still reconciles.
    """
    dated = [(v, v.created_at.timestamp()) for v in voices if v.created_at is not None]
    for shifts in ((0,), tuple(h for h in range(-14, 15) if h)):
        hits = [(ts, v) for v, ts in dated if any(lo <= ts + h * 3600 <= hi + 1 for h in shifts)]
        if hits:
            return [v for _, v in sorted(hits, key=lambda item: item[0])]
    return []


def _same_sample(resource_link: str, url: str) -> bool:
    if resource_link == url:
        return True
    if url.startswith("oss://"):
        return url[len("oss://") :] in resource_link
    return resource_link.split("?")[0] == url.split("?")[0]


__all__ = [
    "CreateResult",
    "EnrollmentCore",
    "EnrollmentStats",
    "VoiceInfo",
    "WaitPolicy",
    "parse_service_time",
]
