"""Fetch a voice sample the way the service does: http(s) with a timeout and a size cap, or
``oss://`` from the emulator's own upload store (only with the resolve header)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .. import catalog
from ..audio.files import format_size
from .backend import Backend
from .exceptions import ApiError

if TYPE_CHECKING:
    import httpx

OSS_RESOLVE_HEADER = "X-DashScope-OssResourceResolve"
BASE64_SAMPLE_CHARS = 4 * -(-catalog.SAMPLE_MAX_BYTES // 3)
"""The length of a 10 MB sample in base64."""


def new_client() -> httpx.AsyncClient:
    """An HTTP client for sample downloads (the app keeps one for its lifetime)."""
    import httpx

    return httpx.AsyncClient(
        follow_redirects=True,
        trust_env=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def _download_failed(detail: str) -> ApiError:
    return ApiError(
        400,
        "BadRequest.InputDownloadFailed",
        f"Download the media resource timed out during the data inspection process. ({detail})",
    )


def sample_filename(url: str) -> str | None:
    """The file name at the end of a URL's path, if any (none for a data URI)."""
    if url[:5].lower() == "data:":
        return None
    path = unquote(urlsplit(url).path)
    name = path.rsplit("/", 1)[-1]
    return name or None


async def fetch_sample(
    backend: Backend,
    url: object,
    *,
    oss_resolve: bool,
    client: httpx.AsyncClient | None = None,
) -> bytes:
    """The bytes behind ``url``; raises :class:`ApiError` with the documented codes.

    ``client`` is reused when given (else one is made for this download).
    """
    if not isinstance(url, str) or not url:
        raise ApiError(400, "InvalidParameter", "Missing required parameter: url.")
    if url[:5].lower() == "data:":
        return decode_data_uri(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme == "oss":
        if not oss_resolve:
            raise _download_failed(
                f"oss:// URLs are resolved only with the header {OSS_RESOLVE_HEADER}: enable"
            )
        key = url[len("oss://") :]
        upload = backend.upload(key)
        if upload is None:
            raise _download_failed("no such uploaded file, or it expired")
        return upload.data
    if scheme not in ("http", "https"):
        raise ApiError(
            400,
            "InvalidParameter",
            "url must be an http(s) URL, an oss:// temporary URL or a base64 data URI.",
        )
    if client is None:
        async with new_client() as own:
            return await _download(backend, url, own)
    return await _download(backend, url, client)


def decode_data_uri(url: str) -> bytes:
    """The sample in a ``data:audio/<type>;base64,<data>`` URI (at most 10 MB decoded).

    The voice-clone API reference documents a Base64 data URI as the ``url`` of a sample
    (help.aliyun.com/zh/model-studio/cosyvoice-clone-api, 2026); the error codes are inferred.
    """
    import binascii

    header, comma, payload = url.partition(",")
    if not comma or not header.lower().endswith(";base64"):
        raise ApiError(
            400, "InvalidParameter", "A data URI sample must be data:audio/<type>;base64,<data>."
        )
    if len(payload.strip()) > BASE64_SAMPLE_CHARS:
        raise _download_failed(f"data URI larger than {format_size(catalog.SAMPLE_MAX_BYTES)}")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "InvalidParameter", "The data URI is not valid base64.") from None


def sample_bytes_limit() -> int:
    """The largest enrollment body: a 10 MB sample as a base64 data URI, plus the envelope."""
    return BASE64_SAMPLE_CHARS + 64 * 1024


async def _download(backend: Backend, url: str, client: httpx.AsyncClient) -> bytes:
    import httpx

    cap = catalog.SAMPLE_MAX_BYTES
    timeout = httpx.Timeout(backend.config.fetch_timeout)
    try:
        async with client.stream("GET", url, timeout=timeout) as response:
            if response.status_code != 200:
                raise _download_failed(f"HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > cap:
                raise _download_failed(f"file larger than {format_size(cap)}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise _download_failed(f"file larger than {format_size(cap)}")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TimeoutException:
        raise _download_failed("timed out") from None
    except httpx.HTTPError as exc:
        raise _download_failed(type(exc).__name__) from None
