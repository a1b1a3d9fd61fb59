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
``force=True``), uploads local files (cn-beijing), creates the voice without ever duplicating it
after an ambiguous failure, registers it, writes the evidence files and optionally waits until
it is ``OK``. Evidence files (the request and response, for support) are written only when
asked: ``CosyVoice(evidence=True)`` writes them under the output dir (the CLI does).

Everything without I/O lives in :class:`_ClientCore` as flows (generators of HTTP steps); the
sync and async classes only drive them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from . import catalog
from .catalog import VoiceStatus
from .checks import require_timeout
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
    CosyVoiceCloneError,
    InvalidRequestError,
    NotFoundError,
    SampleRejectedError,
    VoiceRejectedError,
)
from .evidence import record_clone
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
)
from .models import CloneResult, SpeechResult, Voice, parse_status
from .registry import Registry, VoiceRecord, dedupe_key, endpoint_id
from .request import CloneOptions, CloneRequest, CloneResponse, normalize_clone_options
from .upload import LocalSample, is_url, read_local_sample, require_upload_region, upload_flow
from .voices import DEFAULT_WAIT_TIMEOUT, AsyncVoices, Voices, parse_age

if TYPE_CHECKING:
    from .speech import BatchReport
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
        if local is not None:  # absolute: speak refuses to overwrite a registered sample
            source = str(local.path.resolve())
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
        request: CloneRequest,
        response: CloneResponse | None,
        extra: dict[str, Any],
        warnings: list[str],
    ) -> dict[str, Path]:
        """Write the evidence files; a failure to write is a warning, never an error.

        Evidence is written after the voice exists: losing the voice id to a full disk or an
        unusable output dir would orphan a voice that already uses a slot. Nothing is written
        unless the client was made with ``evidence=True``.
        """
        if not self.evidence:
            return {}
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
                info = yield from self._enrollment.query(existing.voice_id)
            except NotFoundError:
                registry.mark_deleted(existing.voice_id)
                info = None
            if info is not None:
                self._observe(info)  # an UNDEPLOYED voice is unusable: clone anew below
            if info is not None and info.status != VoiceStatus.UNDEPLOYED:
                current = info.status
                if wait and current != VoiceStatus.OK:
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
            created = yield from self._enrollment.create(request, known=known)
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
            "status": VoiceStatus.DEPLOYING,
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
                status=VoiceStatus.DEPLOYING,
                origin=fields["origin"],
            )

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
        url = plan.sample_url
        if plan.local is not None:
            url = yield from upload_flow(plan.local)
        assert url is not None
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
            sample_url=url,
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
        if wait:
            require_timeout(timeout)
        plan = self._plan_clone(**plan_args)
        with self._lock_for(plan.key):
            if not force:  # another thread may have cloned it meanwhile
                plan = replace(plan, reusable=self.registry.find_reusable(plan.key))
            return self._http.run(
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
        return self._http.run(self._wait_flow(voice_id, timeout, on_status))

    def speak(
        self,
        text: str,
        out: str | Path,
        *,
        voice: str,
        model: str | None = None,
        options: SynthesisOptions | None = None,
        concurrency: int = 4,
        retries: int = 3,
        on_progress: Callable[[int, int], None] | None = None,
        **fields: Any,
    ) -> SpeechResult:
        """Speak ``text`` with a voice id or registered prefix into one file.

        The voice must be able to speak (not deleted, not UNDEPLOYED, OK; a DEPLOYING one is
        asked once) with ``model`` (default: its own). Options: ``options=`` or the fields of
        :class:`~cosyvoice_clone.models.SynthesisOptions` (the format defaults to the
        extension of ``out``). See :func:`cosyvoice_clone.speech.aspeak`.
        """
        from .speech import aspeak
        from .synthesis.client import run_sync

        return run_sync(
            lambda: aspeak(
                self,
                text,
                out,
                voice=voice,
                model=model,
                options=options,
                concurrency=concurrency,
                retries=retries,
                on_progress=on_progress,
                **fields,
            )
        )

    def speak_many(self, manifest: str | Path, **kwargs: Any) -> BatchReport:
        """Speak every row of a CSV/JSONL manifest, resumably (see
        :func:`cosyvoice_clone.speech.aspeak_many` for the options)."""
        from .speech import aspeak_many
        from .synthesis.client import run_sync

        return run_sync(lambda: aspeak_many(self, manifest, **kwargs))

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
        if wait:
            require_timeout(timeout)
        plan = await asyncio.to_thread(lambda: self._plan_clone(**plan_args))
        lock = self._key_locks.setdefault(plan.key, asyncio.Lock())
        async with lock:
            if not force:  # another task may have cloned it meanwhile
                plan = replace(plan, reusable=self.registry.find_reusable(plan.key))
            return await self._http.run(
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
        return await self._http.run(self._wait_flow(voice_id, timeout, on_status))

    async def speak(
        self,
        text: str,
        out: str | Path,
        *,
        voice: str,
        model: str | None = None,
        options: SynthesisOptions | None = None,
        concurrency: int = 4,
        retries: int = 3,
        on_progress: Callable[[int, int], None] | None = None,
        **fields: Any,
    ) -> SpeechResult:
        """Speak ``text`` with a voice into one file (see :meth:`CosyVoice.speak`)."""
        from .speech import aspeak

        return await aspeak(
            self, text, out, voice=voice, model=model, options=options,
            concurrency=concurrency, retries=retries, on_progress=on_progress, **fields,
        )  # fmt: skip

    async def speak_many(self, manifest: str | Path, **kwargs: Any) -> BatchReport:
        """Speak every row of a manifest, resumably (see :func:`.speech.aspeak_many`)."""
        from .speech import aspeak_many

        return await aspeak_many(self, manifest, **kwargs)

    async def aclose(self) -> None:
        """Close the HTTP pool and the registry."""
        await self._http.aclose()
        self._close_registry()

    async def __aenter__(self) -> AsyncCosyVoice:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "DEFAULT_RATE_LIMIT",
    "NOT_GIVEN",
    "AsyncCosyVoice",
    "AsyncVoices",
    "CloneResult",
    "CosyVoice",
    "Voices",
    "parse_age",
]
