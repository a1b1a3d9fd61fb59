"""Local sample file -> temporary ``oss://`` URL (protocol section 5).

1. ``GET {base}/uploads?action=getPolicy&model=...`` gives a signed policy (under ``data``);
2. a multipart ``POST`` to its ``upload_host`` stores the file (fields in the documented order,
   ``file`` last; the API key is never sent to that host);
3. ``oss://{key}`` is the URL; requests that carry it send ``X-DashScope-OssResourceResolve:
   enable`` (the enrollment flows do that by themselves).

The flow exists where the catalog says so (``Region.supports_temporary_upload``): elsewhere
:func:`require_upload_region` says so. The object key contains the sample's sha256, so a retried
upload that finds the object already stored counts as a success.

A local sample can instead travel inside the request as a Base64 data URI (protocol section 6,
``sample_transport="data-uri"``): no upload at all. :func:`sample_transport` picks the transport:
the one asked for, else ``upload`` where the region has the flow and ``data-uri`` where it does
not (with one notice).
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import catalog
from .audio.files import format_size
from .errors import (
    APIStatusError,
    CosyVoiceCloneError,
    InvalidRequestError,
    SampleUnreadableError,
    TransportError,
)
from .http import AmbiguousRequestError, ApiResponse, Call, Flow

UPLOAD_POLICY_PATH = "uploads"
SAMPLE_URL_SCHEMES = ("http://", "https://", "oss://")
SAMPLE_TRANSPORTS = ("upload", "data-uri")
"""How a local sample reaches the service: the temporary upload (``oss://``) or a data URI."""
DATA_URI_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4"}
"""MIME types of a sample data URI (the accepted list is inferred: protocol section 6)."""


@dataclass(frozen=True)
class LocalSample:
    """A local sample file read into memory, with its content hash."""

    path: Path
    data: bytes
    sha256: str

    @property
    def name(self) -> str:
        """The file name."""
        return self.path.name

    @property
    def content_type(self) -> str:
        """The MIME type guessed from the file name."""
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"


_URL_LIKE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")
"""``scheme:/`` (two letters at least: ``C:/`` is a Windows drive)."""


def is_url(sample: str) -> bool:
    """Whether ``sample`` is a URL (http, https, oss) rather than a local path."""
    return sample.strip().lower().startswith(SAMPLE_URL_SCHEMES)


def read_local_sample(path: str | Path) -> LocalSample:
    """Read a local sample; :class:`SampleUnreadableError` (exit 2) if it can't be read."""
    file = Path(path).expanduser()
    scheme = _URL_LIKE.match(str(path))
    if scheme and not file.exists():  # `ftp://x` (a Path makes it `ftp:/x`): not a file name
        raise SampleUnreadableError(
            f"unsupported URL scheme {scheme.group(1).lower()}:// in {path}",
            field="sample",
            value=str(path),
            hint="pass a local file, or an http(s) URL the service can fetch",
        )
    if not file.exists():
        raise SampleUnreadableError(
            f"sample file not found: {file}",
            field="sample",
            value=str(file),
            hint="pass a path to a WAV, MP3 or M4A file, or a public http(s) URL",
        )
    if not file.is_file():
        raise SampleUnreadableError(f"sample is not a file: {file}", field="sample")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SampleUnreadableError(
            f"cannot read sample {file}: {exc.strerror}", field="sample"
        ) from None
    if not data:
        raise SampleUnreadableError(f"sample file is empty: {file}", field="sample")
    if len(data) > catalog.SAMPLE_MAX_BYTES:
        raise SampleUnreadableError(
            f"sample {file} is {format_size(len(data))}; the service takes at most "
            f"{format_size(catalog.SAMPLE_MAX_BYTES)}",
            field="sample",
            hint="trim or re-encode it: `cosyvoice-clone check SAMPLE --fix OUT`",
        )
    return LocalSample(file, data, hashlib.sha256(data).hexdigest())


def require_upload_region(region: str) -> None:
    """Refuse a local file where the temporary upload flow does not exist (exit 2)."""
    info = catalog.REGIONS.get(region)
    if info is None or not info.supports_temporary_upload:
        allowed = [r.name for r in catalog.REGIONS.values() if r.supports_temporary_upload]
        raise InvalidRequestError(
            f"local sample files can't be uploaded in {region}: the temporary upload flow exists "
            f"only in {', '.join(allowed)}",
            field="sample",
            hint="put the sample at a public http(s) URL and pass --sample https://...",
        )


def sample_transport(region: str, requested: str | None) -> tuple[str, str | None]:
    """The transport of a local sample in ``region`` and a notice when it was chosen for the
    user; an unknown transport, or ``upload`` where the flow does not exist, is refused."""
    if requested is not None:
        chosen = str(requested).strip().lower()
        if chosen not in SAMPLE_TRANSPORTS:
            allowed = ", ".join(SAMPLE_TRANSPORTS)
            raise InvalidRequestError(
                f"unknown sample transport {requested!r}",
                field="sample_transport",
                value=requested,
                allowed=allowed,
                hint=f"use one of: {allowed}",
            )
        if chosen == "upload":
            require_upload_region(region)
        return chosen, None
    info = catalog.REGIONS.get(region)
    if info is not None and info.supports_temporary_upload:
        return "upload", None
    return "data-uri", (
        f"the temporary upload does not exist in {region}: the local sample is sent inside the "
        "request as a data URI (--sample-transport data-uri)"
    )


def data_uri(sample: LocalSample) -> str:
    """The sample as ``data:<mime>;base64,...`` (the 10 MB limit applies to the file: it is
    checked when the file is read)."""
    mime = DATA_URI_TYPES.get(sample.path.suffix.lower())
    if mime is None:
        allowed = ", ".join(DATA_URI_TYPES)
        raise InvalidRequestError(
            f"cannot send {sample.name} as a data URI: the file type is not one of {allowed}",
            field="sample",
            hint="convert it to WAV (`cosyvoice-clone check SAMPLE --fix OUT.wav`) or use "
            "--sample-transport upload",
        )
    return f"data:{mime};base64," + base64.b64encode(sample.data).decode("ascii")


def short_sample_url(url: str) -> str:
    """``url`` for records and display: a data URI is summarized (it can be megabytes)."""
    if url[:5].lower() != "data:":
        return url
    head, _, body = url.partition(",")
    size = len(body) * 3 // 4 - (len(body) - len(body.rstrip("=")))  # base64 padding
    return f"{head},<{size} bytes>"


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _policy(response: ApiResponse) -> dict[str, Any]:
    data = response.body.get("data")
    needed = ("policy", "signature", "upload_dir", "upload_host", "oss_access_key_id")
    if not isinstance(data, dict) or any(not data.get(k) for k in needed):
        raise TransportError(
            "the upload policy answer is missing fields",
            hint="the temporary upload flow is unavailable; pass a public URL with --sample",
            request_id=response.request_id,
        )
    return data


def upload_flow(sample: LocalSample, *, model: str = catalog.ENROLLMENT_MODEL) -> Flow[str]:
    """Upload ``sample``; the flow's result is its ``oss://`` URL."""
    response: ApiResponse = yield Call(
        "GET",
        UPLOAD_POLICY_PATH,
        params={"action": "getPolicy", "model": model},
        label="getPolicy",
    )
    policy = _policy(response)
    name = _SAFE_NAME.sub("_", sample.name).strip("._") or "sample"
    key = f"{policy['upload_dir']}/{sample.sha256[:16]}-{name}"
    fields = {  # the documented order; httpx keeps it and appends the file last
        "OSSAccessKeyId": str(policy["oss_access_key_id"]),
        "Signature": str(policy["signature"]),
        "policy": str(policy["policy"]),
        "key": key,
        "x-oss-object-acl": str(policy.get("x_oss_object_acl") or "private"),
        "x-oss-forbid-overwrite": str(policy.get("x_oss_forbid_overwrite") or "true"),
        "success_action_status": "200",
        "x-oss-content-type": sample.content_type,
    }
    post = Call(
        "POST",
        str(policy["upload_host"]),
        data=fields,
        files={"file": (name, sample.data, sample.content_type)},
        auth=False,
        idempotent=False,
        label="upload",
    )
    for attempt in (1, 2):
        try:
            yield post
        except AmbiguousRequestError as amb:
            if attempt == 2:
                raise _upload_error(amb.cause) from None
            continue  # the object key is content-addressed: a second POST is safe
        except APIStatusError as err:
            if attempt == 2 and "FileAlreadyExists" in err.message:
                break  # the first, ambiguous, attempt stored it
            raise _upload_error(err) from None
        break
    return f"oss://{key}"


def _upload_error(err: CosyVoiceCloneError) -> CosyVoiceCloneError:
    return APIStatusError(
        f"uploading the sample failed: {err.message}",
        hint="try again, or put the sample at a public URL and pass --sample https://...",
        http_status=err.http_status,
        request_id=err.request_id,
    )


__all__ = [
    "SAMPLE_TRANSPORTS",
    "LocalSample",
    "data_uri",
    "is_url",
    "read_local_sample",
    "require_upload_region",
    "sample_transport",
    "short_sample_url",
    "upload_flow",
]
