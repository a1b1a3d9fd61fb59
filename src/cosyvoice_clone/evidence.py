"""Evidence files under ``output/alicloud-ai-audio-cosyvoice-voice-clone/`` (or ``--output-dir``);
a voice design's go under ``output/alicloud-ai-audio-cosyvoice-voice-design/``.

Every command writes into a folder of its own, so no command overwrites or deletes what
another one wrote:

- a created voice: ``voices/<voice_id>/`` (``request.json``, the wire body as sent;
  ``response.json``, the response summary; ``evidence.json``: target model, prefix, sample URL
  or prompt, voice id, request id, time; a design's ``preview.<format>``);
- a reused voice: ``reused/<voice_id>/<time>/`` (``evidence.json``, ``response.json``);
- a failed create: ``failed/<time>-<prefix>/`` (``request.json``, ``evidence.json``);
- a prepared request (``prepare``, ``prepare-design``): ``prepared/<time>-<prefix>/``, and the
  request body where the command was told to put it (``request.json`` by default).

``latest.json`` names the folder of the last command (rewritten atomically). A folder that
exists already is never reused (``-2``, ``-3`` ... are appended). Nothing written here ever
contains the API key: every file goes through :func:`cosyvoice_clone.config.redact`.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import catalog
from .config import redact
from .errors import InvalidRequestError
from .request import CloneRequest, CloneResponse, DesignRequest


def _write_text(path: Path, text: str) -> Path:
    """Write ``text`` atomically (temp file + rename) over a regular file or a new one;
    raises ``OSError`` (``IsADirectoryError`` for a folder, FIFO, device or socket: a rename
    would replace it)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(st.st_mode):
            from .audio.outfile import file_kind

            raise IsADirectoryError(21, f"it is a {file_kind(st.st_mode)}, not a regular file")
        path = path.resolve()  # a symlink is followed: its target is written, the link kept
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _json_text(data: Any, secrets: tuple[str | None, ...]) -> str:
    return redact(json.dumps(data, ensure_ascii=False, indent=2, default=str), *secrets) + "\n"


def write_json(
    path: str | Path, data: Any, *secrets: str | None, mkdir: bool = False, option: str = "file"
) -> Path:
    """Write JSON atomically (temp file + rename), redacting secrets and key-shaped strings.

    Refused with one :class:`~cosyvoice_clone.errors.InvalidRequestError` line, nothing
    written: a target that is a folder, FIFO, device or socket (a rename would replace it), a
    missing folder unless ``mkdir``, and any failure to write (``option`` names the setting in
    the message, e.g. ``--output``).
    """
    from .audio.outfile import check_output_path

    target = check_output_path(Path(path).expanduser(), option, mkdir=mkdir)
    try:
        if mkdir:
            target.parent.mkdir(parents=True, exist_ok=True)
        return _write_text(target, _json_text(data, secrets))
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write {option} {path}: {exc.strerror or exc}",
            field=option.lstrip("-").replace("-", "_"),
            hint="free some disk space, or choose a folder you can write to",
        ) from None


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
    mkdir: bool = False,
) -> dict[str, Path]:
    """Write the evidence of one clone into its own folder (``evidence``'s parent); returns
    the files written by name (``request``, ``evidence``, ``response``, ``voice_evidence`` for
    a created voice).

    ``request_path`` also writes the request body there (``prepare``, ``--output``): checked
    before anything is written; a missing folder other than ``output_dir`` is refused unless
    ``mkdir``. With no response and a ``request_path``, the record is a prepared request;
    with neither, a failed create.
    """
    fields = {"voice_sample_url": request.voice_sample_url}
    return _record(
        output_dir, catalog.SKILL_NAME, request, fields, response, extra, secrets, request_path,
        mkdir,
    )  # fmt: skip


def record_design(
    output_dir: Path,
    request: DesignRequest,
    response: CloneResponse | None,
    *,
    preview: bytes | None = None,
    extra: dict[str, Any] | None = None,
    secrets: tuple[str | None, ...] = (),
    request_path: Path | None = None,
    mkdir: bool = False,
) -> dict[str, Path]:
    """Write the evidence of one voice design (the design skill's files), like
    :func:`record_clone`, with ``voice_prompt`` and ``preview_text`` in ``evidence.json`` and the
    decoded preview as ``voices/<voice_id>/preview.<format>``."""
    fields = {"voice_prompt": request.voice_prompt, "preview_text": request.preview_text}
    paths = _record(
        output_dir, catalog.DESIGN_SKILL_NAME, request, fields, response, extra, secrets,
        request_path, mkdir,
    )  # fmt: skip
    if response is not None and preview is not None and "voice_evidence" in paths:
        path = paths["evidence"].parent / f"preview.{request.response_format}"
        path.write_bytes(preview)
        paths["preview"] = path
    return paths


def design_output_dir(output_dir: Path) -> Path:
    """Where a design's evidence goes: the design skill's folder beside the clone skill's
    default one, or ``output_dir`` itself when it was chosen (``--output-dir``)."""
    if output_dir.name == catalog.SKILL_NAME:
        return output_dir.with_name(catalog.DESIGN_SKILL_NAME)
    return output_dir


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _new_folder(parent: Path, name: str) -> Path:
    """``parent/name``, created now and never one that existed (``name-2``, ``name-3`` ...)."""
    from .audio.outfile import safe_file_stem

    parent.mkdir(parents=True, exist_ok=True)
    stem = safe_file_stem(name)
    for n in range(1, 10_000):
        folder = parent / (stem if n == 1 else f"{stem}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(17, f"too many evidence folders named {stem} in {parent}")


def _record(
    output_dir: Path,
    skill: str,
    request: CloneRequest | DesignRequest,
    fields: dict[str, Any],
    response: CloneResponse | None,
    extra: dict[str, Any] | None,
    secrets: tuple[str | None, ...],
    request_path: Path | None,
    mkdir: bool = False,
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
    paths: dict[str, Path] = {}
    if request_path is not None:  # where the user (or the skill's default) put the body
        # The tool's own folder may be created; a folder the user named must exist (--mkdir).
        own = Path(request_path).expanduser().parent == output_dir
        from .audio.outfile import check_output_path

        check_output_path(Path(request_path).expanduser(), "--output", mkdir=mkdir or own)
    if response is not None and evidence.get("reused"):
        folder = _new_folder(output_dir / "reused" / response.voice_id, _stamp())
    elif response is not None:
        folder = _new_folder(output_dir / "voices", response.voice_id)
    else:
        kind = "prepared" if request_path is not None else "failed"
        folder = _new_folder(output_dir / kind, f"{_stamp()}-{request.prefix}")
    if request_path is not None:
        paths["request"] = write_json(
            request_path, request.to_payload(), *secrets, mkdir=True, option="--output"
        )
    if not evidence.get("reused"):
        paths.setdefault("request", folder / "request.json")
        _write_text(folder / "request.json", _json_text(request.to_payload(), secrets))
    if response is not None:
        paths["response"] = _write_text(folder / "response.json", _json_text(summary, secrets))
    paths["evidence"] = _write_text(folder / "evidence.json", _json_text(evidence, secrets))
    if response is not None and not evidence.get("reused"):
        paths["voice_evidence"] = paths["evidence"]
    latest = {"folder": str(folder.relative_to(output_dir)), "skill": skill, **evidence}
    _write_text(output_dir / "latest.json", _json_text(latest, secrets))
    return paths
