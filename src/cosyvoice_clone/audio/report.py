"""The typed result of the sample check: :class:`CheckReport` and its :class:`Problem` items.

Frozen: a report is a value, built once by the judge; frontends (``check --json``, the MCP
tool, the clone preflight) render it through :meth:`CheckReport.to_dict`, whose keys are stable
(new keys may be added, none renamed).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .decode import DECODER_ERROR, UNSUPPORTED_FORMAT

if TYPE_CHECKING:
    from .measure import Analysis

Severity = Literal["fail", "warn", "info"]
Verdict = Literal["pass", "warn", "fail"]

SHORT = "Audio.AudioShortError"
SILENT = "Audio.AudioSilentError"
RATE = "Audio.AudioRateError"

SERVICE_ORDER = (UNSUPPORTED_FORMAT, DECODER_ERROR, RATE, SILENT, SHORT)
"""Order in which the service's own checks are assumed to run."""

_SEVERITY_ORDER = {"fail": 0, "warn": 1, "info": 2}


@dataclass(frozen=True)
class Problem:
    """One finding of the check (a reason for the verdict)."""

    code: str
    severity: Severity
    message: str
    service_code: str | None = None
    fixable: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape of the problem."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "service_code": self.service_code,
            "fixable": self.fixable,
        }


@dataclass(frozen=True)
class CheckReport:
    """The result of checking one sample: verdict, problems (reasons) and measurements.

    ``measurements`` is read-only; ``analysis`` keeps the arrays behind it (frame levels,
    speech mask) for ``--fix`` and ``--plot`` and is not part of :meth:`to_dict`.
    """

    verdict: Verdict
    problems: tuple[Problem, ...]
    measurements: Mapping[str, Any]
    target_model: str
    source: str | None = None
    analysis: Analysis | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "measurements", types.MappingProxyType(dict(self.measurements)))

    @classmethod
    def of(
        cls,
        problems: list[Problem] | tuple[Problem, ...],
        measurements: Mapping[str, Any],
        target_model: str,
        source: str | None = None,
        analysis: Analysis | None = None,
    ) -> CheckReport:
        """A report whose problems are sorted most severe first and whose verdict follows them."""
        ordered = tuple(sorted(problems, key=lambda p: _SEVERITY_ORDER[p.severity]))
        return cls(verdict_of(ordered), ordered, measurements, target_model, source, analysis)

    @property
    def ok(self) -> bool:
        """True unless the verdict is ``fail`` (the service would likely refuse the sample)."""
        return self.verdict != "fail"

    @property
    def service_code(self) -> str | None:
        """The ``Audio.*`` (or format) error the service would most likely answer, if any."""
        codes = {p.service_code for p in self.problems if p.service_code}
        return next((c for c in SERVICE_ORDER if c in codes), None)

    def to_dict(self) -> dict[str, Any]:
        """``{"verdict", "problems", "measurements", ...}`` as printed by ``check --json``."""
        return {
            "verdict": self.verdict,
            "problems": [p.to_dict() for p in self.problems],
            "measurements": dict(self.measurements),
            "target_model": self.target_model,
            "source": self.source,
            "service_code": self.service_code,
        }


def verdict_of(problems: list[Problem] | tuple[Problem, ...]) -> Verdict:
    """``fail`` if any problem fails, else ``warn`` if any warns, else ``pass``."""
    severities = {p.severity for p in problems}
    if "fail" in severities:
        return "fail"
    return "warn" if "warn" in severities else "pass"
