"""Door C: batch manifests (exit 2: the manifest or an option is unusable; exit 1: rows were
invalid, each reported, the others done)."""

from __future__ import annotations

import json

from tests.bad_inputs.sweep import Case

RESULTS = "m.jsonl.results.jsonl"
WROTE = (f"work/{RESULTS}", "work/m.results.jsonl", "work/m.csv.results.jsonl")


def rows(*items: dict[str, object]) -> str:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


def row(**fields: object) -> dict[str, object]:
    return {"id": "r1", "voice": "longxiaochun_v2", "text": "Hello.", **fields}


def bad(case_id: str, content: str | bytes, expect: int = 1, **kw: object) -> Case:
    """A manifest ``m.jsonl`` (or the name in ``kw['name']``) run by ``batch``."""
    name = str(kw.pop("name", "m.jsonl"))
    args: tuple[str, ...] = kw.pop("args", ())  # type: ignore[assignment]
    may_write: tuple[str, ...] = kw.pop("may_write", WROTE)  # type: ignore[assignment]
    results = tuple(f"work/{name}.results.jsonl" for _ in (1,))
    return Case(
        case_id,
        ("batch", name, *args),
        expect,
        files={name: content},
        may_write=(*may_write, *results),
        **kw,
    )  # type: ignore[arg-type]


MANIFEST_CASES: list[Case] = [
    bad("empty-file", "", 2),
    bad("csv-header-only", "id,voice,text\n", 2, name="m.csv"),
    bad("csv-no-known-header", "a,b,c\n1,2,3\n", 2, name="m.csv"),
    bad("binary-bytes", bytes(range(256)) * 4, 2),
    bad("utf16", rows(row()).encode("utf-16"), 2),
    Case("folder-as-manifest", ("batch", "adir"), 2),
    Case("missing-manifest", ("batch", "nope.jsonl"), 2),
    Case("fifo-as-manifest", ("batch", "ff"), 2),
    bad("jsonl-broken-line", "{bad\n"),
    bad("jsonl-array-line", "[1, 2]\n"),
    bad("duplicate-ids", rows(row(), row()), may_write=(*WROTE, "work/r1.wav")),
    bad("missing-id", rows({"voice": "longxiaochun_v2", "text": "Hi."})),
    bad("empty-text", rows(row(text=""))),
    bad("unknown-voice", rows(row(voice="nosuch"))),
    bad(
        "unknown-voice-many-rows-one-warning",
        rows(*(row(id=f"r{i}", voice="nosuch") for i in range(6))),
        expect_in="(6 rows)",
    ),
    bad("out-missing-folder", rows(row(out="no/x.wav"))),
    bad("out-dir", rows(row(out="adir"))),
    bad("out-fifo", rows(row(out="ff"))),
    bad("out-format-mismatch", rows(row(out="x.wav", format="mp3"))),
    bad("format-flac", rows(row(format="flac"))),
    bad("sample-rate-word", rows(row(sample_rate="abc"))),
    bad("volume-500", rows(row(volume=500))),
    bad("rate-0", rows(row(rate=0))),
    bad("model-unknown", rows(row(model="nosuch"))),
    bad(
        "language-hint-v2-many-rows",
        rows(*(row(id=f"r{i}", language_hint="zh") for i in range(6))),
        expect_in="(6 rows)",
        may_write=(*WROTE, "work/r?.wav"),
    ),
    bad(
        "id-escapes-the-folder",
        rows(row(id="../../x")),
        0,
        name="a/b/m.jsonl",
        may_write=("work/a/b/*",),
    ),
    bad(
        "id-absolute",
        rows(row(id="{W}/abs")),
        0,
        name="a/b/m.jsonl",
        may_write=("work/a/b/*",),
    ),
    bad("id-dot-dot", rows(row(id="..")), 0, name="a/b/m.jsonl", may_write=("work/a/b/*",)),
    bad("text-nul", rows(row(text="hi\x00there"))),
    bad("out-registered-sample", rows(row(out="{REF}")), setup="voice"),
    bad("concurrency-0", rows(row()), 2, args=("--concurrency", "0")),
    bad("retries-negative", rows(row()), 2, args=("--retries", "-1")),
    bad("results-dir", rows(row()), 2, args=("--results", "adir")),
    bad("results-missing-folder", rows(row()), 2, args=("--results", "no/r.jsonl")),
    bad("results-is-the-manifest", rows(row()), 2, args=("--results", "m.jsonl")),
]
