"""Checks as cilium-cli's connectivity test shapes them: family x scenario x action, gated by features.

A *check* is one scenario of one family (`dual-stack/pod-to-pod-cross-node`), written as a function that
reads a `CheckContext` and yields `Action`s, one per node, address family or listener
(`ipv4-lab-1-to-lab-2`). Every action becomes one `report.model.Case` named `family/scenario/action`: the
name `--check` selects, the JSON keys and the JUnit testcase shows.

A check declares what it requires (`Require.enabled("ipv6")`, `Require.mode("routing", "native")`); the
requirements are judged against a `FeatureSet` that `checks.features` derives purely from the facts and
the desired values. A check whose requirements are not met is reported as one skipped case with every
reason, never dropped silently. Known benign states (`checks.benign`) turn a failure into `explained`
with the upstream link.

Registering is a decorator in the family module; `checks/__init__.py` imports every family module, and a
test checks that each module under `checks/` that defines checks is imported.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cilium_tune.report.model import Case, Outcome

if TYPE_CHECKING:
    from cilium_tune.checks.features import FeatureSet
    from cilium_tune.checks.observe import Observations
    from cilium_tune.facts.model import Snapshot

FAMILIES: tuple[str, ...] = ("datapath", "dual-stack", "kube-proxy", "cni", "ingress", "workloads")

# What the client pods need to exist for a check to have anything to read.
NEEDS_PODS = "pods"


@dataclass(frozen=True)
class Require:
    """One precondition of a check: a feature must have a value (True for "enabled")."""

    feature: str
    value: str | bool = True

    @classmethod
    def enabled(cls, feature: str) -> Require:
        return cls(feature, True)

    @classmethod
    def mode(cls, feature: str, value: str) -> Require:
        return cls(feature, value)

    def unmet(self, features: FeatureSet) -> str | None:
        """None when met; else why not, naming where the feature's value came from."""
        found = features.get(self.feature)
        if found is None or found.value is None:
            why = found.source if found is not None else "nothing says"
            return f"{self.feature} is unknown ({why})"
        if found.value == self.value:
            return None
        return f"{self.feature} is {_word(found.value)}, the check needs {_word(self.value)} ({found.source})"


def _word(value: str | bool) -> str:
    if isinstance(value, bool):
        return "enabled" if value else "disabled"
    return value


@dataclass(frozen=True)
class Action:
    """One result of a check: the last segment of the case name, the outcome and its evidence."""

    name: str
    outcome: Outcome
    message: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    link: str | None = None

    @classmethod
    def passed(cls, name: str, message: str, **evidence: Any) -> Action:
        return cls(name, Outcome.PASS, message, evidence)

    @classmethod
    def failed(cls, name: str, message: str, **evidence: Any) -> Action:
        return cls(name, Outcome.FAIL, message, evidence)

    @classmethod
    def warned(cls, name: str, message: str, **evidence: Any) -> Action:
        return cls(name, Outcome.WARN, message, evidence)

    @classmethod
    def skipped(cls, name: str, reason: str, **evidence: Any) -> Action:
        return cls(name, Outcome.SKIP, reason, evidence, reason=reason)


@dataclass(frozen=True)
class CheckContext:
    """Everything a check reads. Frozen and complete before any check runs, so checks are pure.

    - `facts`: the snapshot collected at the start of the run (with node probes when they ran);
    - `values`: the desired chart values (`cilium_tune.desired`); `config`: the cilium-config the chart
      renders from them (None when it could not be rendered, with `config_error` saying why);
    - `features`: what the cluster should do, derived from both;
    - `agent_status`: per node, the parsed agent status, or why there is none;
    - `observations`: what the client pods saw (None when no check that needs pods was selected);
    - `endpoint_slices`, `services`: raw API objects for the Service checks;
    - `config_error`: why `config` is None; `ca_bundle`: whether HTTPS chains were verified against one.
    """

    facts: Snapshot
    values: Mapping[str, Any]
    config: Mapping[str, str] | None
    features: FeatureSet
    agent_status: Mapping[str, Any] = field(default_factory=dict)
    observations: Observations | None = None
    services: Sequence[Mapping[str, Any]] = ()
    endpoint_slices: Sequence[Mapping[str, Any]] = ()
    config_error: str | None = None
    ca_bundle: bool = False

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.facts.nodes)


CheckFunc = Callable[[CheckContext], Iterable[Action]]


@dataclass(frozen=True)
class Check:
    """A registered scenario of a family."""

    family: str
    scenario: str
    title: str
    func: CheckFunc
    requires: tuple[Require, ...] = ()
    needs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.family}/{self.scenario}"

    def unmet(self, features: FeatureSet) -> list[str]:
        return [reason for r in self.requires if (reason := r.unmet(features)) is not None]


class Registry:
    """Checks by name; refuses a duplicate or an unknown family."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def add(self, check: Check) -> None:
        if check.family not in FAMILIES:
            raise ValueError(f"check {check.name}: unknown family {check.family!r}")
        if check.name in self._checks:
            raise ValueError(f"check {check.name} registered twice")
        self._checks[check.name] = check

    def all(self) -> list[Check]:
        order = {f: i for i, f in enumerate(FAMILIES)}
        return sorted(self._checks.values(), key=lambda c: order[c.family])


registry = Registry()


def check(
    family: str, scenario: str, title: str, *, requires: Sequence[Require] = (), needs: Sequence[str] = ()
) -> Callable[[CheckFunc], CheckFunc]:
    """Register `func` as the check `family/scenario`."""

    def register(func: CheckFunc) -> CheckFunc:
        registry.add(Check(family, scenario, title, func, tuple(requires), tuple(needs)))
        return func

    return register


# ---------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """`--check GLOB` patterns; a pattern with fewer than three segments selects everything under it
    (`dual-stack` = `dual-stack/*/*`, `ingress/https` = `ingress/https/*`)."""

    patterns: tuple[str, ...] = ()

    def wants_check(self, c: Check) -> bool:
        if not self.patterns:
            return True
        for pattern in self.patterns:
            parts = pattern.split("/")
            scenario_ok = len(parts) < 2 or fnmatch.fnmatchcase(c.scenario, parts[1])
            if fnmatch.fnmatchcase(c.family, parts[0]) and scenario_ok:
                return True
            if fnmatch.fnmatchcase(c.name, pattern):  # a pattern like `*cross-node*`
                return True
        return False

    def wants_case(self, name: str) -> bool:
        if not self.patterns:
            return True
        return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, p + "/*") for p in self.patterns)


def selected(selection: Selection) -> list[Check]:
    return [c for c in registry.all() if selection.wants_check(c)]


# ---------------------------------------------------------------- running


def run_checks(ctx: CheckContext, checks: Iterable[Check], selection: Selection = Selection()) -> Iterator[Case]:
    """Every selected action of every check as a Case; skips and explanations included."""
    from cilium_tune.checks.benign import explain

    for c in checks:
        reasons = c.unmet(ctx.features)
        if reasons:
            name = f"{c.name}/all"
            if selection.wants_case(name):
                text = "; ".join(reasons)
                yield Case(name, Outcome.SKIP, text, reason=text)
            continue
        start = time.perf_counter()
        actions = list(c.func(ctx))
        elapsed = time.perf_counter() - start
        for action in actions:
            name = f"{c.name}/{action.name}"
            if not selection.wants_case(name):
                continue
            outcome, reason, link = action.outcome, action.reason, action.link
            if outcome is Outcome.FAIL:
                known = explain(c.name, action, ctx)
                if known is not None:
                    outcome, reason, link = Outcome.EXPLAINED, known.why, known.link
            yield Case(
                name,
                outcome,
                action.message,
                evidence=dict(action.evidence),
                reason=reason,
                link=link,
                duration_s=round(elapsed / max(1, len(actions)), 6),
            )
