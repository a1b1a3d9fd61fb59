"""The Python API: :class:`CosyVoice` (sync) and :class:`AsyncCosyVoice` (async), same names.

    from cosyvoice_clone import CosyVoice

    with CosyVoice(region="cn-beijing") as cv:
        result = cv.clone(prefix="myvoice", sample="sample.wav", wait=True)
        print(result.voice_id, result.status, result.reused)
        for voice in cv.voices.list():
            print(voice.voice_id, voice.status)

``clone`` validates every field first (nothing is sent for bad input), checks a local sample
with :func:`cosyvoice_clone.audio.check_sample` and refuses a failing one before spending a slot,
returns an existing voice for an identical request (the registry's dedupe, unless
``force=True``), uploads local files (or sends them as a data URI: ``sample_transport``),
creates the voice without ever duplicating it after an ambiguous failure, registers it, writes
the evidence files and optionally waits until it is ``OK``. Evidence files (the request and
response, for support) are written only when asked: ``CosyVoice(evidence=True)`` writes them
under the output dir (the CLI does).

Everything without I/O lives in :class:`_ClientCore` as flows (generators of HTTP steps); the
sync and async classes only drive them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from . import catalog
from ._loop import LoopThread, run_sync
from .catalog import VoiceStatus
from .checks import require_timeout
from .claims import Claim
from .config import Settings
from .enrollment import (
    CreateResult,
    EnrollmentCore,
    EnrollmentStats,
    StatusCallback,
    VoiceInfo,
    WaitPolicy,
)
from .errors import (
    APIStatusError,
    CosyVoiceCloneError,
    InvalidRequestError,
    NotFoundError,
    SampleRejectedError,
    VoiceRejectedError,
)
from .evidence import design_output_dir, record_clone, record_design
from .http import (
    NO_RETRY,
    NOT_GIVEN,
    AsyncHttpClient,
    Flow,
    HttpClient,
    HttpStats,
    NotGiven,
    RetryCallback,
    RetryPolicy,
    Sleep,
)
from .models import (
    BatchItem,
    BatchReport,
    CloneResult,
    DesignResult,
    PingResult,
    SpeakingVoice,
    SpeechResult,
    Voice,
    parse_status,
)
from .registry import Registry, VoiceRecord, dedupe_key, endpoint_id
from .request import (
    CloneOptions,
    CloneRequest,
    CloneResponse,
    DesignRequest,
    PreviewAudio,
    normalize_clone_options,
    normalize_design_request,
)
from .upload import (
    LocalSample,
    data_uri,
    is_url,
    read_local_sample,
    sample_transport,
    short_sample_url,
    upload_flow,
)
from .voices import AsyncVoices, Voices, parse_age, speakable_flow

if TYPE_CHECKING:
    from .audio import CheckReport, FixResult
    from .speech import AsyncAudioStream, AudioStream
    from .synthesis.live import AsyncLiveSpeech, LiveSpeech
    from .synthesis.protocol import SynthesisOptions

DEFAULT_RATE_LIMIT = catalog.ENROLLMENT_REQUESTS_PER_SECOND * 0.9
"""Requests/s the client paces itself to (the service allows 10 enrollment requests/s)."""


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
    transport: str = "upload"
    """How ``local`` reaches the service: ``upload`` (oss://) or ``data-uri``."""
    force: bool = False
    """A new voice even if an identical one exists (no reuse, no claim)."""

    def sample_flow(self) -> Flow[str]:
        """The sample URL to send: the URL given, the upload's oss:// URL, or a data URI."""
        if self.local is None:
            assert self.sample_url is not None
            return self.sample_url
        if self.transport == "data-uri":
            return data_uri(self.local)
        url: str = yield from upload_flow(self.local)
        return url


_DATA_URI_NOTE = "data:"
"""What a claim records as the sample URL when the sample goes as a data URI."""


@dataclass(frozen=True)
class _DesignPlan:
    """A validated voice design, ready to run."""

    request: DesignRequest
    key: str
    reusable: VoiceRecord | None


class _ClientCore:
    """Settings, registry and the flows of every operation (no network I/O here)."""

    _http: HttpClient | AsyncHttpClient
    """Set by the sync or async client: the one that drives the flows."""

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
        evidence: bool = False,
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
        self._enrollment = EnrollmentCore(server_offset=self._server_offset)
        self.evidence = evidence
        """Whether clones write evidence files under ``settings.output_dir``."""

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
        sample_transport: str | None = None,
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
        local, url, transport = self._sample(source, options, sample_transport, warnings)
        check = None if skip_check else self._check(local, url, options, warnings)
        key = dedupe_key(
            options.fingerprint(),
            endpoint=self.endpoint,
            sample_sha256=local.sha256 if local else None,
            sample_url=url,
        )
        reusable = None if force else self.registry.find_reusable(key)
        if local is not None:  # absolute: speak refuses to overwrite a registered sample
            source = str(local.path.resolve())
        return _Plan(
            options, key, source, url, local, tuple(warnings), check, reusable, transport, force
        )

    def _sample(
        self, source: str, options: CloneOptions, transport: str | None, warnings: list[str]
    ) -> tuple[LocalSample | None, str | None, str]:
        """A sample URL as given, or a local file with the transport that will carry it."""
        if is_url(source):
            if transport is not None:
                warnings.append(f"--sample-transport {transport} applies to local files only")
            return None, options.with_sample(source).voice_sample_url, "url"
        local = read_local_sample(source)
        chosen, notice = sample_transport(self.region, transport)
        if chosen == "data-uri":
            data_uri(local)  # refuses a file type a data URI cannot name, before anything
        if notice:
            warnings.append(notice)
        return local, None, chosen

    def _check(
        self, local: LocalSample | None, url: str | None, options: CloneOptions, warnings: list[str]
    ) -> dict[str, Any] | None:
        """Run the local preflight; refuse a failing sample before anything is spent.

        Reports are cached per sample content (or URL) and model, so cloning one sample under
        many prefixes checks it once. An http(s) sample that can't be fetched from here is only
        a warning: the service may still reach it.
        """
        from .audio import check_sample
        from .errors import SampleDownloadError, SampleUnreadableError

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
                except (SampleUnreadableError, SampleDownloadError) as err:
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
            status=parse_status(status or record.status),
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
        request: CloneRequest | DesignRequest,
        response: CloneResponse | None,
        extra: dict[str, Any],
        warnings: list[str],
        preview: bytes | None = None,
    ) -> dict[str, Path]:
        """Write the evidence files; a failure to write is a warning, never an error.

        Evidence is written after the voice exists: losing the voice id to a full disk or an
        unusable output dir would orphan a voice that already uses a slot. Nothing is written
        unless the client was made with ``evidence=True``.
        """
        if not self.evidence:
            return {}
        if isinstance(request, CloneRequest) and request.voice_sample_url[:5].lower() == "data:":
            # megabytes of Base64: summarized
            request = replace(request, voice_sample_url=short_sample_url(request.voice_sample_url))
        extra = {"endpoint": self.endpoint, **extra}
        try:
            if isinstance(request, DesignRequest):
                return record_design(
                    design_output_dir(self.settings.output_dir),
                    request,
                    response,
                    preview=preview,
                    extra=extra,
                    secrets=(self._api_key,),
                )
            return record_clone(
                self.settings.output_dir, request, response, extra=extra, secrets=(self._api_key,)
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
        """Reuse, or claim + upload + create (+ wait); registers and writes evidence.

        An identical clone in progress in another process (same home) is waited for and its
        voice reused; one left behind by a killed process is looked for on the service first.
        """
        registry = self.registry
        options: dict[str, Any] = {"wait": wait, "timeout": timeout, "on_status": on_status}
        notes: list[str] = []
        if plan.reusable is not None:
            existing = plan.reusable
            usable, current = yield from self._reusable_status(existing, wait, timeout, on_status)
            if usable:
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
        claim: Claim | None = None
        if not plan.force:  # one create per identical clone, across processes too
            claim, found = yield from registry.claims.claim_or_wait(
                plan.key, lambda: registry.find_reusable(plan.key), Sleep
            )
            if found is not None:
                return (yield from self._clone_flow(replace(plan, reusable=found), **options))
        try:
            request, created = yield from self._create_flow(plan, claim)
            record = self._register(
                created.response,
                {
                    "target_model": request.target_model,
                    "prefix": request.prefix,
                    "options": plan.options.fingerprint(),
                    "key": plan.key,
                    "sample_url": short_sample_url(request.voice_sample_url),
                    "sample_sha256": plan.local.sha256 if plan.local else None,
                    "sample_source": plan.sample_source,
                    "origin": "adopted" if created.adopted else "created",
                },
                notes,
            )
        finally:
            if claim is not None:
                registry.claims.release(claim)
        response = created.response
        extra: dict[str, Any] = {
            "reused": False,
            "adopted": created.adopted,
            "attempts": created.attempts,
        }
        if created.adopted:
            extra["reconcile_request_id"] = created.reconcile_request_id
        evidence = self._evidence(request, response, extra, notes)
        status: str | None = VoiceStatus.DEPLOYING
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

    def _create_flow(
        self, plan: _Plan, claim: Claim | None
    ) -> Flow[tuple[CloneRequest, CreateResult]]:
        """Adopt what a dead claim owner created, or upload and create (noting the sample URL in
        the claim first, so that a process taking over after us can recognise the voice)."""
        known = self.registry.known_ids(prefix=plan.options.prefix, endpoint=self.endpoint)
        previous = claim.previous if claim is not None else None
        if previous is not None and previous.sample_url:
            sent = previous.sample_url
            if sent == _DATA_URI_NOTE:  # the same content makes the same data URI
                sent = yield from plan.sample_flow()
            request = plan.options.with_sample(sent)
            orphan, list_rid = yield from self._enrollment._reconcile(
                request, previous.started_at, time.time(), known
            )
            if orphan is not None:
                adopted = CreateResult(
                    CloneResponse(voice_id=orphan.voice_id),
                    adopted=True,
                    attempts=0,
                    reconcile_request_id=list_rid,
                )
                return request, adopted
        url = yield from plan.sample_flow()
        request = plan.options.with_sample(url)
        if claim is not None:  # a data URI (up to megabytes) is noted by its kind only
            self.registry.claims.note(claim, _DATA_URI_NOTE if url.startswith("data:") else url)
        try:
            created = yield from self._enrollment.create(request, known=known)
        except CosyVoiceCloneError as err:
            self._evidence(request, None, {"error": err.to_dict()}, [])
            raise
        return request, created

    def _reusable_status(
        self,
        existing: VoiceRecord,
        wait: bool,
        timeout: float,
        on_status: StatusCallback | None,
    ) -> Flow[tuple[bool, str | None]]:
        """``(usable, status)`` of a voice an identical earlier request made, after waiting if
        asked; not usable when it is gone or UNDEPLOYED (then a new one is made)."""
        try:
            info = yield from self._enrollment.query(existing.voice_id)
        except NotFoundError:
            self.registry.mark_deleted(existing.voice_id)
            return False, None
        self._observe(info)
        if info.status == VoiceStatus.UNDEPLOYED:
            return False, info.status
        current = info.status
        if wait and current != VoiceStatus.OK:
            current = yield from self._wait_flow(existing.voice_id, timeout, on_status)
        return True, current

    def _register(
        self, response: CloneResponse, fields: dict[str, Any], notes: list[str]
    ) -> VoiceRecord:
        """Register a voice that now exists; if the registry fails, keep going with a warning.

        ``fields``: target_model, prefix, options, key, sample_url, sample_sha256,
        sample_source, origin.
        """
        values: dict[str, Any] = {
            "region": self.region,
            "endpoint": self.endpoint,
            "request_id": response.request_id,
            "usage_count": response.usage_count,
            "status": VoiceStatus.DEPLOYING,
            **fields,
        }
        try:
            return self.registry.record_clone(response.voice_id, **values)
        except (sqlite3.Error, OSError, CosyVoiceCloneError) as exc:
            notes.append(
                f"voice {response.voice_id} was created but could not be registered ({exc}); "
                "`cosyvoice-clone voices sync` registers it later"
            )
            key = values.pop("key")
            return VoiceRecord(voice_id=response.voice_id, dedupe_key=key, **values)

    def _wait_flow(
        self, voice_id: str, timeout: float, on_status: StatusCallback | None
    ) -> Flow[str | None]:
        require_timeout(timeout)
        try:
            info = yield from self._enrollment.wait_until_ready(
                voice_id, WaitPolicy(timeout=timeout), on_status
            )
        except VoiceRejectedError:
            self.registry.set_status(voice_id, VoiceStatus.UNDEPLOYED)
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

    # -- design ---------------------------------------------------------------------------------

    def _plan_design(self, *, force: bool, **fields: Any) -> _DesignPlan:
        """Validate a design and look for an identical earlier one; sends nothing."""
        request = normalize_design_request(region=self.region, **fields)
        key = dedupe_key(request.fingerprint(), endpoint=self.endpoint)
        reusable = None if force else self.registry.find_reusable(key)
        return _DesignPlan(request, key, reusable)

    def _keep_preview(
        self, voice_id: str, preview: PreviewAudio | None, fmt: str, notes: list[str]
    ) -> Path | None:
        """Keep a design's preview under ``home/previews/`` (so a reused design has it too)."""
        if preview is None:
            return None
        path = self.settings.home / "previews" / f"{voice_id}.{preview.response_format or fmt}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(preview.data)
        except OSError as exc:
            notes.append(f"the preview could not be kept at {path}: {exc.strerror or exc}")
            return None
        return path

    def _design_flow(
        self,
        plan: _DesignPlan,
        *,
        wait: bool,
        timeout: float,
        on_status: StatusCallback | None,
    ) -> Flow[DesignResult]:
        """Reuse, or create (+ wait); keeps the preview, registers, writes evidence."""
        request = plan.request
        notes: list[str] = []
        result = DesignResult(
            voice_id="",
            target_model=request.target_model,
            prefix=request.prefix,
            region=self.region,
            status=None,
            voice_prompt=request.voice_prompt,
            preview_text=request.preview_text,
            language=request.language_hints[0] if request.language_hints else None,
            preview_format=request.response_format,
            preview_sample_rate=request.sample_rate,
        )
        existing = plan.reusable
        if existing is not None:
            usable, current = yield from self._reusable_status(existing, wait, timeout, on_status)
            if usable:
                kept = Path(existing.sample_source) if existing.sample_source else None
                data = kept.read_bytes() if kept is not None and kept.is_file() else None
                if data is None:
                    notes.append("the earlier preview of this voice is no longer kept")
                response = CloneResponse(existing.voice_id, None, 0)
                reuse = {"reused": True, "original_request_id": existing.request_id}
                evidence = self._evidence(request, response, reuse, notes)
                return replace(
                    result,
                    voice_id=existing.voice_id,
                    status=parse_status(current),
                    preview=data,
                    preview_path=str(kept) if data is not None else None,
                    usage_count=0,
                    reused=True,
                    original_request_id=existing.request_id,
                    warnings=request.warnings + tuple(notes),
                    evidence={k: str(v) for k, v in evidence.items()},
                )
        known = self.registry.known_ids(prefix=request.prefix, endpoint=self.endpoint)
        try:
            created = yield from self._enrollment.create(request, known=known)
        except CosyVoiceCloneError as err:
            self._evidence(request, None, {"error": err.to_dict()}, [])
            raise
        response, preview = created.response, created.preview
        if preview is None:
            notes.append(
                "no preview: the voice was found after an ambiguous failure, so the service's "
                "answer (and its preview) was lost"
                if created.adopted
                else "the service sent no preview audio"
            )
        kept_at = self._keep_preview(response.voice_id, preview, request.response_format, notes)
        self._register(
            response,
            {
                "target_model": request.target_model,
                "prefix": request.prefix,
                "options": request.fingerprint(),
                "key": plan.key,
                "sample_url": None,
                "sample_sha256": None,
                "sample_source": str(kept_at) if kept_at else None,
                "origin": "designed",
            },
            notes,
        )
        extra: dict[str, Any] = {"reused": False, "adopted": created.adopted}
        evidence = self._evidence(
            request, response, extra, notes, preview=preview.data if preview else None
        )
        status: str | None = VoiceStatus.DEPLOYING
        if wait:
            status = yield from self._wait_flow(response.voice_id, timeout, on_status)
        return replace(
            result,
            voice_id=response.voice_id,
            status=parse_status(status),
            preview=preview.data if preview else None,
            preview_format=(preview.response_format if preview else None)
            or request.response_format,
            preview_sample_rate=(preview.sample_rate if preview else None) or request.sample_rate,
            preview_path=str(kept_at) if kept_at else None,
            request_id=response.request_id,
            usage_count=response.usage_count,
            adopted=created.adopted,
            attempts=created.attempts,
            warnings=request.warnings + tuple(notes),
            evidence={k: str(v) for k, v in evidence.items()},
        )

    # -- voices ---------------------------------------------------------------------------------

    def _update_flow(
        self,
        voice_id: str,
        plan: _Plan,
        *,
        wait: bool,
        timeout: float,
        on_status: StatusCallback | None,
    ) -> Flow[Voice]:
        url = yield from plan.sample_flow()
        try:
            yield from self._enrollment.update(voice_id, url)
        except NotFoundError:
            if self.registry.get(voice_id) is not None:
                self.registry.mark_deleted(voice_id)
            raise
        if self.registry.get(voice_id) is None:
            info = yield from self._enrollment.query(voice_id)
            self._observe(info)
        self.registry.update_sample(
            voice_id,
            sample_url=short_sample_url(url),
            sample_sha256=plan.local.sha256 if plan.local else None,
            sample_source=plan.sample_source,
            key=plan.key,
            status=VoiceStatus.DEPLOYING,
        )
        if wait:
            yield from self._wait_flow(voice_id, timeout, on_status)
        info = yield from self._enrollment.query(voice_id)
        self._observe(info)
        voice = Voice.from_service(info, self.registry.get(voice_id))
        return replace(voice, warnings=plan.warnings)

    def _plan_update(
        self,
        voice_id: str,
        sample: str | Path,
        skip_check: bool,
        sample_transport: str | None = None,
    ) -> _Plan:
        record = self.registry.get(voice_id)
        id_model, id_prefix = catalog.split_voice_id(voice_id)
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
        local, url, transport = self._sample(source, options, sample_transport, warnings)
        check = None if skip_check else self._check(local, url, options, warnings)
        key = dedupe_key(
            options.fingerprint(),
            endpoint=self.endpoint,
            sample_sha256=local.sha256 if local else None,
            sample_url=url,
        )
        return _Plan(options, key, source, url, local, tuple(warnings), check, None, transport)

    # -- the faces' shared steps ----------------------------------------------------------

    def _preview_target(
        self, preview_out: str | Path | None, response_format: str | None, mkdir: bool
    ) -> tuple[Path | None, str | None]:
        """The file ``design`` writes the preview to (proven writable, never a registered
        voice's sample; nothing sent yet) and the preview format its extension implies."""
        if preview_out is None:
            return None, response_format
        from .audio.outfile import check_output_path
        from .speech import check_output

        path = Path(preview_out)
        check_output_path(path, "--preview-out", mkdir=mkdir)
        suffix = path.suffix.lower().lstrip(".")
        if response_format is None and suffix in ("wav", "mp3", "pcm", "opus"):
            response_format = suffix
        check_output(self, path, option="--preview-out", mkdir=mkdir)
        return path, response_format

    @staticmethod
    def _write_preview(result: DesignResult, path: Path | None, mkdir: bool) -> DesignResult:
        """Write the preview atomically to ``path``; a missing preview is a warning."""
        if path is None:
            return result
        if result.preview is None:
            return replace(result, warnings=(*result.warnings, f"no preview to write to {path}"))
        from .audio.outfile import write_atomic
        from .speech import make_folder

        audio = result.preview

        def write(tmp: Path) -> None:
            tmp.write_bytes(audio)

        if mkdir:
            make_folder(path)
        write_atomic(path, write)
        return replace(result, preview_out=str(path))

    def _ping_flow(self) -> Flow[PingResult]:
        """List one voice (free): whether the service accepts the key here."""
        started = time.monotonic()
        endpoint, region = self.settings.http_base, self.region
        try:
            yield from self._enrollment.list_page(page_size=1)
        except CosyVoiceCloneError as err:
            accepted = False if isinstance(err, APIStatusError) else None
            spent = time.monotonic() - started
            return PingResult(accepted, endpoint, region, spent, err.request_id, err)
        return PingResult(True, endpoint, region, time.monotonic() - started)

    @staticmethod
    def _speaking(voice: Voice, model: str) -> SpeakingVoice:
        return SpeakingVoice(voice.voice_id, model, voice.target_model, system=voice.system)


def live_session(
    client: _ClientCore,
    *,
    voice: str,
    model: str | None = None,
    format: str = "pcm",
    sample_rate: int | None = None,
    options: SynthesisOptions | None = None,
    max_message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
    max_task_weight: int = catalog.MAX_CHARS_PER_TASK,
    idle_timeout: float | None = None,
    **fields: Any,
) -> AsyncLiveSpeech:
    """A live speech session of either client (not open yet; see
    :mod:`cosyvoice_clone.synthesis.live`). Options are checked now (nothing is sent); the voice
    rules when the session opens, before it connects."""
    from .synthesis import AsyncSynthesizer
    from .synthesis.live import IDLE_FINISH_S, AsyncLiveSpeech
    from .synthesis.protocol import SynthesisOptions, check_language_hints
    from .synthesis.streaming import check_instruction

    if not voice:
        raise InvalidRequestError("no voice given", field="voice")
    if options is not None:
        if fields:
            raise InvalidRequestError(
                "pass either options= or separate option fields, not both", field="options"
            )
        opts = options.validate()
    else:
        if isinstance(fields.get("language_hints"), str):
            fields["language_hints"] = (fields["language_hints"],)
        elif fields.get("language_hints") is not None:
            fields["language_hints"] = tuple(fields["language_hints"])
        if sample_rate is None:
            sample_rate = catalog.default_sample_rate(format)
        try:
            opts = SynthesisOptions(format=format, sample_rate=sample_rate, **fields).validate()
        except TypeError as exc:
            raise InvalidRequestError(f"unknown synthesis option: {exc}", field="options") from None

    async def resolve() -> tuple[str, str, str | None]:
        from .speech import speakable

        chosen, chosen_model = await speakable(client, voice, model)
        check_language_hints(chosen_model, opts.language_hints)
        check_instruction(chosen_model, opts.instruction)
        return chosen.voice_id, chosen_model, chosen.target_model

    return AsyncLiveSpeech(
        AsyncSynthesizer.from_settings(client.settings),
        resolve,
        options=opts,
        max_message_weight=max_message_weight,
        max_task_weight=max_task_weight,
        idle_timeout=IDLE_FINISH_S if idle_timeout is None else idle_timeout,
    )


def _design_fields(
    prefix: Any,
    prompt: Any,
    preview_text: Any,
    target_model: Any,
    language: Any,
    sample_rate: Any,
    response_format: Any,
) -> dict[str, Any]:
    """``design``'s arguments under :func:`~.request.normalize_design_request`'s names."""
    return {
        "prefix": prefix,
        "voice_prompt": prompt,
        "preview_text": preview_text,
        "target_model": target_model,
        "language_hints": language,
        "sample_rate": sample_rate,
        "response_format": response_format,
    }


def _client_kwargs(
    settings: Settings,
    retry: RetryPolicy | NotGiven | None,
    rate_limit: float | NotGiven | None,
    timeout: Any,
) -> dict[str, Any]:
    """The HTTP client's settings: ``NOT_GIVEN`` is the default, ``None`` turns it off."""
    return {
        "workspace": settings.workspace,
        "retry": RetryPolicy.from_env() if isinstance(retry, NotGiven) else retry or NO_RETRY,
        "rate_limit": DEFAULT_RATE_LIMIT if isinstance(rate_limit, NotGiven) else rate_limit,
        "region": settings.region,
        "timeout": timeout,
        "pacing_home": settings.home,  # the account's limits, shared by processes of this home
    }


class CosyVoice(_ClientCore):
    """Synchronous client: clone voices, manage them, wait for them, speak."""

    _http: HttpClient

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
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        rate_limit: float | NotGiven | None = NOT_GIVEN,
        timeout: httpx.Timeout | float | None = None,
        on_retry: RetryCallback | None = None,
        evidence: bool = False,
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
            evidence=evidence,
        )
        self._http = HttpClient(
            self.settings.http_base,
            self._api_key,
            transport=transport,
            max_connections=max_connections,
            **_client_kwargs(self.settings, retry, rate_limit, timeout),
        )
        self._http.on_retry = on_retry
        self.voices = Voices(self)
        self._key_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _server_offset(self) -> float | None:
        return self._http.stats.server_offset

    @property
    def http_stats(self) -> HttpStats:
        """Requests, retries and failures of this client so far."""
        return self._http.stats

    @property
    def enrollment_stats(self) -> EnrollmentStats:
        """Create requests, reconciliations and adoptions of this client so far."""
        return self._enrollment.stats

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
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        skip_check: bool = False,
        on_status: StatusCallback | None = None,
        sample_transport: str | None = None,
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
            "sample_transport": sample_transport,
        }
        if wait:
            require_timeout(timeout)
        plan = self._plan_clone(**plan_args)
        with self._lock_for(plan.key):
            if not force:  # another thread may have cloned it meanwhile
                plan = replace(plan, reusable=self.registry.find_reusable(plan.key))
            return self._http.run(
                self._clone_flow(plan, wait=wait, timeout=timeout, on_status=on_status)
            )

    def design(
        self,
        *,
        prefix: str,
        prompt: str,
        preview_text: str | None = None,
        target_model: str | None = None,
        language: str | None = None,
        sample_rate: int | None = None,
        response_format: str | None = None,
        wait: bool = False,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        on_status: StatusCallback | None = None,
        preview_out: str | Path | None = None,
        mkdir: bool = False,
    ) -> DesignResult:
        """Design a voice from a text description (voice design); returns it with its preview.

        Validated first (nothing is sent for bad input: prompt <= 500 and preview text <= 200
        characters, Chinese or English; v3.5-plus/-flash, v3-plus/-flash; cn-beijing only). An
        identical earlier design is returned again (``force=True`` makes a new one); an
        ambiguous failure is reconciled, never duplicated. ``preview_out``: also write the
        preview there (proven writable before a slot is spent; its extension picks the
        preview format unless ``response_format`` is given).
        """
        target, response_format = self._preview_target(preview_out, response_format, mkdir)
        fields = _design_fields(
            prefix, prompt, preview_text, target_model, language, sample_rate, response_format
        )
        plan = self._plan_design(force=force, **fields)
        with self._lock_for(plan.key):
            if not force:
                plan = replace(plan, reusable=self.registry.find_reusable(plan.key))
            result = self._http.run(
                self._design_flow(plan, wait=wait, timeout=timeout, on_status=on_status)
            )
        return self._write_preview(result, target, mkdir)

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._key_locks.setdefault(key, threading.Lock())

    def wait(
        self,
        voice_id: str,
        *,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
    ) -> VoiceStatus | None:
        """Wait until a voice is OK; returns its status (raises on UNDEPLOYED or timeout)."""
        return parse_status(self._http.run(self._wait_flow(voice_id, timeout, on_status)))

    def resolve_voice(self, voice: str, *, model: str | None = None) -> SpeakingVoice:
        """The voice id, registry prefix or system voice ``voice`` if it may speak now, with
        the model it speaks with (deleted, UNDEPLOYED, DEPLOYING, unknown or ambiguous
        names and models it cannot use are refused; nothing is synthesized)."""
        chosen, chosen_model = self._http.run(speakable_flow(self, voice, model))
        return self._speaking(chosen, chosen_model)

    def speak(
        self,
        text: str,
        out: str | Path,
        *,
        voice: str,
        model: str | None = None,
        options: SynthesisOptions | None = None,
        format: str | None = None,
        sample_rate: int | None = None,
        volume: int | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        seed: int | None = None,
        instruction: str | None = None,
        language_hints: Sequence[str] | str | None = None,
        word_timestamps: bool | None = None,
        bit_rate: int | None = None,
        ssml: bool | None = None,
        markdown_filter: bool | None = None,
        timestamps: str | Path | None = None,
        mkdir: bool = False,
        concurrency: int = 4,
        retries: int = 3,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> SpeechResult:
        """Speak ``text`` with a voice id or registered prefix into one file.

        The voice must be able to speak (not deleted, not UNDEPLOYED, OK; a DEPLOYING one is
        asked once) with ``model`` (default: its own). Options: ``options=`` or the separate
        fields (the format defaults to the extension of ``out``). ``timestamps``: also write
        the word timings there (``.srt``, else JSON). ``mkdir``: create missing folders.
        """
        from .speech import aspeak

        fields = _speech_fields(
            format, sample_rate, volume, rate, pitch, seed, instruction, language_hints,
            word_timestamps, bit_rate, ssml, markdown_filter,
        )  # fmt: skip
        return run_sync(
            lambda: aspeak(
                self, text, out, voice=voice, model=model, options=options,
                concurrency=concurrency, retries=retries, on_progress=on_progress,
                mkdir=mkdir, timestamps=timestamps, **fields,
            )
        )  # fmt: skip

    def stream_speech(
        self,
        text: str,
        *,
        voice: str,
        model: str | None = None,
        format: str = "mp3",
        sample_rate: int | None = None,
        rate: float = 1.0,
        volume: int = 50,
        pitch: float = 1.0,
        instruction: str | None = None,
        concurrency: int = 4,
        retries: int = 2,
    ) -> AudioStream:
        """The encoded audio of ``text`` (any length) as ordered chunks: iterate it, close it.

        Returns once the first audio arrived: refusals and a failed first part raise here,
        before any byte. ``format``: one of ``catalog.STREAM_FORMATS``; ``sample_rate``
        defaults to ``catalog.default_sample_rate(format)``.
        """
        from .speech import AudioStream, open_stream

        loop = LoopThread("cosyvoice-stream")
        try:
            inner = loop.call(
                open_stream(
                    self, text, voice=voice, model=model, format=format,
                    sample_rate=sample_rate, rate=rate, volume=volume, pitch=pitch,
                    instruction=instruction, concurrency=concurrency, retries=retries,
                )
            )  # fmt: skip
        except BaseException:
            loop.stop()
            raise
        return AudioStream(loop, inner)

    def live(
        self,
        *,
        voice: str,
        model: str | None = None,
        format: str = "pcm",
        sample_rate: int | None = None,
        options: SynthesisOptions | None = None,
        volume: int | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        seed: int | None = None,
        instruction: str | None = None,
        language_hints: Sequence[str] | str | None = None,
        max_message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
        max_task_weight: int = catalog.MAX_CHARS_PER_TASK,
        idle_timeout: float | None = None,
    ) -> LiveSpeech:
        """Live speech: ``with cv.live(voice=v, format="pcm") as live: live.send(token) ...
        for chunk in live.audio(): ...`` (see :mod:`cosyvoice_clone.synthesis.live`)."""
        from .synthesis.live import LiveSpeech

        fields = _speech_fields(
            None, None, volume, rate, pitch, seed, instruction, language_hints,
            None, None, None, None,
        )  # fmt: skip
        return LiveSpeech(
            live_session(
                self, voice=voice, model=model, format=format, sample_rate=sample_rate,
                options=options, max_message_weight=max_message_weight,
                max_task_weight=max_task_weight, idle_timeout=idle_timeout, **fields,
            )
        )  # fmt: skip

    def speak_many(
        self,
        manifest: str | Path,
        *,
        results: str | Path | None = None,
        concurrency: int = 4,
        retries: int = 3,
        format: str | None = None,
        sample_rate: int | None = None,
        model: str | None = None,
        force: bool = False,
        on_item: Callable[[BatchItem], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        mkdir: bool = False,
    ) -> BatchReport:
        """Speak every row of a CSV/JSONL manifest, resumably (see
        :func:`cosyvoice_clone.speech.aspeak_many`)."""
        from .speech import aspeak_many

        return run_sync(
            lambda: aspeak_many(
                self, manifest, results=results, concurrency=concurrency, retries=retries,
                format=format, sample_rate=sample_rate, model=model, force=force,
                on_item=on_item, on_progress=on_progress, mkdir=mkdir,
            )
        )  # fmt: skip

    def check_sample(
        self, sample: str | Path | bytes, *, target_model: str | None = None
    ) -> CheckReport:
        """The local check of a sample (path, http(s) URL or bytes) for ``target_model``."""
        from .audio import check_sample

        return check_sample(sample, target_model)

    def fix_sample(
        self, sample: str | Path | bytes, out: str | Path, *, target_model: str | None = None
    ) -> FixResult:
        """Repair a sample into ``out`` (nothing written when it would still fail)."""
        from .audio import fix_sample

        return fix_sample(sample, out, target_model)

    def ping(self) -> PingResult:
        """Whether the service accepts the key at this endpoint (one free request)."""
        return self._http.run(self._ping_flow())

    def close(self) -> None:
        """Close the HTTP pool and the registry."""
        self._http.close()
        self._close_registry()

    def __enter__(self) -> CosyVoice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncCosyVoice(_ClientCore):
    """Asynchronous client with the same methods as :class:`CosyVoice`."""

    _http: AsyncHttpClient

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
        retry: RetryPolicy | NotGiven | None = NOT_GIVEN,
        rate_limit: float | NotGiven | None = NOT_GIVEN,
        timeout: httpx.Timeout | float | None = None,
        on_retry: RetryCallback | None = None,
        evidence: bool = False,
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
            evidence=evidence,
        )
        self._http = AsyncHttpClient(
            self.settings.http_base,
            self._api_key,
            transport=transport,
            max_connections=max_connections,
            **_client_kwargs(self.settings, retry, rate_limit, timeout),
        )
        self._http.on_retry = on_retry
        self.voices = AsyncVoices(self)
        self._key_locks: dict[str, asyncio.Lock] = {}

    def _server_offset(self) -> float | None:
        return self._http.stats.server_offset

    @property
    def http_stats(self) -> HttpStats:
        """Requests, retries and failures of this client so far."""
        return self._http.stats

    @property
    def enrollment_stats(self) -> EnrollmentStats:
        """Create requests, reconciliations and adoptions of this client so far."""
        return self._enrollment.stats

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
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        skip_check: bool = False,
        on_status: StatusCallback | None = None,
        sample_transport: str | None = None,
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
            "sample_transport": sample_transport,
        }
        if wait:
            require_timeout(timeout)
        plan = await asyncio.to_thread(lambda: self._plan_clone(**plan_args))
        async with self._key_locks.setdefault(plan.key, asyncio.Lock()):
            if not force:  # another task may have cloned it meanwhile
                found = await asyncio.to_thread(self.registry.find_reusable, plan.key)
                plan = replace(plan, reusable=found)
            return await self._http.run(
                self._clone_flow(plan, wait=wait, timeout=timeout, on_status=on_status)
            )

    async def design(
        self,
        *,
        prefix: str,
        prompt: str,
        preview_text: str | None = None,
        target_model: str | None = None,
        language: str | None = None,
        sample_rate: int | None = None,
        response_format: str | None = None,
        wait: bool = False,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        force: bool = False,
        on_status: StatusCallback | None = None,
        preview_out: str | Path | None = None,
        mkdir: bool = False,
    ) -> DesignResult:
        """Design a voice from a text description (voice design); returns it with its preview.

        Validated first (nothing is sent for bad input: prompt <= 500 and preview text <= 200
        characters, Chinese or English; v3.5-plus/-flash, v3-plus/-flash; cn-beijing only). An
        identical earlier design is returned again (``force=True`` makes a new one); an
        ambiguous failure is reconciled, never duplicated. ``preview_out``: also write the
        preview there (proven writable before a slot is spent; its extension picks the
        preview format unless ``response_format`` is given).
        """
        target, response_format = await asyncio.to_thread(
            self._preview_target, preview_out, response_format, mkdir
        )
        fields = _design_fields(
            prefix, prompt, preview_text, target_model, language, sample_rate, response_format
        )
        plan = await asyncio.to_thread(lambda: self._plan_design(force=force, **fields))
        async with self._key_locks.setdefault(plan.key, asyncio.Lock()):
            if not force:
                found = await asyncio.to_thread(self.registry.find_reusable, plan.key)
                plan = replace(plan, reusable=found)
            result = await self._http.run(
                self._design_flow(plan, wait=wait, timeout=timeout, on_status=on_status)
            )
        return await asyncio.to_thread(self._write_preview, result, target, mkdir)

    async def wait(
        self,
        voice_id: str,
        *,
        timeout: float = catalog.DEFAULT_WAIT_TIMEOUT,
        on_status: StatusCallback | None = None,
    ) -> VoiceStatus | None:
        """Wait until a voice is OK; returns its status (raises on UNDEPLOYED or timeout)."""
        flow = self._wait_flow(voice_id, timeout, on_status)
        return parse_status(await self._http.run(flow))

    async def resolve_voice(self, voice: str, *, model: str | None = None) -> SpeakingVoice:
        """The voice id, registry prefix or system voice ``voice`` if it may speak now, with
        the model it speaks with (deleted, UNDEPLOYED, DEPLOYING, unknown or ambiguous
        names and models it cannot use are refused; nothing is synthesized)."""
        chosen, chosen_model = await self._http.run(speakable_flow(self, voice, model))
        return self._speaking(chosen, chosen_model)

    async def speak(
        self,
        text: str,
        out: str | Path,
        *,
        voice: str,
        model: str | None = None,
        options: SynthesisOptions | None = None,
        format: str | None = None,
        sample_rate: int | None = None,
        volume: int | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        seed: int | None = None,
        instruction: str | None = None,
        language_hints: Sequence[str] | str | None = None,
        word_timestamps: bool | None = None,
        bit_rate: int | None = None,
        ssml: bool | None = None,
        markdown_filter: bool | None = None,
        timestamps: str | Path | None = None,
        mkdir: bool = False,
        concurrency: int = 4,
        retries: int = 3,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> SpeechResult:
        """Speak ``text`` with a voice id or registered prefix into one file.

        The voice must be able to speak (not deleted, not UNDEPLOYED, OK; a DEPLOYING one is
        asked once) with ``model`` (default: its own). Options: ``options=`` or the separate
        fields (the format defaults to the extension of ``out``). ``timestamps``: also write
        the word timings there (``.srt``, else JSON). ``mkdir``: create missing folders.
        """
        from .speech import aspeak

        fields = _speech_fields(
            format, sample_rate, volume, rate, pitch, seed, instruction, language_hints,
            word_timestamps, bit_rate, ssml, markdown_filter,
        )  # fmt: skip
        return await aspeak(
            self, text, out, voice=voice, model=model, options=options,
            concurrency=concurrency, retries=retries, on_progress=on_progress,
            mkdir=mkdir, timestamps=timestamps, **fields,
        )  # fmt: skip

    async def stream_speech(
        self,
        text: str,
        *,
        voice: str,
        model: str | None = None,
        format: str = "mp3",
        sample_rate: int | None = None,
        rate: float = 1.0,
        volume: int = 50,
        pitch: float = 1.0,
        instruction: str | None = None,
        concurrency: int = 4,
        retries: int = 2,
    ) -> AsyncAudioStream:
        """The encoded audio of ``text`` (any length) as ordered chunks: iterate it, close it.

        Returns once the first audio arrived: refusals and a failed first part raise here,
        before any byte. ``format``: one of ``catalog.STREAM_FORMATS``; ``sample_rate``
        defaults to ``catalog.default_sample_rate(format)``.
        """
        from .speech import open_stream

        return await open_stream(
            self, text, voice=voice, model=model, format=format, sample_rate=sample_rate,
            rate=rate, volume=volume, pitch=pitch, instruction=instruction,
            concurrency=concurrency, retries=retries,
        )  # fmt: skip

    def live(
        self,
        *,
        voice: str,
        model: str | None = None,
        format: str = "pcm",
        sample_rate: int | None = None,
        options: SynthesisOptions | None = None,
        volume: int | None = None,
        rate: float | None = None,
        pitch: float | None = None,
        seed: int | None = None,
        instruction: str | None = None,
        language_hints: Sequence[str] | str | None = None,
        max_message_weight: int = catalog.MAX_CHARS_PER_MESSAGE,
        max_task_weight: int = catalog.MAX_CHARS_PER_TASK,
        idle_timeout: float | None = None,
    ) -> AsyncLiveSpeech:
        """Live speech: ``async with cv.live(voice=v, format="pcm") as live: await
        live.send(token) ... async for chunk in live.audio(): ...`` (see
        :mod:`cosyvoice_clone.synthesis.live`)."""
        fields = _speech_fields(
            None, None, volume, rate, pitch, seed, instruction, language_hints,
            None, None, None, None,
        )  # fmt: skip
        return live_session(
            self, voice=voice, model=model, format=format, sample_rate=sample_rate,
            options=options, max_message_weight=max_message_weight,
            max_task_weight=max_task_weight, idle_timeout=idle_timeout, **fields,
        )  # fmt: skip

    async def speak_many(
        self,
        manifest: str | Path,
        *,
        results: str | Path | None = None,
        concurrency: int = 4,
        retries: int = 3,
        format: str | None = None,
        sample_rate: int | None = None,
        model: str | None = None,
        force: bool = False,
        on_item: Callable[[BatchItem], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        mkdir: bool = False,
    ) -> BatchReport:
        """Speak every row of a CSV/JSONL manifest, resumably (see
        :func:`cosyvoice_clone.speech.aspeak_many`)."""
        from .speech import aspeak_many

        return await aspeak_many(
            self, manifest, results=results, concurrency=concurrency, retries=retries,
            format=format, sample_rate=sample_rate, model=model, force=force,
            on_item=on_item, on_progress=on_progress, mkdir=mkdir,
        )  # fmt: skip

    async def check_sample(
        self, sample: str | Path | bytes, *, target_model: str | None = None
    ) -> CheckReport:
        """The local check of a sample (path, http(s) URL or bytes) for ``target_model``."""
        from .audio import check_sample

        return await asyncio.to_thread(check_sample, sample, target_model)

    async def fix_sample(
        self, sample: str | Path | bytes, out: str | Path, *, target_model: str | None = None
    ) -> FixResult:
        """Repair a sample into ``out`` (nothing written when it would still fail)."""
        from .audio import fix_sample

        return await asyncio.to_thread(fix_sample, sample, out, target_model)

    async def ping(self) -> PingResult:
        """Whether the service accepts the key at this endpoint (one free request)."""
        return await self._http.run(self._ping_flow())

    async def aclose(self) -> None:
        """Close the HTTP pool and the registry."""
        await self._http.aclose()
        await asyncio.to_thread(self._close_registry)

    async def __aenter__(self) -> AsyncCosyVoice:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _speech_fields(
    format: str | None,
    sample_rate: int | None,
    volume: int | None,
    rate: float | None,
    pitch: float | None,
    seed: int | None,
    instruction: str | None,
    language_hints: Sequence[str] | str | None,
    word_timestamps: bool | None,
    bit_rate: int | None,
    ssml: bool | None,
    markdown_filter: bool | None,
) -> dict[str, Any]:
    """The synthesis option fields given (``None``: the default)."""
    given = {
        "format": format,
        "sample_rate": sample_rate,
        "volume": volume,
        "rate": rate,
        "pitch": pitch,
        "seed": seed,
        "instruction": instruction,
        "language_hints": language_hints,
        "word_timestamps": word_timestamps,
        "bit_rate": bit_rate,
        "ssml": ssml,
        "markdown_filter": markdown_filter,
    }
    return {k: v for k, v in given.items() if v is not None}


__all__ = [
    "DEFAULT_RATE_LIMIT",
    "NOT_GIVEN",
    "AsyncCosyVoice",
    "AsyncVoices",
    "CloneResult",
    "CosyVoice",
    "DesignResult",
    "Voices",
    "live_session",
    "parse_age",
]
