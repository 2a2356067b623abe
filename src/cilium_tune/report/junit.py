"""JUnit XML for CI: one testcase per rule that ran, a <failure> per finding at or above the threshold.

Findings below the threshold are kept in the testcase's <system-out> so CI logs still show them. A run
that cannot start (unreadable facts or values) is reported as one `setup` testcase with an <error>,
as cilium-cli records infrastructure failures, so CI never silently loses the report.
The testcase names (`CT201 netkit-on-old-kernel`) are stable across runs, so CI can track them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from cilium_tune.report.model import Case, Outcome, Report
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


def render_report_junit(report: Report) -> str:
    """Any Report as JUnit XML: one testsuite per family, one testcase per case (named as `--check` names it).

    fail -> <failure>, error -> <error>, skip -> <skipped> with the reason; explained and warn cases pass,
    with what they were (and the link) in <system-out>, so CI shows them without going red.
    """
    suites = []
    families: dict[str, list[Case]] = {}
    for case in report.cases:
        families.setdefault(case.family, []).append(case)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for family, cases in families.items():
        counts = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.outcome is Outcome.FAIL),
            "errors": sum(1 for c in cases if c.outcome is Outcome.ERROR),
            "skipped": sum(1 for c in cases if c.outcome is Outcome.SKIP),
        }
        suite = ET.Element("testsuite", {"name": f"{report.kind} {family}", **{k: str(v) for k, v in counts.items()}})
        for case in cases:
            attrs = {"classname": f"cilium-tune.{report.kind}.{family}", "name": case.name}
            if case.duration_s is not None:
                attrs["time"] = f"{case.duration_s:.3f}"
            element = ET.SubElement(suite, "testcase", attrs)
            see = [f"see: {case.link}"] if case.link else []
            body = "\n".join([case.message, *evidence_lines(case.evidence), *see])
            if case.outcome is Outcome.FAIL:
                ET.SubElement(element, "failure", message=case.message, type="fail").text = body
            elif case.outcome is Outcome.ERROR:
                ET.SubElement(element, "error", message=case.message, type="error").text = body
            elif case.outcome is Outcome.SKIP:
                ET.SubElement(element, "skipped", message=case.reason or case.message)
            elif case.outcome in (Outcome.EXPLAINED, Outcome.WARN):
                why = f"\nwhy: {case.reason}" if case.reason else ""
                ET.SubElement(element, "system-out").text = f"{case.outcome}: {body}{why}"
        suites.append(suite)
        for key in totals:
            totals[key] += counts[key]
    root = ET.Element("testsuites", {"name": f"cilium-tune {report.kind}", **{k: str(v) for k, v in totals.items()}})
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
