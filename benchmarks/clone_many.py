"""100 clones against the emulator (default rate limits): our async client vs the official SDK.

The emulator runs as a separate process (``cosyvoice-clone emulator serve``) with its default
limits (10 enrollment requests/s, sliding window) and no deploy delay. Each side clones N voices
with distinct prefixes from the same http sample URL; the emulator is reset in between. The
baseline is what a user writes with the official SDK: ``VoiceEnrollmentService.create_voice`` in a
loop, sleeping 1 s and trying again when it raises a throttling error (the SDK itself never retries
429). Ours is ``AsyncCosyVoice.clone`` for all prefixes at once (``asyncio.gather``), paced by the
client. Prints wall time, throttling errors seen, voices on the service, and the ratio:

    python benchmarks/clone_many.py [--count 100] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import EmulatorProcess, print_table

KEY = "sk-cosyvoice-emulator"
MODEL = "cosyvoice-v3.5-plus"


def run_sdk(base: str, sample_url: str, count: int, retry: bool = True) -> dict[str, Any]:
    from dashscope.audio.tts_v2 import VoiceEnrollmentService
    from dashscope.audio.tts_v2.enrollment import VoiceEnrollmentException

    service = VoiceEnrollmentService(api_key=KEY, base_address=f"{base}/api/v1")
    throttled = other = 0
    started = time.perf_counter()
    for i in range(count):
        while True:
            try:
                service.create_voice(target_model=MODEL, prefix=f"s{i}", url=sample_url)
                break
            except VoiceEnrollmentException as exc:
                if "Throttling" in str(exc):
                    throttled += 1
                    if retry:
                        time.sleep(1.0)
                        continue
                other += 1
                break
    return {"wall": time.perf_counter() - started, "throttled": throttled, "errors": other}


def run_ours(base: str, sample_url: str, count: int, concurrency: int) -> dict[str, Any]:
    from cosyvoice_clone.client import AsyncCosyVoice

    async def main() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            async with AsyncCosyVoice(
                api_key=KEY,
                http_base=f"{base}/api/v1",
                home=Path(tmp) / "home",
                output_dir=Path(tmp) / "out",
                max_connections=concurrency,
            ) as client:
                gate = asyncio.Semaphore(concurrency)

                async def one(i: int) -> Any:
                    async with gate:
                        return await client.clone(prefix=f"o{i}", sample=sample_url)

                started = time.perf_counter()
                results = await asyncio.gather(
                    *(one(i) for i in range(count)), return_exceptions=True
                )
                wall = time.perf_counter() - started
                stats = client.http_stats
                return {
                    "wall": wall,
                    "throttled": stats.retry_reasons.get("http429", 0),
                    "errors": sum(isinstance(r, BaseException) for r in results),
                    "attempts": stats.attempts,
                }

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    os.environ.pop("DASHSCOPE_HTTP_BASE_URL", None)
    server = EmulatorProcess("--log-level", "warning")
    base = server.http_base.removesuffix("/api/v1")
    try:
        sample_url = server.sample_url
        rows = []
        results: dict[str, dict[str, Any]] = {}
        labels = {
            "sdk": "dashscope SDK loop + 1 s retry on 429",
            "sdk-bare": "dashscope SDK loop, no retry",
            "ours": "AsyncCosyVoice.clone (gather)",
        }
        run_sdk(base, sample_url, 3)  # warm-up: the first samples load the emulator's audio code
        for name in ("sdk", "ours", "sdk-bare"):
            server.reset()
            server.configure(deploy_delay=0)
            if name == "ours":
                res = run_ours(base, sample_url, args.count, args.concurrency)
            else:
                res = run_sdk(base, sample_url, args.count, retry=name == "sdk")
                if name == "sdk-bare":
                    res["errors"] = res["throttled"]  # each one is a clone that failed
            res["voices"] = int(server.state()["voices"])
            results[name] = res
            rows.append(
                (
                    labels[name],
                    f"{res['wall']:.2f}",
                    f"{args.count / res['wall']:.1f}",
                    str(res["throttled"]),
                    str(res["errors"]),
                    str(res["voices"]),
                )
            )
        print_table(
            f"{args.count} clones, emulator default rate limits (10 enrollment requests/s)",
            rows,
            ("client", "wall s", "clones/s", "429 seen", "errors", "voices on service"),
        )
        ratio = results["sdk"]["wall"] / results["ours"]["wall"]
        print(f"wall-time ratio SDK loop with retry / ours: {ratio:.2f}x")
        print(
            f"without a hand-written retry the SDK loop lost {results['sdk-bare']['errors']} of "
            f"{args.count} clones to throttling"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
