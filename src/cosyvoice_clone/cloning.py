"""Clone, design and update: validated plans (nothing sent) and their flows (reuse, claim,
upload, create, reconcile, register, evidence, wait), each taking a :class:`~.session.Session`.
The identical-request dedupe key is :func:`~.registry.dedupe_key` over the plan's fingerprint.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import catalog
from .catalog import VoiceStatus
from .checks import require_timeout
from .claims import Claim
from .enrollment import CreateResult, StatusCallback
from .errors import (
    CosyVoiceCloneError,
    InvalidRequestError,
    NotFoundError,
    VoiceNotRecordedError,
)
from .http import Flow, Sleep
from .models import CloneResult, DesignResult, Voice, VoiceRecord, parse_status
from .registry import dedupe_key
from .request import (
    CloneOptions,
    CloneRequest,
    CloneResponse,
    DesignRequest,
    PreviewAudio,
    normalize_clone_options,
    normalize_design_request,
)
from .session import Session
from .upload import LocalSample, data_uri, short_sample_url, upload_flow


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
_DESIGN_NOTE = "design"
"""What a design's claim records right before its create (a take-over then reconciles)."""


@dataclass(frozen=True)
class _DesignPlan:
    """A validated voice design, ready to run."""

    request: DesignRequest
    key: str
    reusable: VoiceRecord | None
    force: bool = False


def plan_clone(
    session: Session,
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
        region=session.region,
    )
    warnings = list(options.warnings)
    source = str(sample).strip()
    if not source:
        raise InvalidRequestError("missing sample: pass a file path or a URL", field="sample")
    local, url, transport = session.read_sample(source, options, sample_transport, warnings)
    check = None if skip_check else session.check(local, url, options, warnings)
    key = dedupe_key(
        options.fingerprint(),
        endpoint=session.endpoint,
        sample_sha256=local.sha256 if local else None,
        sample_url=url,
    )
    reusable = None if force else session.registry.find_reusable(key)
    if local is not None:  # absolute: speak refuses to overwrite a registered sample
        source = str(local.path.resolve())
    return _Plan(
        options, key, source, url, local, tuple(warnings), check, reusable, transport, force
    )


def clone_result(
    session: Session,
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
        region=session.region,
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


def clone_flow(
    session: Session,
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
    require_timeout(timeout)  # checked even without wait: a bad value is a mistake
    registry = session.registry
    options: dict[str, Any] = {"wait": wait, "timeout": timeout, "on_status": on_status}
    notes: list[str] = []
    if plan.reusable is not None:
        existing = plan.reusable
        usable, current = yield from session.reusable_status(existing, wait, timeout, on_status)
        if usable:
            request = plan.options.with_sample(existing.sample_url or plan.sample_source)
            # No create_voice was sent: no request id and no slot for this call.
            response = CloneResponse(existing.voice_id, None, 0)
            evidence = session.write_evidence(
                request,
                response,
                {"reused": True, "original_request_id": existing.request_id},
                notes,
            )
            return clone_result(
                session,
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
            return (yield from clone_flow(session, replace(plan, reusable=found), **options))
    registered_notes = len(notes)
    try:
        request, created = yield from create_flow(session, plan, claim)
        record = session.register(
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
            _release(session, claim, notes)
    response = created.response
    unrecorded = _unrecorded(session, response.voice_id, notes[registered_notes:])
    extra: dict[str, Any] = {
        "reused": False,
        "adopted": created.adopted,
        "attempts": created.attempts,
    }
    if created.adopted:
        extra["reconcile_request_id"] = created.reconcile_request_id
    evidence = session.write_evidence(request, response, extra, notes)
    status: str | None = VoiceStatus.DEPLOYING
    if wait and unrecorded is None:
        status = yield from session.wait_flow(response.voice_id, timeout, on_status)
    result = clone_result(
        session,
        plan,
        record,
        reused=False,
        adopted=created.adopted,
        attempts=created.attempts,
        evidence=evidence,
        status=status,
        warnings=tuple(notes),
    )
    if unrecorded is not None:
        raise VoiceNotRecordedError(response.voice_id, unrecorded, result=result)
    return result


_LOCAL_FAILURES = (CosyVoiceCloneError, sqlite3.Error, OSError)
"""What a local write can raise once a voice exists (a full disk, a read-only home ...)."""


def _release(session: Session, claim: Claim, notes: list[str]) -> None:
    """Give the clone claim up; a failure is a note, never an error (the voice may exist by
    now): the claim goes stale and the next run takes it over."""
    try:
        session.registry.claims.release(claim)
    except _LOCAL_FAILURES as exc:
        notes.append(f"the clone claim could not be released ({exc}); the next run takes it over")


def _unrecorded(session: Session, voice_id: str, notes: list[str]) -> str | None:
    """Why the registry has no record of a voice just created (``None``: it has one)."""
    for note in notes:  # Session.register's note says why it failed
        found = re.search(r"could not be registered \((.*)\); ", note)
        if found:
            return found.group(1)
    try:
        return None if session.registry.get(voice_id) is not None else "the registry missed it"
    except _LOCAL_FAILURES as exc:
        return str(exc)


def create_flow(
    session: Session, plan: _Plan, claim: Claim | None
) -> Flow[tuple[CloneRequest, CreateResult]]:
    """Adopt what a dead claim owner created, or upload and create (noting the sample URL in
    the claim first, so that a process taking over after us can recognise the voice)."""
    known = session.registry.known_ids(prefix=plan.options.prefix, endpoint=session.endpoint)
    previous = claim.previous if claim is not None else None
    if previous is not None and previous.sample_url:
        sent = previous.sample_url
        if sent == _DATA_URI_NOTE:  # the same content makes the same data URI
            sent = yield from plan.sample_flow()
        request = plan.options.with_sample(sent)
        orphan, list_rid = yield from session.enrollment._reconcile(
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
        session.registry.claims.note(claim, _DATA_URI_NOTE if url.startswith("data:") else url)
    try:
        created = yield from session.enrollment.create(request, known=known)
    except CosyVoiceCloneError as err:
        session.write_evidence(request, None, {"error": err.to_dict()}, [])
        raise
    return request, created


def plan_design(session: Session, *, force: bool, **fields: Any) -> _DesignPlan:
    """Validate a design and look for an identical earlier one; sends nothing."""
    request = normalize_design_request(region=session.region, **fields)
    key = dedupe_key(request.fingerprint(), endpoint=session.endpoint)
    reusable = None if force else session.registry.find_reusable(key)
    return _DesignPlan(request, key, reusable, force)


def keep_preview(
    session: Session, voice_id: str, preview: PreviewAudio | None, fmt: str, notes: list[str]
) -> Path | None:
    """Keep a design's preview under ``home/previews/`` (so a reused design has it too)."""
    if preview is None:
        return None
    path = session.settings.home / "previews" / f"{voice_id}.{preview.response_format or fmt}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(preview.data)
    except OSError as exc:
        notes.append(f"the preview could not be kept at {path}: {exc.strerror or exc}")
        return None
    return path


def design_flow(
    session: Session,
    plan: _DesignPlan,
    *,
    wait: bool,
    timeout: float,
    on_status: StatusCallback | None,
) -> Flow[DesignResult]:
    """Reuse, or create (+ wait); keeps the preview, registers, writes evidence."""
    require_timeout(timeout)  # checked even without wait: a bad value is a mistake
    request = plan.request
    notes: list[str] = []
    result = DesignResult(
        voice_id="",
        target_model=request.target_model,
        prefix=request.prefix,
        region=session.region,
        status=None,
        voice_prompt=request.voice_prompt,
        preview_text=request.preview_text,
        language=request.language_hints[0] if request.language_hints else None,
        preview_format=request.response_format,
        preview_sample_rate=request.sample_rate,
    )
    existing = plan.reusable
    if existing is not None:
        usable, current = yield from session.reusable_status(existing, wait, timeout, on_status)
        if usable:
            kept = Path(existing.sample_source) if existing.sample_source else None
            data = kept.read_bytes() if kept is not None and kept.is_file() else None
            if data is None:
                notes.append("the earlier preview of this voice is no longer kept")
            response = CloneResponse(existing.voice_id, None, 0)
            reuse = {"reused": True, "original_request_id": existing.request_id}
            evidence = session.write_evidence(request, response, reuse, notes)
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
    claim: Claim | None = None
    if not plan.force:  # one create per identical design, across processes and replicas too
        claim, found = yield from session.registry.claims.claim_or_wait(
            plan.key, lambda: session.registry.find_reusable(plan.key), Sleep
        )
        if found is not None:
            options: dict[str, Any] = {"wait": wait, "timeout": timeout, "on_status": on_status}
            return (yield from design_flow(session, replace(plan, reusable=found), **options))
    try:
        created, kept_at, unrecorded = yield from _design_create(session, plan, claim, notes)
    finally:
        if claim is not None:
            _release(session, claim, notes)
    response, preview = created.response, created.preview
    extra: dict[str, Any] = {"reused": False, "adopted": created.adopted}
    evidence = session.write_evidence(
        request, response, extra, notes, preview=preview.data if preview else None
    )
    status: str | None = VoiceStatus.DEPLOYING
    if wait and unrecorded is None:
        status = yield from session.wait_flow(response.voice_id, timeout, on_status)
    designed = replace(
        result,
        voice_id=response.voice_id,
        status=parse_status(status),
        preview=preview.data if preview else None,
        preview_format=(preview.response_format if preview else None) or request.response_format,
        preview_sample_rate=(preview.sample_rate if preview else None) or request.sample_rate,
        preview_path=str(kept_at) if kept_at else None,
        request_id=response.request_id,
        usage_count=response.usage_count,
        adopted=created.adopted,
        attempts=created.attempts,
        warnings=request.warnings + tuple(notes),
        evidence={k: str(v) for k, v in evidence.items()},
    )
    if unrecorded is not None:
        raise VoiceNotRecordedError(response.voice_id, unrecorded, result=designed)
    return designed


def _design_create(
    session: Session, plan: _DesignPlan, claim: Claim | None, notes: list[str]
) -> Flow[tuple[CreateResult, Path | None, str | None]]:
    """Adopt what a dead claim owner designed, or create; keep the preview and register.

    Returns the outcome, where the preview is kept, and why the registry has no record of the
    voice (``None``: it has one)."""
    request = plan.request
    known = session.registry.known_ids(prefix=request.prefix, endpoint=session.endpoint)
    created: CreateResult | None = None
    previous = claim.previous if claim is not None else None
    if previous is not None and previous.sample_url:  # a dead designer: adopt what it made
        orphan, list_rid = yield from session.enrollment._reconcile(
            request, previous.started_at, time.time(), known
        )
        if orphan is not None:
            created = CreateResult(
                CloneResponse(voice_id=orphan.voice_id),
                adopted=True,
                attempts=0,
                reconcile_request_id=list_rid,
            )
    if created is None:
        if claim is not None:
            session.registry.claims.note(claim, _DESIGN_NOTE)
        try:
            created = yield from session.enrollment.create(request, known=known)
        except CosyVoiceCloneError as err:
            session.write_evidence(request, None, {"error": err.to_dict()}, [])
            raise
    response, preview = created.response, created.preview
    if preview is None:
        notes.append(
            "no preview: the voice was found after an ambiguous failure, so the service's "
            "answer (and its preview) was lost"
            if created.adopted
            else "the service sent no preview audio"
        )
    kept_at = keep_preview(session, response.voice_id, preview, request.response_format, notes)
    registered_notes = len(notes)
    session.register(
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
    unrecorded = _unrecorded(session, response.voice_id, notes[registered_notes:])
    return created, kept_at, unrecorded


# -- voices ---------------------------------------------------------------------------------


def update_flow(
    session: Session,
    voice_id: str,
    plan: _Plan,
    *,
    wait: bool,
    timeout: float,
    on_status: StatusCallback | None,
) -> Flow[Voice]:
    require_timeout(timeout)  # before the sample is uploaded or the update sent, wait or not
    url = yield from plan.sample_flow()
    try:
        yield from session.enrollment.update(voice_id, url)
    except NotFoundError:
        if session.registry.get(voice_id) is None:
            raise
        session.registry.mark_deleted(voice_id)
        from .voices import deleted_error

        record = session.registry.get(voice_id)
        raise deleted_error(voice_id, record.deleted_at if record else None, sent=True) from None
    if session.registry.get(voice_id) is None:
        info = yield from session.enrollment.query(voice_id)
        session.observe(info)
    try:
        session.registry.update_sample(
            voice_id,
            sample_url=short_sample_url(url),
            sample_sha256=plan.local.sha256 if plan.local else None,
            sample_source=plan.sample_source,
            key=plan.key,
            status=VoiceStatus.DEPLOYING,
        )
    except _LOCAL_FAILURES as exc:
        raise VoiceNotRecordedError(voice_id, str(exc), done="updated") from None
    if wait:
        yield from session.wait_flow(voice_id, timeout, on_status)
    info = yield from session.enrollment.query(voice_id)
    session.observe(info)
    voice = Voice.from_service(info, session.registry.get(voice_id))
    return replace(voice, warnings=plan.warnings)


def plan_update(
    session: Session,
    voice_id: str,
    sample: str | Path,
    skip_check: bool,
    sample_transport: str | None = None,
) -> _Plan:
    record = session.registry.get(voice_id)
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
        region=session.region,
    )
    warnings: list[str] = []
    source = str(sample).strip()
    local, url, transport = session.read_sample(source, options, sample_transport, warnings)
    check = None if skip_check else session.check(local, url, options, warnings)
    key = dedupe_key(
        options.fingerprint(),
        endpoint=session.endpoint,
        sample_sha256=local.sha256 if local else None,
        sample_url=url,
    )
    return _Plan(options, key, source, url, local, tuple(warnings), check, None, transport)


# -- the faces' shared steps ----------------------------------------------------------


def preview_target(
    session: Session, preview_out: str | Path | None, response_format: str | None, mkdir: bool
) -> tuple[Path | None, str | None]:
    """The file ``design`` writes the preview to (proven writable, never a registered
    voice's sample; nothing sent yet) and the preview format its extension implies."""
    if preview_out is None:
        return None, response_format
    from .audio.outfile import check_output_path
    from .session import check_output
    from .synthesis.protocol import extension_format, format_for_path

    path = Path(preview_out)
    check_output_path(path, "--preview-out", mkdir=mkdir)
    # One rule with speak: an extension that names another format than the one asked for is
    # refused; an unknown extension needs the format (else the default preview format).
    if response_format is not None or extension_format(path) is not None:
        response_format = format_for_path(path, response_format)
    check_output(session, path, option="--preview-out", mkdir=mkdir)
    return path, response_format


def write_preview(result: DesignResult, path: Path | None, mkdir: bool) -> DesignResult:
    """Write the preview atomically to ``path``; a missing preview is a warning."""
    if path is None:
        return result
    if result.preview is None:
        return replace(result, warnings=(*result.warnings, f"no preview to write to {path}"))
    from .audio.outfile import write_atomic
    from .session import make_folder

    audio = result.preview

    def write(tmp: Path) -> None:
        tmp.write_bytes(audio)

    try:
        if mkdir:
            make_folder(path)
        write_atomic(path, write)
    except _LOCAL_FAILURES as exc:  # the voice exists: say so, with its id
        what = f"its preview could not be written to {path}"
        done = "reused" if result.reused else "created"
        raise VoiceNotRecordedError(result.voice_id, str(exc), result=result, done=done,
                                    what=what) from None  # fmt: skip
    return replace(result, preview_out=str(path))


def design_fields(
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
