"""Run the registered rules against one context and collect the findings, worst first."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import msgspec

from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.per_node import merge_per_node
from cilium_tune.rules.registry import Finding, Rule, Severity, registry


class LintResult(msgspec.Struct, frozen=True):
    """The rules that ran and what they found (ordered by severity, then rule id, then yield order)."""

    rules: tuple[Rule, ...]
    findings: tuple[Finding, ...]
    seconds: float = 0.0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def failed(self, threshold: Severity = Severity.ERROR) -> bool:
        """True when a finding is at `threshold` or worse (`lint` then exits 1)."""
        return any(f.severity is not None and f.severity.at_least(threshold) for f in self.findings)

    def by_rule(self, rule_id: str) -> list[Finding]:
        return [f for f in self.findings if f.rule_id == rule_id]


def run_rules(
    ctx: RuleContext,
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    rules: Sequence[Rule] | None = None,
) -> LintResult:
    """Run every rule (or those `select`ed, minus those `ignore`d) and sort the findings.

    `select` / `ignore` take ids, names or id prefixes (`CT2` = the datapath area); an unknown one
    raises KeyError naming it.
    """
    chosen = list(rules) if rules is not None else registry.select(select) if select else registry.all()
    dropped = {r.id for r in registry.select(ignore)} if ignore else set()
    chosen = [r for r in chosen if r.id not in dropped]
    start = time.perf_counter()
    found: list[tuple[int, str, int, Finding]] = []
    for rule in chosen:
        for index, finding in enumerate(merge_per_node(rule.run(ctx))):
            severity = finding.severity or rule.severity
            found.append((severity.rank, rule.id, index, finding))
    found.sort(key=lambda item: item[:3])
    return LintResult(
        rules=tuple(chosen),
        findings=tuple(item[3] for item in found),
        seconds=time.perf_counter() - start,
    )
