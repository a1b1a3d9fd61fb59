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
    from .speak import read_utf8

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
    voices: dict[tuple[str, str | None], Any], seen: set[str], protected: set[Path],
) -> Item:  # fmt: skip
    from ..synthesis import guard_model
    from ..synthesis.output import check_target
    from ..synthesis.protocol import check_language_hints, check_model, extension_format
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
        row_format = row.get("format")
        out = str(row.get("out") or "").strip()
        if not out:
            out = f"{item_id}.{row_format or defaults['format'] or 'wav'}"
        if out == "-":
            check_target(out)  # refused: one clear message
        item.out = Path(out) if Path(out).is_absolute() else base / out
        real = check_target(item.out)
        if real.resolve() in protected:
            raise InvalidRequestError(
                f"out {out} is the manifest or the results file", field="out"
            )
        if not row_format and extension_format(item.out) is None:
            row_format = defaults["format"]  # the batch default, for names without one
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
        if model is not None:
            check_model(str(model))
        if (item.voice, model) not in voices:
            try:
                voices[(item.voice, model)] = resolve_voice(app_state, item.voice, model)
            except CosyVoiceCloneError as exc:
                voices[(item.voice, model)] = exc
        record = voices[(item.voice, model)]
        if isinstance(record, CosyVoiceCloneError):
            raise record
        item.voice = record.voice_id
        item.target_model = record.target_model
        item.model = guard_model(record.voice_id, model, target_model=record.target_model)
        check_language_hints(item.model, item.options.language_hints)
    except CosyVoiceCloneError as exc:
        item.error = exc
    return item


def fingerprint(item: Item) -> str:
    """What an item asks for (text, voice, model, options): a changed row is not "done"."""
    import dataclasses
    import hashlib

    assert item.options is not None
    document = json.dumps(
        {"text": item.text, "voice": item.voice, "model": item.model,
         "options": dataclasses.asdict(item.options)},
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


RESULT_FIELDS = ("path", "format", "sample_rate", "duration", "bytes", "fingerprint")
"""What a results line must carry for a later run to verify the output (and skip it)."""


def output_matches(path: Path, fmt: str, sample_rate: int, recorded: dict[str, Any]) -> bool:
    """Whether ``path`` is still exactly the output ``recorded`` (path, format, rate, bytes,
    duration): a truncated, replaced or re-encoded file is not."""
    if any(recorded.get(k) is None for k in RESULT_FIELDS):
        return False
    if (recorded["path"], recorded["format"], recorded["sample_rate"]) != (
        str(path), fmt, sample_rate
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
    force: bool = typer.Option(False, "--force", help="Redo items already done."),
) -> None:
    """Speak every row of a manifest into its own file, several at once, resumably.

    Columns (CSV header or JSONL keys): id, voice (id or registry prefix), text, out (relative
    paths are relative to the manifest; default ID.wav), and optionally format, sample_rate,
    volume, rate, pitch, seed, instruction, language_hint (CSV: separate with |), model.
    An item is skipped when the results file recorded it as done with the same request
    (text, voice, model, options) and its output still matches what was recorded (path,
    format, sample rate, size, duration); anything else is redone, so running the same
    command again after an interruption (Ctrl-C, SIGTERM: exit 130 / 143) finishes the job.
    `out` must be a new or regular file (a symlink is followed); its extension gives the
    format (.wav, .mp3, .opus/.ogg, .pcm/.raw) unless the row has `format`, and must agree
    with it; rows whose `out` has no audio extension take --format. A bad row is reported
    with its line number and does not stop the others. One JSON line per item goes to the
    results file. Exit 1 if any item failed or was invalid. Examples:

    \b
      cosyvoice-clone batch lines.csv
      cosyvoice-clone --json batch lines.jsonl --concurrency 8 --results done.jsonl
    """
    import asyncio

    from ..synthesis import AsyncSynthesizer
    from ..synthesis.output import check_target, remove_stale_partials
    from ..synthesis.runner import Interrupted, run_interruptible

    app_state = state(ctx)
    if concurrency < 1:
        raise InvalidRequestError("--concurrency must be at least 1", field="concurrency")
    rows = _rows(manifest)
    base = manifest.resolve().parent
    results_path = results or manifest.with_name(manifest.name + ".results.jsonl")
    check_target(results_path, option="--results")
    protected = {manifest.resolve(), results_path.resolve()}
    if len(protected) == 1:
        raise InvalidRequestError("--results must not be the manifest", field="results")
    recorded = {} if force else load_results(results_path)
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
        items.append(
            _check_item(app_state, line, row, base, defaults, voices, seen, protected)
        )
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
        remove_stale_partials(check_target(item.out))
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
                        item.result = {
                            "status": "ok", **result.to_dict(), "fingerprint": fingerprint(item)
                        }
                    except CosyVoiceCloneError as exc:
                        item.result = {"status": "failed", "error": exc.to_dict()}
                        app_state.warn(f"{manifest}:{item.line}: {item.id}: {exc}")
                record(item)
                advance()

            # return_exceptions: on cancel, wait until every item has cleaned up (a plain
            # gather returns at the first cancelled item and leaves the others running).
            outcomes = await asyncio.gather(*(one(item) for item in todo), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

        from .speak import progress_bar

        with progress_bar(app_state, "batch", bool(todo), unit="items") as on_progress:
            done = [0]

            def advance() -> None:
                done[0] += 1
                on_progress(done[0], len(todo))

            on_progress(0, len(todo))

            def interrupted(signum: int) -> Interrupted:
                finished = sum(1 for i in todo if i.result.get("status") in ("ok", "failed"))
                return Interrupted(
                    signum,
                    f"interrupted by {signal_name(signum)} after {finished} of {len(todo)} "
                    f"items; results so far in {results_path}",
                    hint="run the same command again to resume (finished items are skipped)",
                )

            if todo:
                run_interruptible(lambda: run_all(advance), interrupted)

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


def signal_name(signum: int) -> str:
    """``SIGINT`` for 2 (the name of a signal number)."""
    import signal

    return signal.Signals(signum).name


def register(app: typer.Typer) -> None:
    """Add `batch` to ``app``."""
    app.command("batch")(batch)


__all__ = ["fingerprint", "load_results", "output_matches", "register"]
