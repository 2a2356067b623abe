"""The neutral result model every report renders: lint findings, verify checks and bench comparisons.

Each producer maps its own results onto `Report`/`Case` once; each format (text, JSON, JUnit, Markdown,
HTML) then exists once and renders any of them. A case is named `family/scenario/action`
(`dual-stack/pod-to-pod-cross-node/ipv6`, `rules/CT201/netkit-on-old-kernel`, `throughput/pod-to-pod/ipv4`):
the same name selects it (`--check`), keys it in JSON and labels its JUnit testcase.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NOT_TESTED = "not tested"
"""How a report prints the verdict of a figure no test judged (a bench headline's `"verdict": null`)."""


class Outcome(enum.StrEnum):
    """What happened to one case. `explained` is a known benign state with an upstream link, not a pass."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"
    EXPLAINED = "explained"
    ERROR = "error"  # the case could not run (infrastructure), as cilium-cli records it

    @property
    def failed(self) -> bool:
        return self in (Outcome.FAIL, Outcome.ERROR)


@dataclass(frozen=True)
class Measurement:
    """One measured quantity with its uncertainty: a median and a confidence interval, or a plain value."""

    name: str
    unit: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    samples: int | None = None


@dataclass(frozen=True)
class Case:
    """One named result with the evidence that decided it (commands, addresses, status, agent lines)."""

    name: str
    outcome: Outcome
    message: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why skipped or explained
    link: str | None = None  # upstream issue or PR for an explained state
    measurements: tuple[Measurement, ...] = ()
    duration_s: float | None = None

    @property
    def family(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class Report:
    """A titled list of cases from one run of one producer (`lint`, `verify`, `bench-compare`)."""

    kind: str
    title: str
    cases: tuple[Case, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(c.outcome.failed for c in self.cases)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.cases if c.outcome is outcome)
