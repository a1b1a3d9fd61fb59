"""Long-text synthesis: ours (split, concurrent, streamed to one file) vs the official SDK.

    python benchmarks/long_text.py [--chars 20000] [--latency 0.3] [--rtf 0.2] [--concurrency 4]
                                   [--hour 3600] [--skip-sdk]

Starts `cosyvoice-clone emulator serve` in a subprocess with `--first-audio-latency 0.3 --rtf
0.2` (rate limits on, as the service), creates a voice through its HTTP API, then:

1. Wall time: our ``Synthesizer.speak`` on a 20,000-character text (mostly English, some
   Chinese) into one WAV, vs the official SDK's ``SpeechSynthesizer.call`` over the *same
   chunks* one after another (what a user of the SDK does: one call per chunk, each under the
   20,000-character message limit). Ratio SDK/ours (goal: at least 2.5x).
2. Time to first audio: ours from the call (connection included) vs the emulator's configured
   latency (goal: within 10%); the SDK's own first-package delay for comparison.
3. Peak memory while writing an hour of audio (24 kHz WAV, emulator at full speed): our
   ``speak`` in a fresh subprocess, max RSS from ``getrusage`` (goal: under 150 MB), next to
   the same process's RSS after imports (Linux ``VmHWM``); the SDK baseline (sequential
   ``call`` per chunk, each chunk written to the file) measured the same way.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import EmulatorProcess, print_table

MODEL = "cosyvoice-v3.5-plus"
SAMPLE_RATE = 24000

_SENTENCES = (
    "The morning train left the station a little after seven, carrying commuters toward the city.",
    "Nobody on the platform noticed the old man with the violin case until he began to play.",
    "Music has a way of changing the shape of a crowded room.",
    "By the time the doors closed, half the carriage was humming the same melody.",
    "She wrote the numbers down carefully, checking each one twice before moving on.",
    "Weather reports promised rain, but the afternoon stayed bright and dry.",
    "今天的天气很好，我们一起去公园散步吧。",
    "He had always believed that a good map was worth more than a fast car.",
    "The library closes at nine, so there is still time to finish the chapter.",
    "这本书讲述了一个关于勇气和友谊的故事。",
)


def make_text(chars: int) -> str:
    """A deterministic text of exactly ``chars`` characters, ending at a sentence."""
    out: list[str] = []
    size = 0
    i = 0
    while size < chars:
        sentence = _SENTENCES[i % len(_SENTENCES)] + " "
        out.append(sentence)
        size += len(sentence)
        i += 1
    return "".join(out)[:chars].rstrip() + "."


class Server(EmulatorProcess):
    """The emulator with a helper that enrolls the benchmark voice."""

    def create_voice(self) -> str:
        response = httpx.post(
            self.http_base + "/services/audio/tts/customization",
            json={"model": "voice-enrollment", "input": {
                "action": "create_voice", "target_model": MODEL, "prefix": "bench",
                "url": self.sample_url}},
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=60,
        )  # fmt: skip
        response.raise_for_status()
        return str(response.json()["output"]["voice_id"])


def chunks_of(text: str, concurrency: int) -> list[str]:
    """The parts our client makes of ``text`` (the SDK baseline speaks the same ones)."""
    from cosyvoice_clone import catalog
    from cosyvoice_clone.synthesis.text import part_weight_for, split_text

    return split_text(text, part_weight_for(catalog.text_weight(text), concurrency))


def run_ours(server: Server, voice: str, text: str, out: Path, concurrency: int) -> dict[str, Any]:
    from cosyvoice_clone.synthesis import SynthesisOptions, Synthesizer

    synth = Synthesizer(api_key=server.api_key, websocket_url=server.websocket_url,
                        event_timeout=120)  # fmt: skip
    started = time.perf_counter()
    result = synth.speak(
        text,
        out,
        voice=voice,
        concurrency=concurrency,
        options=SynthesisOptions(format="wav", sample_rate=SAMPLE_RATE),
    )
    wall = time.perf_counter() - started
    return {"wall": wall, "ttfa": result.time_to_first_audio, "audio": result.duration,
            "parts": result.parts}  # fmt: skip


def run_sdk(server: Server, voice: str, parts: list[str], out: Path) -> dict[str, Any]:
    import dashscope
    from dashscope.audio.tts_v2 import AudioFormat, SpeechSynthesizer

    dashscope.api_key = server.api_key
    started = time.perf_counter()
    first_delay = None
    total_bytes = 0
    with out.open("wb") as f:
        for part in parts:
            synthesizer = SpeechSynthesizer(
                model=MODEL, voice=voice, format=AudioFormat.WAV_24000HZ_MONO_16BIT,
                url=server.websocket_url,
            )  # fmt: skip
            call_started = time.perf_counter()
            audio = synthesizer.call(part, timeout_millis=600_000)
            if first_delay is None:
                first_delay = synthesizer.get_first_package_delay() / 1000
                first_call = time.perf_counter() - call_started
            f.write(audio)
            total_bytes += len(audio)
    wall = time.perf_counter() - started
    return {"wall": wall, "first_package_delay": first_delay, "first_call": first_call,
            "bytes": total_bytes}  # fmt: skip


def max_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux: ``VmHWM`` of ``/proc/self/status`` (``ru_maxrss`` would carry over the parent's peak
    across fork+exec); elsewhere ``getrusage``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


def memory_child(args: argparse.Namespace) -> None:
    """Run in a fresh process: write about an hour of audio, print peak RSS as JSON."""
    # Import what each side needs before measuring the baseline.
    if args.memory_child == "ours":
        import numpy  # noqa: F401
        import soundfile  # noqa: F401
        import websockets.sync.client  # noqa: F401

        import cosyvoice_clone.synthesis.client  # noqa: F401
    else:
        import dashscope.audio.tts_v2  # noqa: F401

    server = argparse.Namespace(api_key=args.key, websocket_url=args.url)
    text = make_text(args.chars)
    baseline = max_rss_mb()
    out = Path(args.out)
    started = time.perf_counter()
    if args.memory_child == "ours":
        result = run_ours(server, args.voice, text, out, args.concurrency)  # type: ignore[arg-type]
        audio = result["audio"]
    else:
        run_sdk(server, args.voice, chunks_of(text, args.concurrency), out)  # type: ignore[arg-type]
        audio = None
    print(json.dumps({"baseline_mb": baseline, "peak_mb": max_rss_mb(), "audio": audio,
                      "file_mb": out.stat().st_size / 1e6,
                      "wall": time.perf_counter() - started}))  # fmt: skip


def measure_memory(server: Server, voice: str, side: str, chars: int, concurrency: int,
                   out: Path) -> dict[str, Any]:  # fmt: skip
    proc = subprocess.run(
        [sys.executable, __file__, "--memory-child", side, "--url", server.websocket_url,
         "--key", server.api_key, "--voice", voice, "--chars", str(chars),
         "--concurrency", str(concurrency), "--out", str(out)],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"memory run ({side}) failed:\n{proc.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--rtf", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--hour", type=float, default=3600.0, help="Seconds of audio for the memory run."
    )
    parser.add_argument(
        "--ttfa-runs", type=int, default=5, help="Runs of ours for the time-to-first-audio median."
    )
    parser.add_argument("--skip-sdk", action="store_true", help="Only measure our side.")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-child", choices=("ours", "sdk"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--voice", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args)
        return

    from cosyvoice_clone.emulator.speech import spoken_seconds

    server = Server("--first-audio-latency", str(args.latency), "--rtf", str(args.rtf))
    try:
        voice = server.create_voice()
        text = make_text(args.chars)
        parts = chunks_of(text, args.concurrency)
        print(
            f"text: {len(text)} characters, {len(parts)} parts, about "
            f"{sum(spoken_seconds(p) for p in parts) / 60:.1f} min of audio; emulator latency "
            f"{args.latency} s, rtf {args.rtf}; concurrency {args.concurrency}",
            flush=True,
        )
        work = Path(tempfile.mkdtemp(prefix="cosyvoice-bench-"))
        # Warm both sides up (imports, the emulator's first task), as a live service would be.
        run_ours(server, voice, "Warm up.", work / "warm.wav", 1)
        if not args.skip_sdk:
            time.sleep(1.0)
            run_sdk(server, voice, ["Warm up."], work / "warm-sdk.wav")
        time.sleep(1.0)
        ours = run_ours(server, voice, text, work / "ours.wav", args.concurrency)
        print(f"ours: {ours['wall']:.1f} s", flush=True)
        rows = [("wall time (s)", f"{ours['wall']:.1f}", "", ""),
                ("time to first audio (s)", f"{ours['ttfa']:.3f}", "", "")]  # fmt: skip
        if not args.skip_sdk:
            sdk = run_sdk(server, voice, parts, work / "sdk.wav")
            print(f"sdk:  {sdk['wall']:.1f} s", flush=True)
            rows = [
                ("wall time (s)", f"{ours['wall']:.1f}", f"{sdk['wall']:.1f}",
                 f"{sdk['wall'] / ours['wall']:.2f}x faster (goal >= 2.5x)"),
                ("time to first audio (s)", f"{ours['ttfa']:.3f}",
                 f"{sdk['first_package_delay']:.3f} (SDK's own, after connecting)",
                 f"{(ours['ttfa'] / args.latency - 1) * 100:+.1f}% vs latency {args.latency} "
                 "(goal within 10%)"),
            ]  # fmt: skip
        # More samples of our time to first audio: the same text, rtf 0 (the first frame is
        # paced by the latency alone, exactly as above), median of --ttfa-runs.
        server.configure(rtf=0)
        samples = [ours["ttfa"]]
        for _ in range(args.ttfa_runs - 1):
            time.sleep(1.2)  # a fresh rate-limit window
            again = run_ours(server, voice, text, work / "ttfa.wav", args.concurrency)
            samples.append(again["ttfa"])
        median = statistics.median(samples)
        rows.append(("time to first audio, median (s)", f"{median:.3f}", "",
                     f"{(median / args.latency - 1) * 100:+.1f}% over {len(samples)} runs: "
                     + ", ".join(f"{x:.3f}" for x in samples)))  # fmt: skip
        server.configure(rtf=args.rtf)
        print()
        print_table("Long text", rows, ("measure", "ours", "SDK call, sequential", "ratio"))

        if not args.skip_memory:
            # Full speed; limits off so that the SDK's fast sequential calls are not throttled
            # (it does not retry), which would end its run early.
            server.configure(first_audio_latency=0, rtf=0, rate_limits=False)
            from cosyvoice_clone.emulator.speech import LATIN_CHARS_PER_SECOND

            hour_chars = int(args.hour * LATIN_CHARS_PER_SECOND * 0.93)
            mem_rows = []
            ours_mem = measure_memory(server, voice, "ours", hour_chars, args.concurrency,
                                      work / "hour-ours.wav")  # fmt: skip
            mem_rows.append(("ours (speak)", f"{ours_mem['audio'] / 60:.1f} min",
                             f"{ours_mem['file_mb']:.0f}", f"{ours_mem['baseline_mb']:.0f}",
                             f"{ours_mem['peak_mb']:.0f}"))  # fmt: skip
            if not args.skip_sdk:
                sdk_mem = measure_memory(server, voice, "sdk", hour_chars, args.concurrency,
                                         work / "hour-sdk.wav")  # fmt: skip
                mem_rows.append(("SDK (call per chunk)", "same text",
                                 f"{sdk_mem['file_mb']:.0f}", f"{sdk_mem['baseline_mb']:.0f}",
                                 f"{sdk_mem['peak_mb']:.0f}"))  # fmt: skip
            print()
            print_table(
                f"Peak memory writing about an hour of audio ({hour_chars} characters, 24 kHz "
                "WAV; goal: ours under 150 MB)",
                mem_rows,
                ("side", "audio", "file MB", "RSS after imports MB", "peak RSS MB"),
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
