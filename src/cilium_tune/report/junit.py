"""JUnit XML for CI: one testcase per rule that ran, a <failure> per finding at or above the threshold.

Findings below the threshold are kept in the testcase's <system-out> so CI logs still show them. A run
that cannot start (unreadable facts or values) is reported as one `setup` testcase with an <error>,
as cilium-cli records infrastructure failures, so CI never silently loses the report.
The testcase names (`CT201 netkit-on-old-kernel`) are stable across runs, so CI can track them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cilium_tune.report.text import evidence_lines
from cilium_tune.rules import Finding, LintResult, Severity

SUITE = "cilium-tune lint"


def _body(finding: Finding) -> str:
    lines = [finding.message, *evidence_lines(finding.evidence)]
    if finding.fix:
        lines.append(f"fix: {finding.fix}")
    return "\n".join(lines)


def render_junit(result: LintResult, *, fail_on: Severity = Severity.ERROR) -> str:
    """The JUnit XML document (UTF-8 declaration included)."""
    failures = 0
    cases = []
    for rule in result.rules:
        case = ET.Element("testcase", classname=f"cilium-tune.rules.{rule.area}", name=f"{rule.id} {rule.name}")
        found = result.by_rule(rule.id)
        failing = [f for f in found if f.severity is not None and f.severity.at_least(fail_on)]
        passing = [f for f in found if f not in failing]
        for finding in failing:
            failure = ET.SubElement(case, "failure", message=finding.message, type=str(finding.severity))
            failure.text = _body(finding)
        if failing:
            failures += 1
        if passing:
            out = ET.SubElement(case, "system-out")
            out.text = "\n\n".join(f"{f.severity}: {_body(f)}" for f in passing)
        cases.append(case)
    return _document(cases, failures=failures, errors=0)


def render_junit_setup_error(message: str, hint: str | None = None) -> str:
    """A report for a run that could not start (facts or values unreadable), so CI still sees a result."""
    case = ET.Element("testcase", classname="cilium-tune.rules", name="setup")
    error = ET.SubElement(case, "error", message=message, type="setup")
    error.text = message + (f"\nhint: {hint}" if hint else "")
    return _document([case], failures=0, errors=1)


def _document(cases: list[ET.Element], *, failures: int, errors: int) -> str:
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": str(errors)}
    suite = ET.Element("testsuite", {"name": SUITE, **counts})
    suite.extend(cases)
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
