"""Evidence files under ``output/alicloud-ai-audio-cosyvoice-voice-clone/`` (or ``--output-dir``);
a voice design's go under ``output/alicloud-ai-audio-cosyvoice-voice-design/``.

For every clone: the request body as sent (``request.json``, the wire body), a response summary
(``response.json``, removed when the clone failed) and ``evidence.json`` with target model,
prefix, sample URL and time. A copy of each is kept per voice under ``voices/<voice_id>/`` so
later clones don't erase earlier evidence (reusing a voice keeps its creation record as it was).
Nothing written here ever contains the API key: every file goes through
:func:`cosyvoice_clone.config.redact`.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import catalog
from .config import redact
from .request import CloneRequest, CloneResponse, DesignRequest


def write_json(path: Path, data: Any, *secrets: str | None) -> Path:
    """Write JSON atomically (temp file + rename), redacting secrets and key-shaped strings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = redact(json.dumps(data, ensure_ascii=False, indent=2, default=str), *secrets) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record_clone(
    output_dir: Path,
    request: CloneRequest,
    response: CloneResponse | None,
    *,
    extra: dict[str, Any] | None = None,
    secrets: tuple[str | None, ...] = (),
    request_path: Path | None = None,
) -> dict[str, Path]:
    """Write the evidence of one clone; returns the paths written by name.

    ``request_path`` puts the request elsewhere than ``output_dir/request.json`` (``prepare
    --output``). With no response (a prepared, not yet sent request) only the request and the
    evidence file are written.
    """
    fields = {"voice_sample_url": request.voice_sample_url}
    return _record(
        output_dir, catalog.SKILL_NAME, request, fields, response, extra, secrets, request_path
    )


def record_design(
    output_dir: Path,
    request: DesignRequest,
    response: CloneResponse | None,
    *,
    preview: bytes | None = None,
    extra: dict[str, Any] | None = None,
    secrets: tuple[str | None, ...] = (),
    request_path: Path | None = None,
) -> dict[str, Path]:
    """Write the evidence of one voice design (the design skill's files), like
    :func:`record_clone`, with ``voice_prompt`` and ``preview_text`` in ``evidence.json`` and the
    decoded preview as ``voices/<voice_id>/preview.<format>``."""
    fields = {"voice_prompt": request.voice_prompt, "preview_text": request.preview_text}
    paths = _record(
        output_dir, catalog.DESIGN_SKILL_NAME, request, fields, response, extra, secrets,
        request_path,
    )  # fmt: skip
    if response is not None and preview is not None and "voice_evidence" in paths:
        path = paths["voice_evidence"].parent / f"preview.{request.response_format}"
        path.write_bytes(preview)
        paths["preview"] = path
    return paths


def design_output_dir(output_dir: Path) -> Path:
    """Where a design's evidence goes: the design skill's folder beside the clone skill's
    default one, or ``output_dir`` itself when it was chosen (``--output-dir``)."""
    if output_dir.name == catalog.SKILL_NAME:
        return output_dir.with_name(catalog.DESIGN_SKILL_NAME)
    return output_dir


def _record(
    output_dir: Path,
    skill: str,
    request: CloneRequest | DesignRequest,
    fields: dict[str, Any],
    response: CloneResponse | None,
    extra: dict[str, Any] | None,
    secrets: tuple[str | None, ...],
    request_path: Path | None,
) -> dict[str, Path]:
    summary: dict[str, Any] = {"ok": response is not None}
    if response is not None:
        summary.update(response.to_dict())
    evidence = {
        "skill": skill,
        "time": now_iso(),
        "region": request.region,
        "target_model": request.target_model,
        "prefix": request.prefix,
        **fields,
        "voice_id": response.voice_id if response else None,
        "request_id": response.request_id if response else None,
        **(extra or {}),
    }
    paths = {
        "request": write_json(
            request_path or output_dir / "request.json", request.to_payload(), *secrets
        ),
        "evidence": write_json(output_dir / "evidence.json", evidence, *secrets),
    }
    if response is None:  # a failed call: never leave an earlier success's response beside it
        (output_dir / "response.json").unlink(missing_ok=True)
    else:
        paths["response"] = write_json(output_dir / "response.json", summary, *secrets)
    if response is not None and not evidence.get("reused"):  # keep each voice's creation record
        per_voice = output_dir / "voices" / response.voice_id
        write_json(per_voice / "request.json", request.to_payload(), *secrets)
        write_json(per_voice / "response.json", summary, *secrets)
        paths["voice_evidence"] = write_json(per_voice / "evidence.json", evidence, *secrets)
    return paths
