"""Temporary uploads: the getPolicy endpoint and a stand-in OSS host.

1. ``GET /api/v1/uploads?action=getPolicy&model=M`` answers ``{"request_id", "data": {...}}``
   with an ``upload_host`` that points back at this emulator (``/_oss``).
2. ``POST /_oss`` takes the multipart form the SDK sends (``OSSAccessKeyId``, ``Signature``,
   ``policy``, ``key``, ..., ``file``), checks the policy signature, expiry and key prefix, and
   stores the file; HTTP 200 means stored. Errors are OSS-style XML bodies.
3. ``oss://{key}`` then resolves in ``create_voice`` / ``update_voice`` when the request carries
   ``X-DashScope-OssResourceResolve: enable``. ``GET /_oss/{key}`` serves the stored bytes to
   a request with a valid Bearer key or a ``?Signature=`` (as in the HTTP synthesis URLs); the
   bucket is private, like the real one.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from .config import UPLOAD_STORE_MAX_BYTES
from .exceptions import ApiError
from .wire import bearer_key, read_capped

OSS_PATH = "/_oss"


def oss_error(exc: ApiError) -> Response:
    """An OSS-style XML error response."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{escape(exc.code)}</Code>\n  <Message>{escape(exc.message)}</Message>\n"
        "</Error>\n"
    )
    return Response(body, status_code=exc.status, media_type="application/xml")


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], tuple[str, bytes]]:
    """Split a ``multipart/form-data`` body into text fields and the ``file`` part.

    Returns ``(fields, (filename, data))``; raises :class:`ApiError` if malformed.
    """
    if "multipart/form-data" not in content_type.lower() or "boundary=" not in content_type:
        raise ApiError(400, "InvalidArgument", "The body must be multipart/form-data.")
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    try:
        message = BytesParser(policy=HTTP).parsebytes(header + body)
    except Exception:  # the stdlib parser is lenient; this is belt and braces
        raise ApiError(400, "MalformedPOSTRequest", "The multipart body is malformed.") from None
    if not message.is_multipart():
        raise ApiError(400, "MalformedPOSTRequest", "The multipart body is malformed.")
    fields: dict[str, str] = {}
    file_part: tuple[str, bytes] | None = None
    for part in message.iter_parts():
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "file":
            filename = part.get_filename() or "file"
            file_part = (filename, data)
        else:
            fields[name] = data.decode("utf-8", errors="replace")
    if file_part is None:
        raise ApiError(400, "InvalidArgument", "The form has no file field.")
    return fields, file_part


async def oss_post(request: Request) -> Response:
    """The stand-in OSS host: store a file posted with a valid upload policy."""
    backend = request.app.state.backend
    try:
        body = await read_capped(request, UPLOAD_STORE_MAX_BYTES + 64 * 1024)
        fields, (_, data) = parse_multipart(request.headers.get("content-type", ""), body)
        key = backend.check_upload_form(fields)
        content_type = fields.get("x-oss-content-type") or "application/octet-stream"
        forbid = fields.get("x-oss-forbid-overwrite", "false").lower() == "true"
        backend.store_upload(key, data, content_type, forbid_overwrite=forbid)
    except ApiError as exc:
        return oss_error(exc)
    backend.count("upload")
    status = fields.get("success_action_status", "204")
    code = int(status) if status in ("200", "201", "204") else 204
    return Response(b"", status_code=code)


async def oss_get(request: Request) -> Response:
    """Serve a stored object to a signed URL or a Bearer key holder (the bucket is private)."""
    import hmac

    backend = request.app.state.backend
    key = request.path_params["key"]
    signature = request.query_params.get("Signature", "")
    allowed = (
        signature and hmac.compare_digest(signature, backend.object_signature(key))
    ) or backend.authorized(bearer_key(request))
    if not allowed:
        return oss_error(ApiError(403, "AccessDenied", "You have no right to access this object."))
    upload = backend.upload(key)
    if upload is None:
        return oss_error(ApiError(404, "NoSuchKey", "The specified key does not exist."))
    return Response(upload.data, media_type=upload.content_type)
