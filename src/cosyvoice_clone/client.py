"""The Python API: :class:`CosyVoice` (sync) and :class:`AsyncCosyVoice` (async), same names.

    from cosyvoice_clone import CosyVoice

    with CosyVoice(region="cn-beijing") as cv:
        result = cv.clone(prefix="myvoice", sample="sample.wav", wait=True)
        print(result.voice_id, result.status, result.reused)
        for voice in cv.voices.list():
            print(voice["voice_id"], voice["status"])

``clone`` validates every field first (nothing is sent for bad input), checks a local sample
with :func:`cosyvoice_clone.audio.check_sample` and refuses a failing one before spending a slot,
returns an existing voice for an identical request (the registry's dedupe, unless
``force=True``), uploads local files (cn-beijing), creates the voice without ever duplicating it
after an ambiguous failure, registers it, writes the evidence files and optionally waits until
it is ``OK``.

Everything without I/O lives in :class:`_ClientCore` as flows (generators of HTTP steps); the
sync and async classes only drive them.
"""

from __future__ import annotations

import asyncio
import builtins
import math
import sqlite3
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from . import catalog
from .config import Settings
from .enrollment import (
    STATUS_DEPLOYING,
    STATUS_OK,
    STATUS_UNDEPLOYED,
    CreateResult,
    EnrollmentCore,
    StatusCallback,
    VoiceInfo,
    WaitPolicy,
)
from .errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    NotFoundError,
    SampleRejectedError,
    VoiceRejectedError,
)
from .evidence import record_clone
from .http import AsyncHttpClient, Flow, HttpClient, RetryPolicy
from .registry import Registry, SyncReport, VoiceRecord, dedupe_key, endpoint_id
from .request import CloneOptions, CloneRequest, CloneResponse, normalize_clone_options
from .upload import LocalSample, is_url, read_local_sample, require_upload_region, upload_flow

DEFAULT_RATE_LIMIT = catalog.ENROLLMENT_REQUESTS_PER_SECOND * 0.9
"""Requests/s the client paces itself to (the service allows 10 enrollment requests/s)."""
DEFAULT_WAIT_TIMEOUT = 300.0


@dataclass(frozen=True)
class CloneResult:
    """What ``clone`` returns: the voice and how it was obtained."""

    voice_id: str
    target_model: str
    prefix: str
    region: str
    status: str | None
    request_id: str | None = None
    """The ``create_voice`` request id of this call (``None`` when reused or adopted)."""
    usage_count: int | None = None
    """Slots this call used, as reported by the service (``0`` when reused)."""
    reused: bool = False
    """An identical earlier clone was returned; no slot was spent."""
    original_request_id: str | None = None
    """For a reused voice: the request id of the ``create_voice`` that made it."""
    adopted: bool = False
    """Found by reconciliation after an ambiguous failure (the create did go through)."""
    sample_url: str | None = None
    sample_sha256: str | None = None
    warnings: tuple[str, ...] = ()
    evidence: dict[str, str] = field(default_factory=dict)
    check: dict[str, Any] | None = None
    attempts: int = 0
    """``create_voice`` requests sent (0 when reused)."""

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape printed by ``clone --json``."""
        return {
            "ok": True,
            "voice_id": self.voice_id,
            "request_id": self.request_id,
            "original_request_id": self.original_request_id,
            "usage": {"count": self.usage_count} if self.usage_count is not None else None,
            "status": self.status,
            "target_model": self.target_model,
            "prefix": self.prefix,
            "region": self.region,
            "reused": self.reused,
            "adopted": self.adopted,
            "sample_url": self.sample_url,
            "sample_sha256": self.sample_sha256,
            "attempts": self.attempts,
            "warnings": list(self.warnings),
            "evidence": dict(self.evidence),
            "check": self.check,
        }


@dataclass(frozen=True)
class _Plan:
    """A validated clone, ready to run."""

    options: CloneOptions
    key: str
    sample_source: str
    sample_url: str | None
    local: LocalSample | None
    warnings: tuple[str, ...]
    check: dict[str, Any] | None
    reusable: VoiceRecord | None


_STATUSES = (STATUS_OK, STATUS_DEPLOYING, STATUS_UNDEPLOYED)
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(value: str | float | timedelta | None) -> timedelta | None:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` -> timedelta (a Python number counts as days).

    A string needs a unit (a bare ``5`` could mean anything); the age must be positive and
    representable. Anything else is an :class:`InvalidRequestError` (exit 2, nothing sent).
    """
    if value is None:
        return None

    def invalid(why: str) -> InvalidRequestError:
        return InvalidRequestError(
            f"invalid age {value!r}: {why}",
            field="older_than",
            value=value,
            hint="use a positive number with a unit s, m, h, d or w, e.g. 30d, 12h, 2w",
        )

    if isinstance(value, timedelta):
        age = value
    else:
        if isinstance(value, bool):
            raise invalid("not a number")
        if isinstance(value, (int, float)):
            amount, unit = float(value), "days"
        else:
            text = str(value).strip().lower()
            if not text or text[-1] not in _AGE_UNITS:
                raise invalid("a unit is required (s, m, h, d or w)")
            try:
                amount = float(text[:-1])
            except ValueError:
                raise invalid("not a number with a unit") from None
            unit = _AGE_UNITS[text[-1]]
        if not math.isfinite(amount):
            raise invalid("not a finite number")
        if amount <= 0:
            raise invalid("the age must be greater than zero")
        try:
            age = timedelta(**{unit: amount})
        except (OverflowError, ValueError):
            raise invalid("too large") from None
    if age <= timedelta(0):
        raise invalid("the age must be greater than zero")
    return age


class _ClientCore:
    """Settings, registry and the flows of every operation (no network I/O here)."""

    def __init__(
        self,
        *,
        region: str | None = None,
        api_key: str | None = None,
        home: Path | str | None = None,
        output_dir: Path | str | None = None,
        http_base: str | None = None,
        websocket_url: str | None = None,
        workspace: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.settings = settings or Settings.resolve(
            region=region,
            api_key=api_key,
            home=home,
            output_dir=output_dir,
            http_base=http_base,
            websocket_url=websocket_url,
            workspace=workspace,
        )
        self._api_key = self.settings.require_key()
        self.region = self.settings.region
        self.endpoint = endpoint_id(self.settings.http_base, self.settings.http_base_source)
        self._registry: Registry | None = None
        self._registry_lock = threading.Lock()
        self._check_cache: dict[str, Any] = {}
        self._check_lock = threading.Lock()
        self.enrollment = EnrollmentCore(server_offset=self._server_offset)

    def _server_offset(self) -> float | None:
        return None

    @property
    def registry(self) -> Registry:
        """The voice registry in the home dir (opened on first use)."""
        with self._registry_lock:
            if self._registry is None:
                self._registry = Registry(self.settings.home)
            return self._registry

    def _close_registry(self) -> None:
        with self._registry_lock:
            if self._registry is not None:
                self._registry.close()
                self._registry = None

    # -- clone ----------------------------------------------------------------------------------

    def _plan_clone(
        self,
        *,
        prefix: Any,
        sample: str | Path,
        target_model: Any,
        language_hints: Any,
        max_prompt_audio_length: Any,
        enable_preprocess: Any,
        force: bool,
        skip_check: bool,
    ) -> _Plan:
        """Validate everything and look for a reusable voice; sends nothing."""
        options = normalize_clone_options(
            prefix=prefix,
            target_model=target_model,
            language_hints=language_hints,
            max_prompt_audio_length=max_prompt_audio_length,
            enable_preprocess=enable_preprocess,
            region=self.region,
        )
        warnings = list(options.warnings)
        source = str(sample).strip()
        if not source:
            raise InvalidRequestError("missing sample: pass a file path or a URL", field="sample")
        local: LocalSample | None = None
        url: str | None = None
        if is_url(source):
            url = options.with_sample(source).voice_sample_url
        else:
            local = read_local_sample(source)
            require_upload_region(self.region)
        check = None if skip_check else self._check(local, url, options, warnings)
        key = dedupe_key(
            options.fingerprint(),
            endpoint=self.endpoint,
            sample_sha256=local.sha256 if local else None,
            sample_url=url,
        )
        reusable = None if force else self.registry.find_reusable(key)
        return _Plan(options, key, source, url, local, tuple(warnings), check, reusable)

    def _check(
        self, local: LocalSample | None, url: str | None, options: CloneOptions, warnings: list[str]
    ) -> dict[str, Any] | None:
        """Run the local preflight; refuse a failing sample before anything is spent.

        Reports are cached per sample content (or URL) and model, so cloning one sample under
        many prefixes checks it once. An http(s) sample that can't be fetched from here is only
        a warning: the service may still reach it.
        """
        from .audio import check_sample
        from .errors import SampleUnreadableError

        source: Path | str
        if local is not None:
            source, name, cache_key = local.path, local.path.name, f"sha256:{local.sha256}"
        elif url is not None and url.lower().startswith(("http://", "https://")):
            source, name, cache_key = url, url.rsplit("/", 1)[-1] or url, f"url:{url}"
        else:
            return None  # oss:// can't be fetched from here
        cache_key += f"|{options.target_model}"
        with self._check_lock:  # one check per sample even when many clones start at once
            report = self._check_cache.get(cache_key)
            if report is None:
                try:
                    report = check_sample(source, options.target_model)
                except SampleUnreadableError as err:
                    if local is None and err.message.startswith("cannot download"):
                        warnings.append(f"sample not checked locally: {err.message}")
                        return None
                    raise
                self._check_cache[cache_key] = report
        problems = [p for p in report.problems if p.severity != "info"]
        if report.verdict == "fail":
            failing = [p.message for p in problems if p.severity == "fail"] or [
                p.message for p in problems
            ]
            raise SampleRejectedError(
                f"sample {name} fails the local check: " + "; ".join(failing),
                hint=f"repair it with `cosyvoice-clone check {source} --fix OUT.wav`, or "
                "pass --skip-check to send it anyway",
                api_code=report.service_code,
            )
        warnings.extend(f"sample: {p.message}" for p in problems if p.severity == "warn")
        data: dict[str, Any] = report.to_dict()
        return data

    def _result(
        self,
        plan: _Plan,
        record: VoiceRecord,
        *,
        reused: bool,
        adopted: bool = False,
        attempts: int = 0,
        evidence: dict[str, Path] | None = None,
        status: str | None = None,
        warnings: tuple[str, ...] = (),
    ) -> CloneResult:
        return CloneResult(
            voice_id=record.voice_id,
            target_model=record.target_model or plan.options.target_model,
            prefix=plan.options.prefix,
            region=self.region,
            status=status or record.status,
            request_id=None if reused else record.request_id,
            usage_count=0 if reused else record.usage_count,
            reused=reused,
            original_request_id=record.request_id if reused else None,
            adopted=adopted,
            sample_url=record.sample_url,
            sample_sha256=record.sample_sha256,
            warnings=plan.warnings + warnings,
            evidence={k: str(v) for k, v in (evidence or {}).items()},
            check=plan.check,
            attempts=attempts,
        )

    def _evidence(
        self,
        request: CloneRequest,
        response: CloneResponse | None,
        extra: dict[str, Any],
        warnings: list[str],
    ) -> dict[str, Path]:
        """Write the evidence files; a failure to write is a warning, never an error.

        Evidence is written after the voice exists: losing the voice id to a full disk or an
        unusable output dir would orphan a voice that already uses a slot.
        """
        try:
            return record_clone(
                self.settings.output_dir,
                request,
                response,
                extra={"endpoint": self.endpoint, **extra},
                secrets=(self._api_key,),
            )
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            warnings.append(
                f"evidence could not be written to {self.settings.output_dir}: {reason}"
                + (f" (voice {response.voice_id} is registered)" if response else "")
            )
            return {}

    def _clone_flow(
        self,
        plan: _Plan,
        *,
        wait: bool,
        timeout: float,
        on_status: StatusCallback | None,
    ) -> Flow[CloneResult]:
        """Reuse, or upload + create (+ wait); registers and writes evidence."""
        registry = self.registry
        notes: list[str] = []
        if plan.reusable is not None:
            existing = plan.reusable
            try:
                info = yield from self.enrollment.query(existing.voice_id)
            except NotFoundError:
                registry.mark_deleted(existing.voice_id)
                info = None
            if info is not None:
                self._observe(info)  # an UNDEPLOYED voice is unusable: clone anew below
            if info is not None and info.status != STATUS_UNDEPLOYED:
                current = info.status
                if wait and current != "OK":
                    current = yield from self._wait_flow(existing.voice_id, timeout, on_status)
                request = plan.options.with_sample(existing.sample_url or plan.sample_source)
                # No create_voice was sent: no request id and no slot for this call.
                response = CloneResponse(existing.voice_id, None, 0)
                evidence = self._evidence(
                    request,
                    response,
                    {"reused": True, "original_request_id": existing.request_id},
                    notes,
                )
                return self._result(
                    plan,
                    existing,
                    reused=True,
                    evidence=evidence,
                    status=current,
                    warnings=tuple(notes),
                )
        url = plan.sample_url
        if plan.local is not None:
            url = yield from upload_flow(plan.local)
        assert url is not None
        request = plan.options.with_sample(url)
        known = registry.known_ids(prefix=request.prefix, endpoint=self.endpoint)
        try:
            created = yield from self.enrollment.create(request, known=known)
        except CosyVoiceCloneError as err:
            self._evidence(request, None, {"error": err.to_dict()}, [])
            raise
        response = created.response
        record = self._register_created(plan, request, created, notes)
        extra: dict[str, Any] = {
            "reused": False,
            "adopted": created.adopted,
            "attempts": created.attempts,
        }
        if created.adopted:
            extra["reconcile_request_id"] = created.reconcile_request_id
        evidence = self._evidence(request, response, extra, notes)
        status: str | None = STATUS_DEPLOYING
        if wait:
            status = yield from self._wait_flow(response.voice_id, timeout, on_status)
        return self._result(
            plan,
            record,
            reused=False,
            adopted=created.adopted,
            attempts=created.attempts,
            evidence=evidence,
            status=status,
            warnings=tuple(notes),
        )

    def _register_created(
        self, plan: _Plan, request: CloneRequest, created: CreateResult, notes: list[str]
    ) -> VoiceRecord:
        """Register a voice that now exists; if the registry fails, keep going with a warning."""
        response = created.response
        fields: dict[str, Any] = {
            "region": self.region,
            "endpoint": self.endpoint,
            "target_model": request.target_model,
            "prefix": request.prefix,
            "options": plan.options.fingerprint(),
            "key": plan.key,
            "sample_url": request.voice_sample_url,
            "sample_sha256": plan.local.sha256 if plan.local else None,
            "sample_source": plan.sample_source,
            "request_id": response.request_id,
            "usage_count": response.usage_count,
            "status": STATUS_DEPLOYING,
            "origin": "adopted" if created.adopted else "created",
        }
        try:
            return self.registry.record_clone(response.voice_id, **fields)
        except (sqlite3.Error, OSError, CosyVoiceCloneError) as exc:
            notes.append(
                f"voice {response.voice_id} was created but could not be registered ({exc}); "
                "`cosyvoice-clone voices sync` registers it later"
            )
            return VoiceRecord(
                voice_id=response.voice_id,
                target_model=request.target_model,
                region=self.region,
                endpoint=self.endpoint,
                prefix=request.prefix,
                sample_url=request.voice_sample_url,
                sample_sha256=fields["sample_sha256"],
                sample_source=plan.sample_source,
                request_id=response.request_id,
                usage_count=response.usage_count,
                status=STATUS_DEPLOYING,
                origin=fields["origin"],
            )

    def _wait_flow(
        self, voice_id: str, timeout: float, on_status: StatusCallback | None
    ) -> Flow[str | None]:
        try:
            info = yield from self.enrollment.wait_until_ready(
                voice_id, WaitPolicy(timeout=timeout), on_status
            )
        except VoiceRejectedError:
            self.registry.set_status(voice_id, STATUS_UNDEPLOYED)
            raise
        self._observe(info)
        return info.status

    def _observe(self, info: VoiceInfo) -> None:
        self.registry.observe(
            info.voice_id,
            region=self.region,
            endpoint=self.endpoint,
            status=info.status,
            gmt_create=info.gmt_create,
            gmt_modified=info.gmt_modified,
            target_model=info.target_model,
        )

    # -- voices ---------------------------------------------------------------------------------

    def _voice_id_for(self, name: str) -> str:
        """A voice id, or the one registered voice of a prefix; checked here, nothing sent.

        A name that is neither registered, nor a registered prefix, nor shaped like a voice id
        (it must start with a known target model) is refused locally; so is a prefix that
        matches several voices (the message lists them).
        """
        text = (name or "").strip() if isinstance(name, str) else ""
        if not text:
            raise InvalidRequestError("missing voice id", field="voice_id", value=name)
        if self.registry.get(text) is not None:
            return text
        candidates = self.registry.list(endpoint=self.endpoint, prefix=text)
        if len(candidates) == 1:
            return candidates[0].voice_id
        if len(candidates) > 1:
            shown = ", ".join(r.voice_id for r in candidates[:10])
            raise InvalidRequestError(
                f"prefix {text!r} matches {len(candidates)} voices: {shown}"
                + (" …" if len(candidates) > 10 else ""),
                field="voice_id",
                value=text,
                hint=f"pass the full voice id (see `cosyvoice-clone voices list --prefix {text}`)",
            )
        if catalog.model_from_voice_id(text) is None:
            raise InvalidRequestError(
                f"unknown voice {text!r}: not a voice id (voice ids start with a target model, "
                "e.g. cosyvoice-v3.5-plus-PREFIX-…) and no registered voice has this prefix",
                field="voice_id",
                value=text,
                hint="`cosyvoice-clone voices list` shows your voices; `voices sync` registers "
                "the ones created elsewhere",
            )
        return text

    def _merge(self, info: VoiceInfo) -> dict[str, Any]:
        record = self.registry.get(info.voice_id)
        data = info.to_dict()
        data.update(
            {
                "prefix": record.prefix if record else None,
                "registered": record is not None and record.origin != "seen",
                "origin": record.origin if record else None,
                "sample_url": record.sample_url if record else info.resource_link,
                "sample_sha256": record.sample_sha256 if record else None,
                "sample_source": record.sample_source if record else None,
                "registered_at": record.created_at if record else None,
            }
        )
        if data["prefix"] is None:
            from .registry import split_voice_id

            data["prefix"] = split_voice_id(info.voice_id)[1]
        return data

    def _list_flow(self, prefix: str | None) -> Flow[list[dict[str, Any]]]:
        voices = yield from self.enrollment.list_all(prefix)
        with self.registry.batch():
            for info in voices:
                self.registry.observe(
                    info.voice_id,
                    region=self.region,
                    endpoint=self.endpoint,
                    status=info.status,
                    gmt_create=info.gmt_create,
                    gmt_modified=info.gmt_modified,
                )
            return [self._merge(info) for info in voices]

    def _show_flow(self, voice_id: str) -> Flow[dict[str, Any]]:
        voice_id = self._voice_id_for(voice_id)
        try:
            info = yield from self.enrollment.query(voice_id)
        except NotFoundError:
            if self.registry.get(voice_id) is not None:
                self.registry.mark_deleted(voice_id)
            raise
        self._observe(info)
        return self._merge(info)

    def _update_flow(
        self,
        voice_id: str,
        plan: _Plan,
        *,
        wait: bool,
        timeout: float,
        on_status: StatusCallback | None,
    ) -> Flow[dict[str, Any]]:
        url = plan.sample_url
        if plan.local is not None:
            url = yield from upload_flow(plan.local)
        assert url is not None
        try:
            yield from self.enrollment.update(voice_id, url)
        except NotFoundError:
            if self.registry.get(voice_id) is not None:
                self.registry.mark_deleted(voice_id)
            raise
        if self.registry.get(voice_id) is None:
            info = yield from self.enrollment.query(voice_id)
            self._observe(info)
        self.registry.update_sample(
            voice_id,
            sample_url=url,
            sample_sha256=plan.local.sha256 if plan.local else None,
            sample_source=plan.sample_source,
            key=plan.key,
            status=STATUS_DEPLOYING,
        )
        if wait:
            yield from self._wait_flow(voice_id, timeout, on_status)
        info = yield from self.enrollment.query(voice_id)
        self._observe(info)
        data = self._merge(info)
        data["warnings"] = list(plan.warnings)
        return data

    def _plan_update(self, voice_id: str, sample: str | Path, skip_check: bool) -> _Plan:
        from .registry import split_voice_id

        record = self.registry.get(voice_id)
        id_model, id_prefix = split_voice_id(voice_id)
        opts = (record.options if record else None) or {}
        options = CloneOptions(
            prefix=(record.prefix if record else None) or id_prefix or "voice",
            target_model=(
                opts.get("target_model")
                or (record.target_model if record else None)
                or id_model
                or catalog.DEFAULT_TARGET_MODEL
            ),
            language_hints=tuple(opts.get("language_hints") or ()),
            max_prompt_audio_length=opts.get("max_prompt_audio_length"),
            enable_preprocess=opts.get("enable_preprocess"),
            region=self.region,
        )
        warnings: list[str] = []
        source = str(sample).strip()
        local: LocalSample | None = None
        url: str | None = None
        if is_url(source):
            url = options.with_sample(source).voice_sample_url
        else:
            local = read_local_sample(source)
            require_upload_region(self.region)
        check = None if skip_check else self._check(local, url, options, warnings)
        key = dedupe_key(
            options.fingerprint(),
            endpoint=self.endpoint,
            sample_sha256=local.sha256 if local else None,
            sample_url=url,
        )
        return _Plan(options, key, source, url, local, tuple(warnings), check, None)

    def _delete_flow(self, voice_id: str) -> Flow[dict[str, Any]]:
        voice_id = self._voice_id_for(voice_id)
        try:
            yield from self.enrollment.delete(voice_id)
        except NotFoundError as err:
            record = self.registry.get(voice_id)
            if record is None:
                err.message = (
                    f"voice {voice_id} is unknown to the service: already deleted, or never "
                    "created with this key and region (the registry has no record of it)"
                )
            elif record.deleted:
                err.message = (
                    f"voice {voice_id} is already deleted (the registry marks it deleted since "
                    f"{record.deleted_at})"
                )
            else:
                self.registry.mark_deleted(voice_id)
                err.message = (
                    f"voice {voice_id} is already gone from the service (deleted elsewhere or "
                    "expired); the registry now marks it deleted"
                )
            err.hint = "nothing to delete; `cosyvoice-clone voices list` shows what exists"
            raise
        if self.registry.get(voice_id) is None:
            self.registry.observe(voice_id, region=self.region, endpoint=self.endpoint)
        self.registry.mark_deleted(voice_id)
        return {"voice_id": voice_id, "deleted": True}

    def _sync_flow(self) -> Flow[SyncReport]:
        voices = yield from self.enrollment.list_all()
        return self.registry.sync(
            ((v.voice_id, v.to_dict()) for v in voices),
            region=self.region,
            endpoint=self.endpoint,
        )

    def _prune_plan_flow(
        self,
        *,
        prefix: str | None,
        older_than: str | float | timedelta | None,
        status: str | None,
    ) -> Flow[list[dict[str, Any]]]:
        age = parse_age(older_than)
        wanted = status.strip().upper() if status else None
        if wanted is not None and wanted not in _STATUSES:
            raise InvalidRequestError(
                f"invalid status {status!r}: use one of {', '.join(_STATUSES)}",
                field="status",
                value=status,
            )
        if prefix is None and age is None and wanted is None:
            raise InvalidRequestError(
                "prune needs at least one filter: --prefix, --older-than or --status",
                field="filter",
                hint="e.g. `cosyvoice-clone voices prune --older-than 30d --dry-run`",
            )
        voices = yield from self._list_flow(prefix)
        now = datetime.now(timezone.utc)
        chosen = []
        for voice in voices:
            if wanted and (voice.get("status") or "").upper() != wanted:
                continue
            if age is not None:
                from .enrollment import parse_service_time

                created = parse_service_time(voice.get("gmt_create"))
                if created is None or now - created < age:
                    continue
            chosen.append(voice)
        return chosen


def _client_kwargs(
    settings: Settings, retry: RetryPolicy | None, rate_limit: float | None, timeout: Any
) -> dict[str, Any]:
    return {
        "workspace": settings.workspace,
        "retry": retry,
        "rate_limit": rate_limit,
        "region": settings.region,
        "timeout": timeout,
    }


class Voices:
    """Voice management on the service and in the registry (``CosyVoice.voices``)."""

    def __init__(self, client: CosyVoice) -> None:
        self._c = client

    def list(self, prefix: str | None = None) -> list[dict[str, Any]]:
        """Every voice on the service (all pages), merged with what the registry knows."""
        return self._c.http.run(self._c._list_flow(prefix))

    def show(self, voice_id: str) -> dict[str, Any]:
        """One voice (an id or a registered prefix): the service's details and the registry's."""
        return self._c.http.run(self._c._show_flow(voice_id))

    def update(
        self,
        voice_id: str,
        sample: str | Path,
        *,
        skip_check: bool = False,
        wait: bool = False,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
    ) -> dict[str, Any]:
        """Give a voice (an id or a registered prefix) a new sample (a path is uploaded, a URL
        used as is)."""
        voice_id = self._c._voice_id_for(voice_id)
        plan = self._c._plan_update(voice_id, sample, skip_check)
        return self._c.http.run(
            self._c._update_flow(voice_id, plan, wait=wait, timeout=timeout, on_status=on_status)
        )

    def delete(self, voice_id: str) -> dict[str, Any]:
        """Delete a voice on the service (frees its slot) and mark it deleted in the registry."""
        return self._c.http.run(self._c._delete_flow(voice_id))

    def sync(self) -> SyncReport:
        """Reconcile the registry with the service (add unknown voices, mark deleted ones)."""
        return self._c.http.run(self._c._sync_flow())

    def prune_candidates(
        self,
        *,
        prefix: str | None = None,
        older_than: str | float | timedelta | None = None,
        status: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """The voices ``prune`` would delete (nothing is deleted)."""
        return self._c.http.run(
            self._c._prune_plan_flow(prefix=prefix, older_than=older_than, status=status)
        )

    def resolve(self, voice_or_prefix: str) -> VoiceRecord:
        """A voice id or a unique registered prefix -> its registry record."""
        return self._c.registry.resolve(voice_or_prefix, endpoint=self._c.endpoint)

    def lookup(self, voice_or_prefix: str) -> str:
        """The voice id named by an id or a registered prefix, checked locally (nothing sent);
        an ambiguous prefix or a name that can't be a voice id raises InvalidRequestError."""
        return self._c._voice_id_for(voice_or_prefix)


class CosyVoice(_ClientCore):
    """Synchronous client: clone voices, manage them, wait for them."""

    def __init__(
        self,
        *,
        region: str | None = None,
        api_key: str | None = None,
        home: Path | str | None = None,
        output_dir: Path | str | None = None,
        http_base: str | None = None,
        websocket_url: str | None = None,
        workspace: str | None = None,
        settings: Settings | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        timeout: httpx.Timeout | float | None = None,
    ) -> None:
        super().__init__(
            region=region,
            api_key=api_key,
            home=home,
            output_dir=output_dir,
            http_base=http_base,
            websocket_url=websocket_url,
            workspace=workspace,
            settings=settings,
        )
        self.http = HttpClient(
            self.settings.http_base,
            self._api_key,
            transport=transport,
            **_client_kwargs(self.settings, retry, rate_limit, timeout),
        )
        self.voices = Voices(self)
        self._key_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _server_offset(self) -> float | None:
        return self.http.stats.server_offset

    def clone(
        self,
        *,
        prefix: str,
        sample: str | Path,
        target_model: str | None = None,
        language_hints: list[str] | str | None = None,
        max_prompt_audio_length: float | None = None,
        enable_preprocess: bool | None = None,
        wait: bool = False,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        skip_check: bool = False,
        on_status: StatusCallback | None = None,
    ) -> CloneResult:
        """Clone a voice from a local file or a URL (see the module docstring)."""
        plan_args: dict[str, Any] = {
            "prefix": prefix,
            "sample": sample,
            "target_model": target_model,
            "language_hints": language_hints,
            "max_prompt_audio_length": max_prompt_audio_length,
            "enable_preprocess": enable_preprocess,
            "force": force,
            "skip_check": skip_check,
        }
        plan = self._plan_clone(**plan_args)
        with self._lock_for(plan.key):
            if not force:  # another thread may have cloned it meanwhile
                plan = replace(plan, reusable=self.registry.find_reusable(plan.key))
            return self.http.run(
                self._clone_flow(plan, wait=wait, timeout=timeout, on_status=on_status)
            )

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._key_locks.setdefault(key, threading.Lock())

    def wait(
        self,
        voice_id: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
    ) -> str | None:
        """Wait until a voice is OK; returns its status (raises on UNDEPLOYED or timeout)."""
        return self.http.run(self._wait_flow(voice_id, timeout, on_status))

    def speak(self, text: str, out: str | Path, *, voice: str, **options: Any) -> Any:
        """Speak ``text`` with a voice id or registered prefix into one file (a
        :class:`~cosyvoice_clone.synthesis.SynthesisResult`; options: ``synthesis.speak_for``)."""
        from .synthesis import speak_for

        return speak_for(self, text, out, voice=voice, **options)

    def close(self) -> None:
        """Close the HTTP pool and the registry."""
        self.http.close()
        self._close_registry()

    def __enter__(self) -> CosyVoice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncVoices:
    """Async voice management (``AsyncCosyVoice.voices``); the same names as :class:`Voices`."""

    def __init__(self, client: AsyncCosyVoice) -> None:
        self._c = client

    async def list(self, prefix: str | None = None) -> list[dict[str, Any]]:
        """Every voice on the service (all pages), merged with what the registry knows."""
        return await self._c.http.run(self._c._list_flow(prefix))

    async def show(self, voice_id: str) -> dict[str, Any]:
        """One voice (an id or a registered prefix): the service's details and the registry's."""
        return await self._c.http.run(self._c._show_flow(voice_id))

    async def update(
        self,
        voice_id: str,
        sample: str | Path,
        *,
        skip_check: bool = False,
        wait: bool = False,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
    ) -> dict[str, Any]:
        """Give a voice (an id or a registered prefix) a new sample (a path is uploaded, a URL
        used as is)."""
        voice_id = self._c._voice_id_for(voice_id)
        plan = await asyncio.to_thread(self._c._plan_update, voice_id, sample, skip_check)
        return await self._c.http.run(
            self._c._update_flow(voice_id, plan, wait=wait, timeout=timeout, on_status=on_status)
        )

    async def delete(self, voice_id: str) -> dict[str, Any]:
        """Delete a voice on the service and mark it deleted in the registry."""
        return await self._c.http.run(self._c._delete_flow(voice_id))

    async def sync(self) -> SyncReport:
        """Reconcile the registry with the service."""
        return await self._c.http.run(self._c._sync_flow())

    async def prune_candidates(
        self,
        *,
        prefix: str | None = None,
        older_than: str | float | timedelta | None = None,
        status: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """The voices ``prune`` would delete (nothing is deleted)."""
        return await self._c.http.run(
            self._c._prune_plan_flow(prefix=prefix, older_than=older_than, status=status)
        )

    def resolve(self, voice_or_prefix: str) -> VoiceRecord:
        """A voice id or a unique registered prefix -> its registry record."""
        return self._c.registry.resolve(voice_or_prefix, endpoint=self._c.endpoint)

    def lookup(self, voice_or_prefix: str) -> str:
        """The voice id named by an id or a registered prefix, checked locally (nothing sent);
        an ambiguous prefix or a name that can't be a voice id raises InvalidRequestError."""
        return self._c._voice_id_for(voice_or_prefix)


class AsyncCosyVoice(_ClientCore):
    """Asynchronous client with the same methods as :class:`CosyVoice`."""

    def __init__(
        self,
        *,
        region: str | None = None,
        api_key: str | None = None,
        home: Path | str | None = None,
        output_dir: Path | str | None = None,
        http_base: str | None = None,
        websocket_url: str | None = None,
        workspace: str | None = None,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        timeout: httpx.Timeout | float | None = None,
        max_connections: int = 20,
    ) -> None:
        super().__init__(
            region=region,
            api_key=api_key,
            home=home,
            output_dir=output_dir,
            http_base=http_base,
            websocket_url=websocket_url,
            workspace=workspace,
            settings=settings,
        )
        self.http = AsyncHttpClient(
            self.settings.http_base,
            self._api_key,
            transport=transport,
            max_connections=max_connections,
            **_client_kwargs(self.settings, retry, rate_limit, timeout),
        )
        self.voices = AsyncVoices(self)
        self._key_locks: dict[str, asyncio.Lock] = {}

    def _server_offset(self) -> float | None:
        return self.http.stats.server_offset

    async def clone(
        self,
        *,
        prefix: str,
        sample: str | Path,
        target_model: str | None = None,
        language_hints: list[str] | str | None = None,
        max_prompt_audio_length: float | None = None,
        enable_preprocess: bool | None = None,
        wait: bool = False,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        skip_check: bool = False,
        on_status: StatusCallback | None = None,
    ) -> CloneResult:
        """Clone a voice from a local file or a URL (see :meth:`CosyVoice.clone`)."""
        plan_args: dict[str, Any] = {
            "prefix": prefix,
            "sample": sample,
            "target_model": target_model,
            "language_hints": language_hints,
            "max_prompt_audio_length": max_prompt_audio_length,
            "enable_preprocess": enable_preprocess,
            "force": force,
            "skip_check": skip_check,
        }
        plan = await asyncio.to_thread(lambda: self._plan_clone(**plan_args))
        lock = self._key_locks.setdefault(plan.key, asyncio.Lock())
        async with lock:
            if not force:  # another task may have cloned it meanwhile
                plan = replace(plan, reusable=self.registry.find_reusable(plan.key))
            return await self.http.run(
                self._clone_flow(plan, wait=wait, timeout=timeout, on_status=on_status)
            )

    async def wait(
        self,
        voice_id: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
    ) -> str | None:
        """Wait until a voice is OK; returns its status (raises on UNDEPLOYED or timeout)."""
        return await self.http.run(self._wait_flow(voice_id, timeout, on_status))

    async def speak(self, text: str, out: str | Path, *, voice: str, **options: Any) -> Any:
        """Speak ``text`` with a voice id or registered prefix into one file (a
        :class:`~cosyvoice_clone.synthesis.SynthesisResult`; options: ``synthesis.aspeak_for``)."""
        from .synthesis import aspeak_for

        return await aspeak_for(self, text, out, voice=voice, **options)

    async def aclose(self) -> None:
        """Close the HTTP pool and the registry."""
        await self.http.aclose()
        self._close_registry()

    async def __aenter__(self) -> AsyncCosyVoice:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "DEFAULT_RATE_LIMIT",
    "AsyncCosyVoice",
    "AsyncVoices",
    "CloneResult",
    "CosyVoice",
    "Voices",
    "parse_age",
]
