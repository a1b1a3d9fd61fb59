"""`demo`: the whole journey offline — sample, check, clone, wait, speak, evidence."""

from __future__ import annotations

import shutil
import sys
import time
from importlib import resources
from typing import Any

import typer

from ..errors import Interrupted
from .common import AppState, state
from .interrupt import run_interruptible
from .ui import open_client, status_spinner

DEMO_PREFIX = "demo"
DEMO_REGION = "cn-beijing"
SENTENCES = (
    ("zh", "你好！这是克隆出来的声音，在本机离线合成的一句中文。"),
    ("en", "Hello! This sentence was spoken offline by the cloned demo voice."),
)


def _step(app_state: AppState, number: int, name: str, text: str) -> None:
    if not app_state.json:
        app_state.console.print(f"[bold]{number}/5 {name:<6}[/] {text}", markup=True)


def demo(
    ctx: typer.Context,
    target_model: str = typer.Option(
        "cosyvoice-v3.5-plus", "--target-model", help="Model to clone the demo voice for."
    ),
) -> None:
    """Run the whole journey offline on the embedded emulator.

    Copies the reference sample shipped with the package, checks it, clones it (reusing the
    voice on later runs), waits until it is OK, speaks one Chinese and one English sentence
    into audio files, and writes evidence. Needs no key and no network. Example:

    \b
      cosyvoice-clone --home .demo-home demo
    """
    from ..audio import check_sample
    from ..client import write_json
    from ..errors import SampleRejectedError

    app_state = state(ctx)
    if app_state.region not in (None, DEMO_REGION):
        app_state.warn(f"the demo runs in {DEMO_REGION} (temporary uploads exist only there)")
    app_state.region = DEMO_REGION
    app_state.emulator = True  # the demo is always offline
    settings = app_state.settings()
    out_dir = settings.output_dir / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    if not app_state.json:
        app_state.console.print(
            f"cosyvoice-clone demo — offline emulator at {settings.http_base}", markup=False
        )

    sample = out_dir / "reference_en.wav"
    with resources.as_file(resources.files("cosyvoice_clone") / "data/reference_en.wav") as src:
        shutil.copyfile(src, sample)
    _step(app_state, 1, "sample", f"{sample} (real speech, shipped with the package)")

    report = check_sample(sample, target_model)
    m = report.measurements
    _step(
        app_state,
        2,
        "check",
        f"{report.verdict}: {m.get('duration_s', 0):.1f} s at {m.get('sample_rate')} Hz"
        + "".join(f"; {p.severity}: {p.message}" for p in report.problems if p.severity != "info"),
    )
    if report.verdict == "fail":
        raise SampleRejectedError("the shipped demo sample failed its check (a packaging bug)")

    summary: dict[str, Any] = {"ok": True, "sample": str(sample), "check": report.to_dict()}

    def run_demo() -> list[dict[str, Any]]:
        with open_client(app_state) as client:
            started = time.monotonic()
            clone = client.clone(
                prefix=DEMO_PREFIX,
                sample=sample,
                target_model=target_model,
                language_hints=["en"],
                wait=False,
            )
            how = "reused from an earlier run, no slot spent" if clone.reused else "new"
            _step(app_state, 3, "clone", f"{clone.voice_id} ({how})")
            with status_spinner(app_state, "waiting for the voice") as on_status:
                status = client.wait(clone.voice_id, timeout=120, on_status=on_status)
            _step(app_state, 4, "wait", f"{status} after {time.monotonic() - started:.1f} s")
            summary["voice"] = {**clone.to_dict(), "status": status}

            audio = []
            for language, text in SENTENCES:
                result = client.speak(text, out_dir / f"demo_{language}.wav", voice=clone.voice_id)
                audio.append({"language": language, "text": text, **result.to_dict()})
            summary["audio"] = audio
        return audio

    audio = run_interruptible(
        run_demo,
        lambda signum: Interrupted(
            signum, hint="run the demo again: it reuses its voice (no new slot)"
        ),
    )
    _step(
        app_state,
        5,
        "speak",
        "; ".join(f"{a['language']}: {a['path']} ({a['duration']:.1f} s)" for a in audio),
    )
    summary["evidence"] = str(write_json(settings.output_dir / "demo.json", summary))
    summary["output_dir"] = str(settings.output_dir)
    summary["home"] = str(settings.home)

    def human() -> None:
        console = app_state.console
        console.print(f"evidence: {settings.output_dir} (demo.json, latest.json, voices/VOICE_ID/)")
        console.print(f"registry and emulator state: {settings.home}")
        program = "cosyvoice-clone"
        if shutil.which(program) is None:  # e.g. after `make demo`, inside .venv/bin only
            invoked = sys.argv[0] if sys.argv else ""
            program = invoked if invoked and not invoked.endswith(".py") else program
        console.print(
            f"next: play the files above, or `{program} --emulator --home {settings.home} "
            "voices list`"
        )

    app_state.emit(summary, human)


def register(app: typer.Typer) -> None:
    """Add `demo` to ``app``."""
    app.command("demo")(demo)
