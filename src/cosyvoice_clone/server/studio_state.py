"""What the studio keeps between requests: the browser's samples, long jobs, auditions and
design previews (each reachable by an unguessable token), in memory and under the home.

Nothing here calls the library; :mod:`.studio` does.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..client import AsyncAudioStream
from .protocol import APIError

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")
_SAFE_NAME = re.compile(r"[^\w.-]+")

T = TypeVar("T")


def new_token() -> str:
    """An unguessable id for a job, an audition or a preview URL."""
    return secrets.token_urlsafe(16)


# --------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """A sample the browser gave: a stored file or a URL."""

    id: str
    name: str
    source: str
    """A local path or an http(s) URL: what the library is given."""
    size: int | None = None
    fixed_from: str | None = None

    @property
    def is_url(self) -> bool:
        return self.source.lower().startswith(("http://", "https://"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "url": self.source if self.is_url else f"/studio/api/samples/{self.id}/audio",
            "fixed_from": self.fixed_from,
        }


class SampleStore:
    """Samples under ``<home>/studio/samples/<hash of the content>/<the browser's file name>``
    (the registry shows that name as the voice's sample)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._samples: dict[str, Sample] = {}

    def add_bytes(self, data: bytes, filename: str) -> Sample:
        name = _SAFE_NAME.sub("_", Path(filename or "sample").name).strip("._") or "sample"
        if not _SUFFIX.match(Path(name).suffix.lower()):
            name += ".bin"
        sample_id = hashlib.sha256(data).hexdigest()[:16]
        folder = self.root / sample_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return self._keep(Sample(sample_id, name, str(path), len(data)))

    def add_url(self, url: str) -> Sample:
        sample_id = "u" + hashlib.sha256(url.encode()).hexdigest()[:15]
        return self._keep(Sample(sample_id, url.rsplit("/", 1)[-1] or url, url))

    def fixed_path(self, sample: Sample) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f"{sample.id}.fixing.wav"

    def add_fixed(self, original: Sample, path: Path) -> Sample:
        stem = Path(original.name).stem or "sample"
        fixed = self.add_bytes(path.read_bytes(), f"{stem}.fixed.wav")
        path.unlink(missing_ok=True)
        return self._keep(replace(fixed, fixed_from=original.id))

    def get(self, sample_id: str) -> Sample:
        sample = self._samples.get(sample_id)
        if sample is None:
            raise APIError(404, "unknown sample: record, upload or give a URL first",
                           param="sample", code="sample_not_found")  # fmt: skip
        return sample

    def _keep(self, sample: Sample) -> Sample:
        self._samples[sample.id] = sample
        return sample


# --------------------------------------------------------------------------- jobs


class Job:
    """Long work whose events the page follows (SSE); the last event is ``done`` or
    ``error``."""

    def __init__(self) -> None:
        self.id = new_token()
        self.events: list[dict[str, Any]] = []
        self.finished = False
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def emit(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.finished = self.finished or event["type"] in ("done", "error")
        self._changed.set()
        self._changed = asyncio.Event()

    def status(self, status: str, **fields: Any) -> None:
        self.emit({"type": "status", "status": status, **fields})

    def on_status(self, voice_id: str, status: str | None, elapsed: float) -> None:
        """The library's wait callback: each poll's status, pushed to the page."""
        self.status(status or "unknown", voice_id=voice_id, elapsed_s=round(elapsed, 1))

    async def follow(self) -> AsyncIterator[dict[str, Any]]:
        sent = 0
        while True:
            changed = self._changed
            while sent < len(self.events):
                sent += 1
                yield self.events[sent - 1]
            if self.finished:
                return
            await changed.wait()


class Jobs:
    """The jobs by id; finished ones beyond ``keep`` are forgotten, oldest first."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._jobs: dict[str, Job] = {}

    def add(self, job: Job) -> None:
        finished = [k for k, j in self._jobs.items() if j.finished]
        for key in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[key]
        self._jobs[job.id] = job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)


# --------------------------------------------------------------------------- auditions


@dataclass
class SpeechOrder:
    """An audition the page asked for, spoken with the library's checks already passed."""

    voice: str
    text: str
    format: str
    rate: float
    pitch: float
    volume: int
    instruction: str | None
    pending: AsyncAudioStream | None = None
    """The stream opened when the order was taken, until its URL is opened (or it expires)."""
    audio: bytes | None = None
    """The whole audio once a stream of it has finished (replays and downloads)."""


class Kept(Generic[T]):
    """The newest ``size`` items by token; older ones are dropped (``on_drop`` sees each)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()

    def add(self, item: T) -> tuple[str, list[T]]:
        """Keep ``item`` under a new token; return it and the items dropped to make room."""
        token = new_token()
        self._items[token] = item
        dropped = []
        while len(self._items) > self.size:
            dropped.append(self._items.popitem(last=False)[1])
        return token, dropped

    def get(self, token: str) -> T | None:
        return self._items.get(token)

    def values(self) -> list[T]:
        return list(self._items.values())
