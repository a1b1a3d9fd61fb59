"""OpenAI's voice consents: ``POST/GET /v1/audio/voice_consents``,
``GET/POST/DELETE /v1/audio/voice_consents/{id}`` (routed in :mod:`.app`).

The requests and answers are those the ``openai`` package (3.60) sends and reads:
``create`` is multipart (``name``, ``language``, file ``recording``), ``update`` is JSON
``{"name"}``, lists are cursor pages (``data``, ``has_more``, ``after=``, ``limit`` 1-100,
default 20), a deleted consent is ``{"id", "object": "audio.voice_consent", "deleted": true}``.
Consents are kept by the library's :class:`~cosyvoice_clone.client.ConsentStore` under the
home; they are never sent to DashScope (it has no consent concept).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..client import RECORDING_MAX_BYTES, ConsentStore
from ..errors import CosyVoiceCloneError
from .plumbing import Doors, answer_for, read_json
from .protocol import APIError
from .wording import Audience

DEFAULT_LIMIT = 20


def missing(name: str) -> APIError:
    return APIError(400, f"missing required parameter '{name}'", param=name,
                    code="missing_required_parameter")  # fmt: skip


def refused(err: CosyVoiceCloneError, file_param: str) -> APIError:
    """A library error about an upload, blaming OpenAI's field name (413 for a large file)."""
    answer = answer_for(err, Audience.API)
    field = getattr(err, "field", None)
    if answer.param in ("sample", "recording") or field == "recording":
        answer.param = file_param
    if err.code == "file_too_large":
        answer.status = 413
    if err.code == "consent_not_found":
        answer.param = "consent"
    return answer


async def read_form(request: Request) -> FormData:
    """The request's multipart form (what the ``openai`` package sends for uploads)."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise APIError(415, f"this endpoint takes multipart/form-data (not {ctype or 'none'})",
                       code="unsupported_media_type")  # fmt: skip
    if importlib.util.find_spec("python_multipart") is None:
        raise APIError(501, "uploads need the python-multipart package on the server",
                       type="api_error", code="not_implemented")  # fmt: skip
    try:
        return await request.form(max_part_size=RECORDING_MAX_BYTES + 1)
    except Exception as exc:  # a malformed form, or a part over the cap
        too_large = "maximum" in str(exc).lower() or "exceed" in str(exc).lower()
        if too_large:
            raise APIError(413, f"a file is larger than {RECORDING_MAX_BYTES // 2**20} MiB",
                           code="file_too_large") from None  # fmt: skip
        raise APIError(400, "the multipart form could not be read", code="invalid_form") from None


def form_text(form: FormData, name: str, *, required: bool = False) -> str | None:
    """A text field of the form, stripped (``None`` when absent or blank)."""
    value = form.get(name)
    if isinstance(value, UploadFile):
        raise APIError(400, f"'{name}' must be text, not a file", param=name,
                       code="invalid_type")  # fmt: skip
    text = (value or "").strip()
    if not text and required:
        raise missing(name)
    return text or None


async def form_file(form: FormData, name: str) -> tuple[bytes, str | None]:
    """A file of the form: its bytes (at most the cap, else 413) and file name."""
    value = form.get(name)
    if value is None:
        raise missing(name)
    if not isinstance(value, UploadFile):
        raise APIError(400, f"'{name}' must be a file (multipart upload)", param=name,
                       code="invalid_type")  # fmt: skip
    data = await value.read(RECORDING_MAX_BYTES + 1)
    if len(data) > RECORDING_MAX_BYTES:
        raise APIError(413, f"'{name}' is larger than {RECORDING_MAX_BYTES // 2**20} MiB",
                       param=name, code="file_too_large")  # fmt: skip
    return data, value.filename


def page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """A cursor page in OpenAI's list shape (the SDK reads ``data`` and ``has_more``)."""
    return {
        "object": "list",
        "data": items,
        "has_more": has_more,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
    }


class ConsentsAPI:
    """The consent handlers over the shared :class:`~.plumbing.Doors`."""

    def __init__(self, doors: Doors) -> None:
        self.doors = doors
        self.store = ConsentStore(doors.client.settings.home)

    async def _run(self, work: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await run_in_threadpool(work, *args, **kwargs)
        except CosyVoiceCloneError as err:
            raise refused(err, "recording") from None

    async def create(self, request: Request) -> Response:
        self.doors.authorize(request)
        form = await read_form(request)
        name = form_text(form, "name", required=True)
        language = form_text(form, "language", required=True)
        data, filename = await form_file(form, "recording")
        consent = await self._run(self.store.create, name=name, language=language,
                                  recording=data, filename=filename)  # fmt: skip
        return JSONResponse(consent.to_openai())

    async def list(self, request: Request) -> Response:
        self.doors.authorize(request)
        after = request.query_params.get("after") or None
        raw = request.query_params.get("limit") or str(DEFAULT_LIMIT)
        try:
            limit = int(raw)
        except ValueError:
            raise APIError(400, f"limit must be an integer, not {raw!r}", param="limit",
                           code="invalid_value") from None  # fmt: skip
        items, more = await self._run(self.store.page, after=after, limit=limit)
        return JSONResponse(page([c.to_openai() for c in items], more))

    async def retrieve(self, request: Request) -> Response:
        self.doors.authorize(request)
        consent = await self._run(self.store.get, request.path_params["consent_id"])
        return JSONResponse(consent.to_openai())

    async def update(self, request: Request) -> Response:
        self.doors.authorize(request)
        body = await read_json(request)
        name = body.get("name")
        if name is None:
            raise missing("name")
        consent = await self._run(self.store.rename, request.path_params["consent_id"], name)
        return JSONResponse(consent.to_openai())

    async def delete(self, request: Request) -> Response:
        self.doors.authorize(request)
        consent = await self._run(self.store.delete, request.path_params["consent_id"])
        return JSONResponse({"id": consent.id, "object": "audio.voice_consent", "deleted": True})
