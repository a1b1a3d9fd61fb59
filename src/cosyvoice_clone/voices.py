"""Voices: THE resolver of a voice name, the rules for speaking, and voice management.

:func:`resolve` turns a voice id or a registry prefix into a :class:`~.models.Voice`; every entry
point (library, CLI, MCP, HTTP server) goes through it. :func:`speakable_flow` adds the rules
for speaking, in this order, nothing sent before a refusal:

- deleted (the registry recorded it) -> :class:`~.errors.VoiceDeletedError`
- UNDEPLOYED (rejected in review) -> :class:`~.errors.VoiceRejectedError`
- DEPLOYING -> asked once (a free query); still not OK -> :class:`~.errors.VoiceDeployingError`
- a model other than the voice's -> :class:`~.errors.ModelMismatchError`
- a system voice of the catalog (``catalog.SYSTEM_VOICES``, e.g. ``longxiaochun_v2``) speaks
  with the models the catalog lists for it: no model given -> its default model (the first
  listed, the one an official voice table places it under; the others are inferred, so the
  documented one is the safe choice rather than "the newest"); another model ->
  :class:`~.errors.ModelMismatchError`
- a name that is not a voice id, a known prefix nor a catalog system voice ->
  :class:`~.errors.UnknownVoiceError`, unless a model is given: then it is sent as a system
  voice the catalog does not list (the service has more than the catalog)
- a prefix naming several voices -> :class:`~.errors.AmbiguousVoiceError`

A registered voice wins over a system voice of the same name (a clone prefix can look like one).

:class:`Voices` / :class:`AsyncVoices` (``client.voices``) list, show, update, delete, sync and
prune, returning :class:`~.models.Voice`, :class:`~.models.DeleteReport` and
:class:`~.models.SyncReport`.
The operations are flows (generators of HTTP steps) driven by the client's sync or async HTTP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from . import catalog
from ._flow import blocking
from .catalog import SystemVoice, VoiceStatus, split_voice_id
from .errors import (
    AmbiguousVoiceError,
    CosyVoiceCloneError,
    InvalidRequestError,
    ModelMismatchError,
    NextStep,
    NotFoundError,
    StepKind,
    UnknownVoiceError,
    VoiceDeletedError,
    VoiceDeployingError,
    VoiceRejectedError,
)
from .http import Flow
from .models import DeleteReport, SyncReport, Voice
from .registry import Registry

if TYPE_CHECKING:
    from .session import Session

DEFAULT_WAIT_TIMEOUT = catalog.DEFAULT_WAIT_TIMEOUT
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SHOWN = 10


# --------------------------------------------------------------------------- resolving


def resolve(
    registry: Registry, name: str, *, endpoint: str | None = None, system_ok: bool = False
) -> Voice:
    """A voice id or a registry prefix -> the :class:`Voice` it names (nothing is sent).

    An exact id the registry knows wins; then a prefix matching one live voice of ``endpoint``
    (a voice rejected in review is only chosen when it is the prefix's only voice); then an id
    the registry does not know but whose model can be read from it; then a system voice of the
    catalog (``origin="system"``, ``target_model`` its default model, ``models`` all of them).
    With ``system_ok`` any other name is taken as a system voice (no model bound). Else
    :class:`UnknownVoiceError`, or :class:`AmbiguousVoiceError` for a prefix with several voices.
    """
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise InvalidRequestError("missing voice: pass a voice id or a prefix", field="voice")
    record = registry.get(text)
    if record is not None:
        return Voice.from_record(record)
    candidates = registry.list(endpoint=endpoint, prefix=text)
    usable = [r for r in candidates if r.status != VoiceStatus.UNDEPLOYED]
    if len(usable) == 1 or len(candidates) == 1:
        return Voice.from_record((usable or candidates)[0])
    if candidates:
        many = usable or candidates
        shown = ", ".join(r.voice_id for r in many[:_SHOWN])
        raise AmbiguousVoiceError(
            f"prefix {text!r} matches {len(many)} voices: {shown}"
            + (" …" if len(many) > _SHOWN else ""),
            field="voice",
            value=text,
            code="ambiguous_voice",
            hint=f"pass the full voice id (see `cosyvoice-clone voices list --prefix {text}`)",
            next_step=NextStep.of(StepKind.FULL_VOICE_ID, prefix=text),
        )
    gone = registry.list(endpoint=endpoint, prefix=text, include_deleted=True)
    if gone:  # the prefix named voices that were all deleted: say so, with the date
        raise deleted_error(gone[0].voice_id, gone[0].deleted_at)
    model, prefix = split_voice_id(text)
    if model is not None:
        return Voice(voice_id=text, target_model=model, prefix=prefix)
    system = catalog.system_voice(text)
    if system is not None:
        return Voice(
            voice_id=text, target_model=system.default_model, origin="system", models=system.models
        )
    if system_ok:
        return Voice(voice_id=text)
    raise UnknownVoiceError(
        f"unknown voice {text!r}: not a voice id (voice ids start with a target model, e.g. "
        "cosyvoice-v3.5-plus-PREFIX-…) and no registered voice has this prefix",
        field="voice",
        value=text,
        hint="`cosyvoice-clone voices list` shows your voices, `voices sync` registers the ones "
        "created elsewhere, `voices list --system` the known system voices; another system "
        "voice needs the model (--model)",
        next_step=NextStep(StepKind.LIST_VOICES),
    )


def system_model(voice: Voice, model: str | None) -> str:
    """The model a catalog system voice speaks with: ``model`` if it is one of the voice's,
    its default without one; any other model is refused (nothing sent)."""
    if model is None:
        assert voice.target_model is not None
        return voice.target_model
    if model not in voice.models:
        speaks = ", ".join(voice.models)
        raise ModelMismatchError(
            f"system voice {voice.voice_id} speaks with {speaks}, not {model}",
            field="model",
            value=model,
            allowed=speaks,
            next_step=NextStep.of(StepKind.PICK_MODEL, model=voice.models[0]),
        )
    return model


def system_voices(model: str | None = None) -> list[SystemVoice]:
    """The system voices the catalog knows, or those ``model`` speaks (an unknown model is
    refused with the list of known ones)."""
    return catalog.system_voices(model)


def _on_date(when: str) -> str:
    """``2026-12-04T20:05:08+00:00`` -> ``2026-12-04 20:05 UTC`` (as given if unparsable)."""
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return when
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def deleted_error(
    voice_id: str, when: str | None = None, *, sent: bool = False
) -> VoiceDeletedError:
    """The refusal for a voice known to be deleted (``when``: the registry's ISO time)."""
    return VoiceDeletedError(
        f"voice {voice_id} was deleted"
        + (f" (on {_on_date(when)})" if when else "")
        + ("" if sent else "; nothing was sent"),
        field="voice",
        value=voice_id,
        code="voice_deleted",
        hint="`cosyvoice-clone voices list` shows the voices that exist; `voices sync` "
        "refreshes the registry if you think it is back",
        next_step=NextStep(StepKind.LIST_VOICES),
    )


def rejected_error(voice_id: str) -> VoiceRejectedError:
    """The refusal for a voice rejected in review (UNDEPLOYED)."""
    return VoiceRejectedError(
        f"voice {voice_id} was rejected by the service (UNDEPLOYED) and cannot speak",
        next_step=NextStep.of(StepKind.CLONE_AGAIN, voice_id=voice_id),
    )


def deploying_error(voice_id: str, status: VoiceStatus | None) -> VoiceDeployingError:
    """The refusal for a voice that is not OK yet."""
    return VoiceDeployingError(
        f"voice {voice_id} is still being deployed ({status or 'status unknown'}); "
        "it cannot speak yet, so no speech was requested (only its status was asked)",
        hint="wait until it is OK: run the same `cosyvoice-clone clone ...` again without "
        "--no-wait (it reuses this voice and waits), or check `cosyvoice-clone voices show "
        f"{voice_id}`; deploying usually takes under a minute",
        next_step=NextStep.of(StepKind.WAIT_FOR_VOICE, voice_id=voice_id),
    )


def speakable_flow(core: Session, name: str, model: str | None) -> Flow[tuple[Voice, str]]:
    """The voice named by ``name`` if it can speak now, and the model to speak with.

    Applies the rules of the module docstring; the only request is one free query for a
    voice the registry last saw DEPLOYING.
    """
    from .synthesis.protocol import check_model, guard_model

    if model is not None:
        check_model(model)
    voice = resolve(core.registry, name, endpoint=core.endpoint, system_ok=model is not None)
    if voice.system:
        chosen = system_model(voice, model)
        return replace(voice, target_model=chosen), chosen
    if voice.deleted:
        raise deleted_error(voice.voice_id, voice.deleted_at)
    if voice.status is VoiceStatus.UNDEPLOYED:
        raise rejected_error(voice.voice_id)
    if voice.status is VoiceStatus.DEPLOYING:
        try:
            info = yield from core.enrollment.query(voice.voice_id)
        except NotFoundError:
            yield from blocking(lambda: core.registry.mark_deleted(voice.voice_id))
            record = yield from blocking(core.registry.get, voice.voice_id)
            when = record.deleted_at if record else None
            raise deleted_error(voice.voice_id, when, sent=True) from None
        yield from blocking(core.observe, info)
        record = yield from blocking(core.registry.get, voice.voice_id)
        voice = Voice.from_service(info, record)
        if voice.status is VoiceStatus.UNDEPLOYED:
            raise rejected_error(voice.voice_id)
        if voice.status is not VoiceStatus.OK:
            raise deploying_error(voice.voice_id, voice.status)
    return voice, guard_model(voice.voice_id, model, target_model=voice.target_model)


# --------------------------------------------------------------------------- management flows


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


def _voice_id(core: Session, name: str) -> str:
    return resolve(core.registry, name, endpoint=core.endpoint).voice_id


def _merged(core: Session, info: object) -> Voice:
    from .enrollment import VoiceInfo

    assert isinstance(info, VoiceInfo)
    return Voice.from_service(info, core.registry.get(info.voice_id))


def list_flow(core: Session, prefix: str | None) -> Flow[list[Voice]]:
    """Every voice on the service (all pages), merged with the registry's records."""
    voices = yield from core.enrollment.list_all(prefix)
    with core.registry.batch():
        for info in voices:
            core.observe(info)
        return [_merged(core, info) for info in voices]


def show_flow(core: Session, name: str) -> Flow[Voice]:
    """One voice, asked from the service (a 404 marks it deleted in the registry)."""
    voice_id = _voice_id(core, name)
    try:
        info = yield from core.enrollment.query(voice_id)
    except NotFoundError:
        if core.registry.get(voice_id) is None:
            raise  # never ours: the service's own "not found"
        core.registry.mark_deleted(voice_id)
        record = core.registry.get(voice_id)
        raise deleted_error(voice_id, record.deleted_at if record else None, sent=True) from None
    core.observe(info)
    return _merged(core, info)


def delete_flow(core: Session, name: str) -> Flow[Voice]:
    """Delete on the service, mark deleted in the registry; the voice as now recorded."""
    voice_id = _voice_id(core, name)
    registry = core.registry
    try:
        yield from core.enrollment.delete(voice_id)
    except NotFoundError as err:
        record = registry.get(voice_id)
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
            registry.mark_deleted(voice_id)
            err.message = (
                f"voice {voice_id} is already gone from the service (deleted elsewhere or "
                "expired); the registry now marks it deleted"
            )
        err.hint = "nothing to delete; `cosyvoice-clone voices list` shows what exists"
        raise
    if registry.get(voice_id) is None:
        registry.observe(voice_id, region=core.region, endpoint=core.endpoint)
    registry.mark_deleted(voice_id)
    record = registry.get(voice_id)
    assert record is not None
    return Voice.from_record(record)


def delete_many_flow(core: Session, names: Iterable[str]) -> Flow[DeleteReport]:
    """Delete each voice in turn; a failure is recorded and the others still go."""
    deleted: list[str] = []
    failed: list[tuple[str, CosyVoiceCloneError]] = []
    for name in names:
        try:
            voice = yield from delete_flow(core, name)
        except CosyVoiceCloneError as err:
            failed.append((name, err))
        else:
            deleted.append(voice.voice_id)
    return DeleteReport(tuple(deleted), tuple(failed))


def sync_flow(core: Session) -> Flow[SyncReport]:
    """Reconcile the registry with the complete list from the service."""
    voices = yield from core.enrollment.list_all()
    return core.registry.sync(
        ((v.voice_id, v.to_dict()) for v in voices), region=core.region, endpoint=core.endpoint
    )


def prune_plan_flow(
    core: Session,
    *,
    prefix: str | None,
    older_than: str | float | timedelta | None,
    status: str | VoiceStatus | None,
) -> Flow[list[Voice]]:
    """The voices a prune with these filters would delete (at least one filter)."""
    from .enrollment import parse_service_time

    age = parse_age(older_than)
    wanted: VoiceStatus | None = None
    if status is not None:
        try:
            wanted = VoiceStatus(str(status).strip().upper())
        except ValueError:
            allowed = ", ".join(s.value for s in VoiceStatus)
            raise InvalidRequestError(
                f"invalid status {status!r}: use one of {allowed}",
                field="status",
                value=status,
            ) from None
    if prefix is None and age is None and wanted is None:
        raise InvalidRequestError(
            "prune needs at least one filter: --prefix, --older-than or --status",
            field="filter",
            next_step=NextStep(StepKind.NARROW_PRUNE),
        )
    voices = yield from list_flow(core, prefix)
    now = datetime.now(timezone.utc)
    chosen = []
    for voice in voices:
        if wanted is not None and voice.status is not wanted:
            continue
        if age is not None:
            created = parse_service_time(voice.gmt_create)
            if created is None or now - created < age:
                continue
        chosen.append(voice)
    return chosen


# --------------------------------------------------------------------------- client faces


__all__ = [
    "deleted_error",
    "parse_age",
    "resolve",
    "speakable_flow",
    "system_model",
    "system_voices",
]
