"""The state every operation works on: settings, key, registry (with its claims), the
enrollment core and the flows they share (sample reading and checking, registering, evidence,
waiting). Operations (:mod:`.cloning`, :mod:`.voices`, :mod:`.speech`) take a :class:`Session`;
the faces (:mod:`.client`) are sessions that also own the HTTP driver (``http``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from . import catalog
from ._flow import blocking
from .catalog import VoiceStatus
from .checks import check_client_arguments, require_timeout
from .config import Settings
from .enrollment import EnrollmentCore, StatusCallback, VoiceInfo, WaitPolicy
from .errors import (
    APIStatusError,
    CosyVoiceCloneError,
    InvalidRequestError,
    NextStep,
    NotFoundError,
    SampleRejectedError,
    StepKind,
    VoiceRejectedError,
)
from .evidence import design_output_dir, record_clone, record_design
from .http import NO_RETRY, AsyncHttpClient, Flow, HttpClient, NotGiven, RetryPolicy
from .models import PingResult, SpeakingVoice, Voice, VoiceRecord
from .registry import Registry, endpoint_id
from .request import CloneOptions, CloneRequest, CloneResponse, DesignRequest
from .state import open_state
from .upload import (
    LocalSample,
    data_uri,
    is_url,
    read_local_sample,
    sample_transport,
    short_sample_url,
)

DEFAULT_RATE_LIMIT = catalog.ENROLLMENT_REQUESTS_PER_SECOND * 0.9
"""Requests/s the client paces itself to (the service allows 10 enrollment requests/s)."""


class HasRegistry(Protocol):
    """Anything with a voice registry (a session or a face)."""

    @property
    def registry(self) -> Registry: ...


class Session:
    """Settings, registry and the flows of every operation (no network I/O here)."""

    http: HttpClient | AsyncHttpClient | None = None
    """Set by the sync or async client: the driver of the flows (speech resolves voices with it)."""

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
        check_client_arguments(
            region=region, api_key=api_key, home=home, output_dir=output_dir,
            http_base=http_base, websocket_url=websocket_url, workspace=workspace,
            settings=settings, evidence=evidence,
        )  # fmt: skip
        self.settings = settings or Settings.resolve(
            region=region,
            api_key=api_key,
            home=home,
            output_dir=output_dir,
            http_base=http_base,
            websocket_url=websocket_url,
            workspace=workspace,
        )
        self.api_key = self.settings.require_key()
        self.state = open_state(
            self.settings.state_url, home=self.settings.home, account=self.api_key
        )
        """Pacing, claims and voice index shared with other replicas (files under the home by
        default); opened and probed here, so an unusable ``--state-url`` fails at start."""
        self.region = self.settings.region
        self.endpoint = endpoint_id(self.settings.http_base, self.settings.http_base_source)
        self._registry: Registry | None = None
        self._registry_lock = threading.Lock()
        self._check_cache: dict[str, Any] = {}
        self._check_lock = threading.Lock()
        self.enrollment = EnrollmentCore(server_offset=self.server_offset)
        self.evidence = evidence
        """Whether clones write evidence files under ``settings.output_dir``."""
        # network hook (issue 24): one synthesis connection pool per session
        self.warm_connections = 0
        self.renew_connections_after = 30.0
        self._connections: Any = None
        self._warming: Any = None

    def connections(self) -> Any:
        """The session's synthesis connection pool (a :class:`~.synthesis.connect.ConnectionPool`,
        made on first use)."""
        if self._connections is None:
            from .synthesis.connect import ConnectionPool

            self._connections = ConnectionPool(renew_after=self.renew_connections_after)
        return self._connections

    def start_warming(self) -> None:
        """Start warming ``warm_connections`` in the background (async faces inside a loop)."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if (
            self.warm_connections
            and self._warming is None
            and isinstance(self.http, AsyncHttpClient)
        ):
            self._warming = loop.create_task(self.warm_synthesis(None))

    async def warm_synthesis(self, count: int | None) -> int:
        """Open ``count`` (default: ``warm_connections`` or 1) synthesis connections now and keep
        them warm; returns how many are open."""
        from .synthesis.client import AsyncSynthesizer

        pool = self.connections()
        endpoint = AsyncSynthesizer.from_settings(self.settings, connector=pool).endpoint
        opened: int = await pool.warm(endpoint, count or self.warm_connections or 1)
        return opened

    async def warmed(self) -> None:
        """Wait for the background warming (its failure is raised here, once)."""
        task, self._warming = self._warming, None
        if task is not None:
            await task

    async def close_connections(self) -> None:
        """Close the synthesis connections (no-op before the first)."""
        task, self._warming = self._warming, None
        if task is not None:
            task.cancel()
        if self._connections is not None:
            await self._connections.aclose()

    def server_offset(self) -> float | None:
        """Seconds the service's clock is ahead of ours, as the HTTP driver measured it."""
        return None if self.http is None else self.http.stats.server_offset

    @property
    def registry(self) -> Registry:
        """The voice registry in the home dir (opened on first use)."""
        with self._registry_lock:
            if self._registry is None:
                self._registry = Registry(self.settings.home, state=self.state)
            return self._registry

    def close_registry(self) -> None:
        with self._registry_lock:
            if self._registry is not None:
                self._registry.close()
                self._registry = None

    # -- clone ----------------------------------------------------------------------------------

    def read_sample(
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

    def check(
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
                next_step=NextStep.of(StepKind.SKIP_CHECK, sample=str(source)),
                api_code=report.service_code,
            )
        warnings.extend(f"sample: {p.message}" for p in problems if p.severity == "warn")
        data: dict[str, Any] = report.to_dict()
        return data

    def write_evidence(
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
                    secrets=(self.api_key,),
                )
            return record_clone(
                self.settings.output_dir, request, response, extra=extra, secrets=(self.api_key,)
            )
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            warnings.append(
                f"evidence could not be written to {self.settings.output_dir}: {reason}"
                + (f" (voice {response.voice_id} is registered)" if response else "")
            )
            return {}

    def register(
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

    def wait_flow(
        self, voice_id: str, timeout: float, on_status: StatusCallback | None
    ) -> Flow[str | None]:
        require_timeout(timeout)
        try:
            info = yield from self.enrollment.wait_until_ready(
                voice_id, WaitPolicy(timeout=timeout), on_status
            )
        except VoiceRejectedError:
            yield from blocking(lambda: self.registry.set_status(voice_id, VoiceStatus.UNDEPLOYED))
            raise
        yield from blocking(self.observe, info)
        return info.status

    def observe(self, info: VoiceInfo) -> None:
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

    def reusable_status(
        self,
        existing: VoiceRecord,
        wait: bool,
        timeout: float,
        on_status: StatusCallback | None,
    ) -> Flow[tuple[bool, str | None]]:
        """``(usable, status)`` of a voice an identical earlier request made, after waiting if
        asked; not usable when it is gone or UNDEPLOYED (then a new one is made)."""
        try:
            info = yield from self.enrollment.query(existing.voice_id)
        except NotFoundError:
            yield from blocking(lambda: self.registry.mark_deleted(existing.voice_id))
            return False, None
        yield from blocking(self.observe, info)
        if info.status == VoiceStatus.UNDEPLOYED:
            return False, info.status
        current = info.status
        if wait and current != VoiceStatus.OK:
            current = yield from self.wait_flow(existing.voice_id, timeout, on_status)
        return True, current

    def ping_flow(self) -> Flow[PingResult]:
        """List one voice (free): whether the service accepts the key here."""
        started = time.monotonic()
        endpoint, region = self.settings.http_base, self.region
        try:
            yield from self.enrollment.list_page(page_size=1)
        except CosyVoiceCloneError as err:
            accepted = False if isinstance(err, APIStatusError) else None
            spent = time.monotonic() - started
            return PingResult(accepted, endpoint, region, spent, err.request_id, err)
        return PingResult(True, endpoint, region, time.monotonic() - started)

    @staticmethod
    def speaking(voice: Voice, model: str) -> SpeakingVoice:
        return SpeakingVoice(voice.voice_id, model, voice.target_model, system=voice.system)


def make_folder(path: Path) -> None:
    """Create the folder of an output file (``--mkdir``); one clear error when it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot create the folder {path.parent}: {exc.strerror or exc}", field="out"
        ) from None


def check_output(
    client: HasRegistry | None, path: str | Path, *, option: str = "--out", mkdir: bool = False
) -> Path:
    """The file to write for ``path`` (:func:`~cosyvoice_clone.audio.outfile.check_target`),
    refusing a file the registry knows as a voice's reference sample (by path or content):
    a recording is never overwritten by speech. Sends nothing."""
    from .audio.outfile import check_target

    real = check_target(path, option=option, mkdir=mkdir)
    if client is None or not real.is_file():
        return real
    owner = client.registry.sample_owner(real)
    if owner is not None:
        named = f" ({owner.prefix})" if owner.prefix else ""
        raise InvalidRequestError(
            f"refusing to overwrite {option} {path}: it is the reference sample of voice "
            f"{owner.voice_id}{named}",
            field=option.lstrip("-").replace("-", "_"),
            hint="choose another file name; the recording is left as it is",
        )
    return real


def http_settings(
    settings: Settings,
    retry: RetryPolicy | NotGiven | None,
    rate_limit: float | NotGiven | None,
    timeout: Any,
) -> dict[str, Any]:
    """The HTTP client's settings: ``NOT_GIVEN`` is the default, ``None`` turns it off."""
    check_client_arguments(retry=retry, rate_limit=rate_limit, timeout=timeout)
    return {
        "workspace": settings.workspace,
        "retry": RetryPolicy.from_env() if isinstance(retry, NotGiven) else retry or NO_RETRY,
        "rate_limit": DEFAULT_RATE_LIMIT if isinstance(rate_limit, NotGiven) else rate_limit,
        "region": settings.region,
        "timeout": timeout,
        "pacing_home": settings.home,  # the account's limits, shared by processes of this home
    }


__all__ = [
    "DEFAULT_RATE_LIMIT",
    "HasRegistry",
    "Session",
    "check_output",
    "http_settings",
    "make_folder",
]
