"""`batch MANIFEST`: speak many utterances (CSV or JSONL) concurrently, resumably."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..errors import CosyVoiceCloneError, InvalidRequestError
from .common import AppState, state

if TYPE_CHECKING:
    from ..synthesis import SynthesisOptions

FIELDS = ("id", "voice", "text", "out")
OPTIONAL_FIELDS = (
    "format",
    "sample_rate",
    "volume",
    "rate",
    "pitch",
    "seed",
    "instruction",
    "language_hint",
    "model",
)


@dataclass
class Item:
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


def _rows(path: Path) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line, row, problem)`` for every data row of a CSV or JSONL manifest."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidRequestError(f"manifest {path} does not exist", field="manifest") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read manifest {path}: {exc}", field="manifest") from None
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
        return rows
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    if reader.fieldnames is None:
        raise InvalidRequestError(f"manifest {path} is empty", field="manifest")
    missing = [f for f in ("id", "voice", "text") if f not in reader.fieldnames]
    if missing:
        raise InvalidRequestError(
            f"manifest {path} has no column {', '.join(missing)}",
            field="manifest",
            hint="the header must name: id, voice, text, out (and optional parameters)",
        )
    for row in reader:
        number = reader.line_num
        if None in row:
            rows.append((number, None, "more fields than the header names"))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue
        rows.append((number, {k: v for k, v in row.items() if v not in (None, "")}, None))
    return rows


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


def _check_item(
    app_state: AppState, line: int, row: dict[str, Any], base: Path, defaults: dict[str, Any],
    voices: dict[tuple[str, str | None], Any], seen: set[str],
) -> Item:  # fmt: skip
    from ..synthesis import guard_model
    from .speak import build_options, resolve_voice

    item_id = str(row.get("id") or "").strip()
    item = Item(line=line, id=item_id or f"line-{line}")
    try:
        if not item_id:
            raise InvalidRequestError("missing id", field="id")
        if item_id in seen:
            raise InvalidRequestError(f"duplicate id {item_id!r}", field="id")
        seen.add(item_id)
        unknown = sorted(set(row) - set(FIELDS) - set(OPTIONAL_FIELDS) - {"timestamps"})
        if unknown:
            raise InvalidRequestError(f"unknown column {', '.join(unknown)}", field=unknown[0])
        item.voice = str(row.get("voice") or "").strip()
        if not item.voice:
            raise InvalidRequestError("missing voice", field="voice")
        item.text = str(row.get("text") or "")
        if not item.text.strip():
            raise InvalidRequestError("missing text", field="text")
        row_format = row.get("format") or defaults["format"]
        out = str(row.get("out") or "").strip() or f"{item_id}.{row_format or 'wav'}"
        item.out = Path(out) if Path(out).is_absolute() else base / out
        hints = row.get("language_hint")
        item.options = build_options(
            out=str(item.out),
            fmt=row_format,
            sample_rate=_typed(row, "sample_rate", int, defaults["sample_rate"]),
            volume=_typed(row, "volume", int, 50),
            rate=_typed(row, "rate", float, 1.0),
            pitch=_typed(row, "pitch", float, 1.0),
            seed=_typed(row, "seed", int, 0),
            instruction=row.get("instruction"),
            language_hints=(
                [str(h) for h in hints] if isinstance(hints, list)
                else [h.strip() for h in str(hints).split("|")] if hints else None
            ),
            word_timestamps=False,
        )  # fmt: skip
        model = row.get("model") or defaults["model"]
        if (item.voice, model) not in voices:
            voices[(item.voice, model)] = resolve_voice(app_state, item.voice, model)
        record = voices[(item.voice, model)]
        item.voice = record.voice_id
        item.target_model = record.target_model
        item.model = guard_model(record.voice_id, model, target_model=record.target_model)
    except CosyVoiceCloneError as exc:
        item.error = exc
    return item


def output_complete(path: Path, fmt: str) -> bool:
    """Whether ``path`` holds a finished output (written atomically, and it decodes)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    if fmt == "pcm":
        return path.stat().st_size % 2 == 0
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:
        return False
    return bool(info.frames > 0)


def batch(
    ctx: typer.Context,
    manifest: Path = typer.Argument(..., help="CSV (with a header) or JSONL manifest."),
    results: Optional[Path] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--results", help="Results file (JSONL; default MANIFEST.results.jsonl).",
        show_default=False,
    ),
    concurrency: int = typer.Option(4, "--concurrency", help="Utterances at once."),
    retries: int = typer.Option(3, "--retries", help="Retries of a part that fails transiently."),
    audio_format: Optional[str] = typer.Option(  # noqa: UP045
        None, "--format", help="Default format for rows without one (else from `out`).",
        show_default=False,
    ),
    sample_rate: Optional[int] = typer.Option(  # noqa: UP045
        None, "--sample-rate", help="Default sample rate for rows without one.",
        show_default=False,
    ),
    model: Optional[str] = typer.Option(  # noqa: UP045
        None, "--model", help="Default model for rows without one (default: each voice's).",
        show_default=False,
    ),
    force: bool = typer.Option(False, "--force", help="Redo items whose output exists."),
) -> None:
    """Speak every row of a manifest into its own file, several at once, resumably.

    Columns (CSV header or JSONL keys): id, voice (id or registry prefix), text, out (relative
    paths are relative to the manifest; default ID.wav), and optionally format, sample_rate,
    volume, rate, pitch, seed, instruction, language_hint (CSV: separate with |), model.
    Items whose output already exists and decodes are skipped, so running the same command
    again after an interruption finishes the job. A bad row is reported with its line number
    and does not stop the others. One JSON line per item goes to the results file. Exit 1 if
    any item failed or was invalid. Examples:

      cosyvoice-clone batch lines.csv

      cosyvoice-clone --json batch lines.jsonl --concurrency 8 --results done.jsonl
    """
    import asyncio

    from ..synthesis import AsyncSynthesizer
    from ..synthesis.output import stale_partials

    app_state = state(ctx)
    if concurrency < 1:
        raise InvalidRequestError("--concurrency must be at least 1", field="concurrency")
    rows = _rows(manifest)
    base = manifest.resolve().parent
    defaults = {"format": audio_format, "sample_rate": sample_rate, "model": model}
    voices: dict[tuple[str, str | None], Any] = {}
    seen: set[str] = set()
    items: list[Item] = []
    for line, row, problem in rows:
        if row is None:
            items.append(
                Item(line=line, id=f"line-{line}", error=InvalidRequestError(problem or "bad row"))
            )
            continue
        items.append(_check_item(app_state, line, row, base, defaults, voices, seen))
    results_path = results or manifest.with_name(manifest.name + ".results.jsonl")
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

    todo: list[Item] = []
    for item in items:
        if item.error is not None:
            item.result = {"status": "invalid", "error": item.error.to_dict()}
            app_state.warn(f"{manifest}:{item.line}: {item.error}")
            continue
        assert item.out is not None and item.options is not None
        for leftover in stale_partials(item.out):
            leftover.unlink(missing_ok=True)
        if not force and output_complete(item.out, item.options.format):
            item.result = {"status": "skipped", "path": str(item.out)}
            continue
        todo.append(item)

    settings = app_state.settings()
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
    with results_file:

        def record(item: Item) -> None:
            line = {"line": item.line, "id": item.id, **item.result}
            results_file.write(json.dumps(line, ensure_ascii=False) + "\n")
            results_file.flush()

        for item in items:
            if item.result:
                record(item)

        async def run_all(advance: Any) -> None:
            synth = AsyncSynthesizer.from_settings(settings)
            gate = asyncio.Semaphore(concurrency)

            async def one(item: Item) -> None:
                assert item.out is not None and item.options is not None
                async with gate:
                    try:
                        result = await synth.speak(
                            item.text, item.out, voice=item.voice, model=item.model,
                            target_model=item.target_model, options=item.options,
                            concurrency=per_item, retries=retries,
                        )  # fmt: skip
                        item.result = {"status": "ok", **result.to_dict()}
                    except CosyVoiceCloneError as exc:
                        item.result = {"status": "failed", "error": exc.to_dict()}
                        app_state.warn(f"{manifest}:{item.line}: {item.id}: {exc}")
                record(item)
                advance()

            await asyncio.gather(*(one(item) for item in todo))

        from .speak import progress_bar

        with progress_bar(app_state, "batch", bool(todo), unit="items") as on_progress:
            done = [0]

            def advance() -> None:
                done[0] += 1
                on_progress(done[0], len(todo))

            on_progress(0, len(todo))
            if todo:
                asyncio.run(run_all(advance))

    counts = {s: 0 for s in ("ok", "skipped", "failed", "invalid")}
    for item in items:
        counts[item.result.get("status", "failed")] += 1
    summary = {
        "ok": counts["failed"] == 0 and counts["invalid"] == 0,
        "manifest": str(manifest),
        "results": str(results_path),
        "total": len(items),
        "done": counts["ok"],
        "skipped": counts["skipped"],
        "failed": counts["failed"],
        "invalid": counts["invalid"],
        "seconds": round(time.monotonic() - started, 3),
        "items": [{"line": i.line, "id": i.id, **i.result} for i in items],
    }

    def human() -> None:
        console = app_state.console
        console.print(
            f"{counts['ok']} done, {counts['skipped']} skipped (already complete), "
            f"{counts['failed']} failed, {counts['invalid']} invalid — results in {results_path}"
        )

    app_state.emit(summary, human)
    if not summary["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `batch` to ``app``."""
    app.command("batch")(batch)


__all__ = ["output_complete", "register"]
