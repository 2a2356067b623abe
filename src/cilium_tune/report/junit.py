"""JUnit XML for CI, for any `Report`: lint's rules, verify's checks, bench's comparisons.

One testsuite per family and one testcase per case, named as `--check`/`--select` name it
(`rules/CT201/netkit-on-old-kernel`, `dual-stack/pod-to-service/ipv6-lab-1-to-lab-2`), so CI can track
them across runs. A run that cannot start (unreadable facts or values, an unreachable cluster) is
reported as one `setup` testcase with an <error>, as cilium-cli records infrastructure failures, so CI
never silently loses the report.
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


def lint_report(result: LintResult, *, fail_on: Severity = Severity.ERROR) -> Report:
    """Lint's result on the neutral model: one case per rule that ran (`rules/CT201/netkit-on-old-kernel`).

    A rule with a finding at or above `fail_on` fails; one with findings below it is a warning (CI shows
    them without going red); a quiet rule passes. The message holds every finding of the rule, failing
    ones first, each with its severity, evidence and fix.
    """
    cases = []
    for rule in result.rules:
        found = result.by_rule(rule.id)
        failing = [f for f in found if f.severity is not None and f.severity.at_least(fail_on)]
        ordered = failing + [f for f in found if f not in failing]
        text = "\n\n".join(f"{f.severity}: {_body(f)}" for f in ordered) or rule.title
        outcome = Outcome.FAIL if failing else Outcome.WARN if found else Outcome.PASS
        cases.append(Case(f"rules/{rule.id}/{rule.name}", outcome, text))
    return Report("lint", SUITE, tuple(cases), {"fail_on": str(fail_on)})


def render_junit(result: LintResult, *, fail_on: Severity = Severity.ERROR) -> str:
    """Lint's JUnit XML document (UTF-8 declaration included)."""
    return render_report_junit(lint_report(result, fail_on=fail_on))


def render_junit_setup_error(message: str, hint: str | None = None, *, kind: str = "lint") -> str:
    """A report for a run that could not start (facts or values unreadable), so CI still sees a result."""
    text = message + (f"\nhint: {hint}" if hint else "")
    return render_report_junit(Report(kind, f"cilium-tune {kind}", (Case("setup/run/start", Outcome.ERROR, text),)))


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
            headline = case.message.split("\n", 1)[0]
            if case.outcome is Outcome.FAIL:
                ET.SubElement(element, "failure", message=headline, type="fail").text = body
            elif case.outcome is Outcome.ERROR:
                ET.SubElement(element, "error", message=headline, type="error").text = body
            elif case.outcome is Outcome.SKIP:
                ET.SubElement(element, "skipped", message=case.reason or headline)
            elif case.outcome is Outcome.WARN:
                ET.SubElement(element, "system-out").text = body
            elif case.outcome is Outcome.EXPLAINED:
                why = f"\nwhy: {case.reason}" if case.reason else ""
                ET.SubElement(element, "system-out").text = f"explained: {body}{why}"
        suites.append(suite)
        for key in totals:
            totals[key] += counts[key]
    root = ET.Element("testsuites", {"name": f"cilium-tune {report.kind}", **{k: str(v) for k, v in totals.items()}})
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
