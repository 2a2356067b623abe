"""Terminal text: findings grouped by severity with their evidence and fix, the rules table, one rule."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cilium_tune.layout import fit, wrap
from cilium_tune.rules import LintResult, Rule, Severity, registry
from cilium_tune.rules.links import links
from cilium_tune.rules.registry import DOC_SECTIONS

if TYPE_CHECKING:
    from cilium_tune.report.model import Case, Report

Style = Callable[[str, Severity], str]


def plain(text: str, severity: Severity) -> str:
    """No styling (files, pipes, golden tests)."""
    return text


def show_value(value: Any) -> str:
    """Evidence values as the user would write them: strings bare, everything else as JSON."""
    if isinstance(value, str) and value:
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 or word == "info" else "s")


def summary_line(result: LintResult) -> str:
    """`1 error, 2 warnings, 0 info from 31 rules`."""
    counts = ", ".join(_plural(result.count(s), str(s)) for s in Severity)
    return f"{counts} from {_plural(len(result.rules), 'rule')}"


def render_findings(result: LintResult, *, style: Style = plain, width: int | None = 100) -> str:
    """Findings grouped by severity (worst first), each with evidence and fix, then a summary line;
    every line fits `width` (styling adds no visible width, so it is applied after wrapping)."""
    lines: list[str] = []
    for severity in Severity:
        group = [f for f in result.findings if f.severity == severity]
        if not group:
            continue
        lines.append(style(f"{severity} ({len(group)})", severity))
        for finding in group:
            rule = registry.find(finding.rule_id)
            name = f" {rule.name}" if rule else ""
            head = wrap(f"{finding.rule_id}{name}: {finding.message}", width, indent="  ", subsequent="      ")
            head[0] = head[0].replace(finding.rule_id, style(finding.rule_id, severity), 1)
            lines.extend(head)
            lines.extend(fit((f"      {line}" for line in evidence_lines(finding.evidence)), width))
            if finding.fix:
                lines.extend(wrap(finding.fix, width, indent="    fix: ", subsequent="         "))
            if finding.patch is not None:
                lines.extend(fit([f"    values patch: {show_value(finding.patch)}"], width))
        lines.append("")
    rules = _plural(len(result.rules), "rule")
    lines.append(summary_line(result) if result.findings else f"no findings from {rules}")
    return "\n".join(lines) + "\n"


def render_rule_table(rules: Iterable[Rule], *, width: int | None = None) -> str:
    """One row per rule: id, severity, name, title (for `cilium-tune rules list`).

    The title wraps inside its column to fit `width`; when the column would be narrower than 24
    characters, the title goes under the row instead. `width=None` is `-o wide`: one line per rule.
    """
    rows = [(r.id, str(r.severity), r.name, r.title) for r in rules]
    if not rows:
        return "no rules\n"
    header = ("ID", "SEVERITY", "NAME")
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(header)]
    lead = sum(widths) + 2 * len(widths)
    beside = width is None or width - lead >= 24
    head = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [f"{head}  TITLE"] if beside else [head.rstrip(), " " * (widths[0] + 2) + "TITLE"]
    for row in rows:
        cells = "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True))
        if width is None:
            out.append(f"{cells}  {row[3]}")
        elif beside:
            title = wrap(row[3], width, indent=f"{cells}  ", subsequent=" " * lead)
            out.extend(title)
        else:
            out.append(cells.rstrip())
            out.extend(wrap(row[3], width, indent=" " * (widths[0] + 2)))
    return "\n".join(out) + "\n"


def render_rule(rule: Rule, *, source: str | None = None) -> str:
    """The full documentation of one rule (for `cilium-tune rules explain ID`)."""
    head = f"{rule.id} {rule.name} ({rule.severity}, since {rule.since}, {rule.status})"
    out = [head, rule.title, ""]
    for section in DOC_SECTIONS:
        out.append(f"{section}:")
        out.extend(f"    {line}" if line else "" for line in rule.sections[section].splitlines())
        out.append("")
    out.extend(f"Link: {url}" for url in links(rule))
    if rule.requires:
        out.append(f"Facts read: {', '.join(rule.requires)}")
    if source:
        out.append(f"Source: {source}")
    return "\n".join(out).rstrip() + "\n"


def evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    """`key = value` lines, shared by the JUnit and Markdown renderers."""
    return [f"{key} = {show_value(value)}" for key, value in evidence.items()]


# ---------------------------------------------------------------- any Report (verify, bench compare, ...)

_ORDER = {"fail": 0, "error": 1, "warn": 2, "explained": 3, "skip": 4, "pass": 5}
_LABEL = {"fail": "FAIL", "error": "ERROR", "warn": "WARN", "explained": "EXPLAINED", "skip": "SKIP", "pass": "PASS"}


def outcome_counts(report: Report) -> str:
    """`1 failed, 2 explained, 3 skipped, 40 passed` (only outcomes that occur), worst first."""
    from cilium_tune.report.model import Outcome

    words = {"fail": "failed", "error": "error", "warn": "warning", "explained": "explained",
             "skip": "skipped", "pass": "passed"}
    counts = {o: report.count(Outcome(o)) for o in _ORDER}
    plural = {"error", "warn"}
    return ", ".join(f"{n} {words[o]}{'s' if o in plural and n != 1 else ''}"
                     for o, n in counts.items() if n) or "nothing ran"


def render_report(report: Report, *, verbose: bool = False, style: Callable[[str, str], str] | None = None) -> str:
    """Cases grouped by family (families with failures first), failures first inside each, then a summary.

    Failures, warnings and explained states carry their evidence (and the link); passes and skips one
    line each (with `verbose`, every case's evidence).
    """
    from cilium_tune.report.model import Report

    paint = style or (lambda text, _outcome: text)
    families: dict[str, list[Case]] = {}
    for case in report.cases:
        families.setdefault(case.family, []).append(case)

    def worst(cases: list[Case]) -> int:
        return min(_ORDER[str(c.outcome)] for c in cases)

    lines: list[str] = []
    for family, cases in sorted(families.items(), key=lambda kv: worst(kv[1])):
        summary = Report(report.kind, report.title, tuple(cases))
        lines.append(f"{family} ({outcome_counts(summary)})")
        width = max(len(_LABEL[str(c.outcome)]) for c in cases)
        for case in sorted(cases, key=lambda c: _ORDER[str(c.outcome)]):
            outcome = str(case.outcome)
            label = paint(_LABEL[outcome].ljust(width), outcome)
            text = case.message or case.reason or ""
            lines.append(f"  {label}  {case.name}  {text}".rstrip())
            detailed = verbose or outcome in ("fail", "error", "warn", "explained")
            if detailed:
                lines.extend(f"      {line}" for line in evidence_lines(case.evidence))
            if outcome == "explained" and case.reason:
                lines.extend(textwrap.wrap(case.reason, width=100, initial_indent="      why: ",
                                           subsequent_indent="           "))
            if case.link:
                lines.append(f"      see: {case.link}")
        lines.append("")
    duration = report.meta.get("duration_s")
    took = f" in {duration:.1f} s" if isinstance(duration, (int, float)) else ""
    lines.append(f"{report.kind}: {outcome_counts(report)} ({len(report.cases)} checks{took})")
    return "\n".join(lines) + "\n"
