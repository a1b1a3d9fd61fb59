"""Fault injection: the kinds of chaos the emulator can inject and the ``--faults`` spec parser.

A spec is comma-separated ``kind=probability`` pairs, e.g. ``http503=0.2,drop_after_commit=0.1``.
Probabilities are in [0, 1] and required (``http503=1`` fails every request; a bare
``http503`` is refused rather than silently meaning 100 %).

Kinds:

- ``http500``: an enrollment/upload-policy request fails with 500 ``InternalError``.
- ``http503``: ... with 503 ``ServiceUnavailable``.
- ``http429``: ... with 429 ``Throttling.RateQuota`` and a ``Retry-After`` header.
- ``drop_after_commit``: ``create_voice`` stores the voice, then drops the connection
  without sending a response (the ambiguous failure that makes blind retries dangerous).
- ``ws_drop``: a synthesis WebSocket is closed mid-stream.
- ``task_failed``: a synthesis task fails mid-stream with ``task-failed``.
- ``review_reject``: a cloned voice passes the sample checks but ends ``UNDEPLOYED``.
"""

from __future__ import annotations

FAULT_KINDS: tuple[str, ...] = (
    "http500",
    "http503",
    "http429",
    "drop_after_commit",
    "ws_drop",
    "task_failed",
    "review_reject",
)


class FaultSpecError(ValueError):
    """A ``--faults`` spec that cannot be parsed; the message says what is wrong."""


def parse_faults(spec: str | None) -> dict[str, float]:
    """Parse ``kind=probability,...`` into a dict; raise :class:`FaultSpecError` if invalid."""
    faults: dict[str, float] = {}
    if spec is None or not spec.strip():
        return faults
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        kind, sep, value = item.partition("=")
        kind = kind.strip()
        if kind not in FAULT_KINDS:
            raise FaultSpecError(
                f"unknown fault kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}"
            )
        if not sep or not value.strip():
            raise FaultSpecError(
                f"fault {kind} needs a probability: write {kind}=0.2 (or {kind}=1 for every time)"
            )
        try:
            probability = float(value)
        except ValueError:
            raise FaultSpecError(
                f"fault {kind}: probability {value.strip()!r} is not a number (write {kind}=0.2)"
            ) from None
        if not 0.0 <= probability <= 1.0:
            raise FaultSpecError(f"fault {kind}: probability {probability} is not in [0, 1]")
        faults[kind] = probability
    return faults


def validate_faults(faults: dict[str, float]) -> dict[str, float]:
    """Check a faults dict (kinds known, probabilities in [0, 1]); return a clean copy."""
    clean: dict[str, float] = {}
    for kind, value in faults.items():
        if kind not in FAULT_KINDS:
            raise FaultSpecError(
                f"unknown fault kind {kind!r}; known kinds: {', '.join(FAULT_KINDS)}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FaultSpecError(f"fault {kind}: probability must be a number")
        if not 0.0 <= float(value) <= 1.0:
            raise FaultSpecError(f"fault {kind}: probability {value} is not in [0, 1]")
        clean[kind] = float(value)
    return clean


def format_faults(faults: dict[str, float]) -> str:
    """The spec string of a faults dict (``""`` when there are none)."""
    return ",".join(f"{kind}={p:g}" for kind, p in faults.items() if p > 0)
