"""Speak a manifest: :func:`aspeak_many` (one file per row, resumable).

A manifest (CSV with a header, or JSONL) has the columns ``id``, ``voice``, ``text`` and
optionally ``out`` (default ``ID.wav``, or ``ID.FORMAT``), ``format``, ``sample_rate``,
``volume``, ``rate``, ``pitch``, ``seed``, ``instruction``, ``language_hint`` (CSV: separated by
``|``) and ``model``. One JSON line per item goes to the results file; an item recorded as done
with the same request whose output still matches is skipped, so running it again after an
interruption finishes the job.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import catalog
from .checks import require_concurrency
from .errors import CosyVoiceCloneError, InvalidRequestError
from .models import BatchItem, BatchReport, Voice
from .speech import (
    LARGE_TEXT_CHARACTERS,
    OPTION_FIELDS,
    check_output,
    make_folder,
    options_for,
    read_utf8,
    speakable,
)
from .synthesis.protocol import (
    SynthesisOptions,
    align_words,
    check_for_model,
    check_model,
    extension_format,
)

if TYPE_CHECKING:
    from .session import Session as Client


def large_manifest(path: Path) -> int | None:
    """The billed characters of every row's text in a manifest (as :func:`large_text` counts
    them) when they reach :data:`LARGE_TEXT_CHARACTERS`, else ``None``. Reads the file only;
    a broken manifest raises the same error the batch would."""
    weight = sum(
        catalog.text_weight(str(row.get("text") or ""))
        for _line, row, _problem in read_manifest(path)
        if row is not None
    )
    return weight if weight >= LARGE_TEXT_CHARACTERS else None


# --------------------------------------------------------------------------- manifests

MANIFEST_FIELDS = ("id", "voice", "text", "out")
MANIFEST_OPTIONAL = (*OPTION_FIELDS[:7], "language_hint", "model")
"""Optional manifest columns: the options up to ``instruction``, one language hint, the model."""
RESULT_FIELDS = ("path", "format", "sample_rate", "duration", "bytes", "fingerprint")
"""What a results line must carry for a later run to verify the output (and skip it)."""


@dataclass
class _Item:
    """One manifest row, checked."""

    line: int
    id: str
    voice: str = ""
    text: str = ""
    out: Path | None = None
    options: SynthesisOptions | None = None
    model: str | None = None
    target_model: str | None = None
    error: CosyVoiceCloneError | None = None
    result: dict[str, Any] = field(default_factory=dict)


def read_manifest(path: Path) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line, row, problem)`` for every data row of a CSV or JSONL manifest."""
    raw = read_utf8(path, "manifest", "manifest")
    rows: list[tuple[int, dict[str, Any] | None, str | None]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                rows.append((number, None, f"not valid JSON ({exc.msg})"))
                continue
            if not isinstance(row, dict):
                rows.append((number, None, "not a JSON object"))
                continue
            rows.append((number, row, None))
        if not rows:
            raise InvalidRequestError(
                f"manifest {path} has no rows (only blank or # lines)", field="manifest"
            )
        return rows
    reader = csv.DictReader(io.StringIO(raw, newline=""), strict=True)
    if reader.fieldnames is None:
        raise InvalidRequestError(f"manifest {path} is empty", field="manifest")
    missing = [f for f in ("id", "voice", "text") if f not in reader.fieldnames]
    if missing:
        raise InvalidRequestError(
            f"manifest {path} has no column {', '.join(missing)}",
            field="manifest",
            hint="the header must name id, voice, text; optionally out (default ID.wav) and "
            "the options",
        )
    for number, row in _csv_rows(reader, path):
        if None in row:
            rows.append((number, None, "more fields than the header names"))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue
        rows.append((number, {k: v for k, v in row.items() if v not in (None, "")}, None))
    if not rows:
        raise InvalidRequestError(
            f"manifest {path}:1: only a header, no rows to speak",
            field="manifest",
            hint="add one line per utterance below the header (id,voice,text[,out])",
        )
    return rows


def _csv_rows(
    reader: csv.DictReader[str], path: Path
) -> Iterator[tuple[int, dict[str | Any, str | Any]]]:
    """``(first line, row)`` of each CSV row; broken quoting is one error naming its line (the
    rows after it cannot be trusted, so nothing is spoken)."""
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = last + 1
            if "end of data" in str(exc):
                problem = "a quote opens on this line and is never closed"
            else:
                problem = f"broken quoting ({exc})"
            raise InvalidRequestError(
                f"manifest {path}:{start}: {problem}",
                field="manifest",
                hint='a quote inside a quoted field is written twice: "He said ""hi"""',
            ) from None
        yield last + 1, row
        last = reader.line_num


def _typed(row: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = row.get(name)
    if value is None or value == "":
        return default
    if kind is int and isinstance(value, bool):
        raise InvalidRequestError(f"{name} must be a number", field=name)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{name} must be a number, not {value!r}", field=name) from None


class _Manifest:
    """Checks the rows of one manifest (voices resolved once per (voice, model))."""

    def __init__(
        self,
        client: Client,
        base: Path,
        defaults: dict[str, Any],
        protected: set[Path],
        mkdir: bool = False,
    ) -> None:
        self.client = client
        self.mkdir = mkdir
        self.base = base
        self.defaults = defaults
        self.protected = protected
        self.voices: dict[tuple[str, str | None], tuple[Voice, str] | CosyVoiceCloneError] = {}
        self.seen: set[str] = set()

    async def check(self, line: int, row: dict[str, Any]) -> _Item:
        item_id = str(row.get("id") or "").strip()
        item = _Item(line=line, id=item_id or f"line-{line}")
        try:
            await self._fill(item, item_id, row)
        except CosyVoiceCloneError as exc:
            item.error = exc
        return item

    async def _fill(self, item: _Item, item_id: str, row: dict[str, Any]) -> None:
        from .audio.outfile import check_target, safe_file_stem

        if not item_id:
            raise InvalidRequestError("missing id", field="id")
        if item_id in self.seen:
            raise InvalidRequestError(f"duplicate id {item_id!r}", field="id")
        self.seen.add(item_id)
        allowed = set(MANIFEST_FIELDS) | set(MANIFEST_OPTIONAL) | {"timestamps"}
        unknown = sorted(set(row) - allowed)
        if unknown:
            raise InvalidRequestError(f"unknown column {', '.join(unknown)}", field=unknown[0])
        item.voice = str(row.get("voice") or "").strip()
        if not item.voice:
            raise InvalidRequestError("missing voice", field="voice")
        item.text = str(row.get("text") or "")
        if not item.text.strip():
            raise InvalidRequestError("missing text", field="text")
        row_format = row.get("format")
        out = str(row.get("out") or "").strip()
        if not out:
            # the id names a file in the manifest's folder, never a path (`../../x`, `/abs`)
            out = f"{safe_file_stem(item_id)}.{row_format or self.defaults['format'] or 'wav'}"
        if out == "-":
            check_target(out)  # refused: one clear message
        item.out = Path(out) if Path(out).is_absolute() else self.base / out
        real = check_output(self.client, item.out, option="out", mkdir=self.mkdir)
        if real.resolve() in self.protected:
            raise InvalidRequestError(f"out {out} is the manifest or the results file", field="out")
        if not row_format and extension_format(item.out) is None:
            row_format = self.defaults["format"]  # the batch default, for names without one
        hints = row.get("language_hint")
        item.options = options_for(
            item.out,
            format=row_format,
            sample_rate=_typed(row, "sample_rate", int, self.defaults["sample_rate"]),
            volume=_typed(row, "volume", int, 50),
            rate=_typed(row, "rate", float, 1.0),
            pitch=_typed(row, "pitch", float, 1.0),
            seed=_typed(row, "seed", int, 0),
            instruction=row.get("instruction") or None,
            language_hints=(
                [str(h) for h in hints] if isinstance(hints, list)
                else [h.strip() for h in str(hints).split("|")] if hints else None
            ),
        )  # fmt: skip
        model = row.get("model") or self.defaults["model"]
        if model is not None:
            check_model(str(model))
        key = (item.voice, model)
        if key not in self.voices:
            try:
                self.voices[key] = await speakable(self.client, item.voice, model)
            except CosyVoiceCloneError as exc:
                self.voices[key] = exc
        found = self.voices[key]
        if isinstance(found, CosyVoiceCloneError):
            raise found
        voice, item.model = found
        item.voice, item.target_model = voice.voice_id, voice.target_model
        check_for_model(item.model, item.text, item.options)


def fingerprint(item: _Item) -> str:
    """What an item asks for (text, voice, model, options): a changed row is not "done"."""
    assert item.options is not None
    options = dataclasses.asdict(item.options)
    for later in ("ssml", "markdown_filter"):  # added later: unset keeps older results "done"
        if options.get(later) is False:
            del options[later]
    document = json.dumps(
        {"text": item.text, "voice": item.voice, "model": item.model, "options": options},
        sort_keys=True, ensure_ascii=False, default=str,
    )  # fmt: skip
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def load_results(path: Path) -> dict[str, dict[str, Any]]:
    """``id`` -> the last complete output a results file recorded (``ok`` or ``skipped``)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    records: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or "id" not in record:
            continue
        if record.get("status") in ("ok", "skipped") and "bytes" in record:
            records[str(record["id"])] = record
        else:
            records.pop(str(record["id"]), None)
    return records


def output_matches(path: Path, fmt: str, sample_rate: int, recorded: dict[str, Any]) -> bool:
    """Whether ``path`` is still exactly the output ``recorded`` (path, format, rate, bytes,
    duration): a truncated, replaced or re-encoded file is not."""
    if any(recorded.get(k) is None for k in RESULT_FIELDS):
        return False
    if (recorded["path"], recorded["format"], recorded["sample_rate"]) != (
        str(path),
        fmt,
        sample_rate,
    ):
        return False
    try:
        if not path.is_file() or path.stat().st_size != int(recorded["bytes"]):
            return False
    except (OSError, TypeError, ValueError):
        return False
    expected = float(recorded["duration"])
    if fmt == "pcm":
        size = path.stat().st_size
        return size % 2 == 0 and abs(size / 2 / sample_rate - expected) < 0.01
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:
        return False
    if info.samplerate != sample_rate or info.frames <= 0:
        return False
    allowance = 0.02 if fmt == "wav" else 0.35  # encoder delay and frame padding
    return bool(abs(info.frames / info.samplerate - expected) <= allowance)


def _check_defaults(fmt: str | None, sample_rate: int | None, model: str | None) -> None:
    """The defaults of a manifest's rows, refused up front (not once per row)."""
    if fmt is not None and fmt not in catalog.AUDIO_FORMATS:
        raise InvalidRequestError(
            f"--format {fmt} is not a format; use one of {', '.join(catalog.AUDIO_FORMATS)}",
            field="format",
        )
    if sample_rate is not None and sample_rate not in catalog.SAMPLE_RATES:
        rates = ", ".join(str(r) for r in catalog.SAMPLE_RATES)
        raise InvalidRequestError(
            f"--sample-rate {sample_rate} is not available; use one of {rates}",
            field="sample_rate",
        )
    if model is not None:
        check_model(model)


def results_path_for(manifest: Path, results: Path | None = None) -> Path:
    """The results file of a manifest (default ``MANIFEST.results.jsonl``)."""
    return results or manifest.with_name(manifest.name + ".results.jsonl")


async def aspeak_many(
    client: Client,
    manifest: str | Path,
    *,
    results: str | Path | None = None,
    concurrency: int = 4,
    retries: int = 3,
    format: str | None = None,
    sample_rate: int | None = None,
    model: str | None = None,
    force: bool = False,
    on_item: Callable[[BatchItem], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    mkdir: bool = False,
) -> BatchReport:
    """Speak every row of a manifest into its own file, ``concurrency`` at once, resumably.

    ``format``, ``sample_rate`` and ``model`` are defaults for rows without them. ``on_item``
    hears every item's outcome as it is recorded (invalid rows first); ``on_progress`` gets
    (items done, items to do). A bad row does not stop the others. Missing output folders
    are created only with ``mkdir`` (else the row is invalid).
    """
    from .audio.outfile import check_target
    from .synthesis import AsyncSynthesizer
    from .synthesis.output import remove_stale_partials

    manifest = Path(manifest)
    require_concurrency(concurrency, retries)
    _check_defaults(format, sample_rate, model)
    rows = read_manifest(manifest)
    results_path = results_path_for(manifest, Path(results) if results is not None else None)
    check_target(results_path, option="--results", mkdir=mkdir)
    protected = {manifest.resolve(), results_path.resolve()}
    if len(protected) == 1:
        raise InvalidRequestError("--results must not be the manifest", field="results")
    recorded = {} if force else load_results(results_path)
    checker = _Manifest(
        client,
        manifest.resolve().parent,
        {"format": format, "sample_rate": sample_rate, "model": model},
        protected,
        mkdir,
    )
    items: list[_Item] = []
    for line, row, problem in rows:
        if row is None:
            error = InvalidRequestError(problem or "bad row")
            items.append(_Item(line=line, id=f"line-{line}", error=error))
            continue
        items.append(await checker.check(line, row))
    outs: dict[Path, int] = {}
    for item in items:
        if item.error is None and item.out is not None:
            key = item.out.resolve()
            if key in outs:
                item.error = InvalidRequestError(
                    f"output {item.out} is also the output of line {outs[key]}", field="out"
                )
            else:
                outs[key] = item.line

    todo: list[_Item] = []
    for item in items:
        if item.error is not None:
            item.result = {"status": "invalid", "error": item.error.to_dict()}
            continue
        assert item.out is not None and item.options is not None
        remove_stale_partials(check_target(item.out, mkdir=mkdir))
        previous = recorded.get(item.id)
        if (
            previous is not None
            and previous.get("fingerprint") == fingerprint(item)
            and output_matches(item.out, item.options.format, item.options.sample_rate, previous)
        ):
            kept = {k: v for k, v in previous.items() if k not in ("line", "id", "status")}
            item.result = {"status": "skipped", **kept}
            continue
        todo.append(item)

    per_item = max(1, concurrency // max(1, min(concurrency, len(todo))))
    started = time.monotonic()
    try:
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_file = results_path.open("w", encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(
            f"cannot write the results file {results_path}: {exc.strerror or exc}",
            field="results",
        ) from None

    def outcome(item: _Item) -> BatchItem:
        details = {k: v for k, v in item.result.items() if k != "status"}
        status = str(item.result.get("status", "failed"))
        return BatchItem(item.line, item.id, status, details, item.error)

    with results_file:

        def record(item: _Item) -> None:
            done = outcome(item)
            results_file.write(json.dumps(done.to_dict(), ensure_ascii=False) + "\n")
            results_file.flush()
            if on_item is not None:
                on_item(done)

        for item in items:
            if item.result:
                record(item)
        if on_progress is not None:
            on_progress(0, len(todo))
        synth = AsyncSynthesizer.from_settings(client.settings, connector=client.connections())
        gate = asyncio.Semaphore(concurrency)
        finished = [0]

        async def one(item: _Item) -> None:
            assert item.out is not None and item.options is not None
            async with gate:
                try:
                    make_folder(item.out)  # a missing one was allowed by mkdir
                    existed = item.out.is_file()
                    result = await synth.speak(
                        item.text, item.out, voice=item.voice, model=item.model,
                        target_model=item.target_model, options=item.options,
                        concurrency=per_item, retries=retries,
                    )  # fmt: skip
                    if result.words and not item.options.ssml:  # whole-text indexes
                        result = dataclasses.replace(
                            result, words=align_words(item.text, result.words)
                        )
                    item.result = {
                        "status": "ok",
                        **dataclasses.replace(result, replaced=existed).to_dict(),
                        "fingerprint": fingerprint(item),
                    }
                except CosyVoiceCloneError as exc:
                    item.error = exc
                    item.result = {"status": "failed", "error": exc.to_dict()}
            record(item)
            finished[0] += 1
            if on_progress is not None:
                on_progress(finished[0], len(todo))

        # return_exceptions: on cancel, wait until every item has cleaned up (a plain gather
        # returns at the first cancelled item and leaves the others running).
        for failure in await asyncio.gather(*(one(i) for i in todo), return_exceptions=True):
            if isinstance(failure, BaseException):
                raise failure
    return BatchReport(
        manifest=str(manifest),
        results=str(results_path),
        items=tuple(outcome(i) for i in items),
        seconds=time.monotonic() - started,
    )


__all__ = [
    "BatchItem",
    "BatchReport",
    "aspeak_many",
    "fingerprint",
    "large_manifest",
    "load_results",
    "output_matches",
    "read_manifest",
    "results_path_for",
]
