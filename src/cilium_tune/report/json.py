"""Machine output: lint results, the rule list and any `Report` as JSON (stable keys, versioned by `schema`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from cilium_tune.report.model import Case, Outcome, Report
from cilium_tune.rules import LintResult, Rule, Severity, registry
from cilium_tune.rules.links import links

LINT_SCHEMA = "cilium-tune/lint/v1"
RULES_SCHEMA = "cilium-tune/rules/v1"


def lint_document(result: LintResult, *, fail_on: Severity = Severity.ERROR) -> dict[str, Any]:
    """The lint result as plain data; `failed` says whether lint exits 1 with this threshold."""
    findings = []
    for finding in result.findings:
        rule = registry.find(finding.rule_id)
        entry = finding.to_dict()
        entry["name"] = rule.name if rule else None
        entry["title"] = rule.title if rule else None
        entry["links"] = links(rule) if rule else []
        findings.append(entry)
    return {
        "schema": LINT_SCHEMA,
        "summary": {
            **{str(s): result.count(s) for s in Severity},
            "rules_run": len(result.rules),
            "fail_on": str(fail_on),
            "failed": result.failed(fail_on),
        },
        "findings": findings,
    }


def rule_document(rule: Rule, *, source: str | None = None) -> dict[str, Any]:
    """One rule's metadata and documentation sections."""
    return {
        "id": rule.id,
        "name": rule.name,
        "severity": str(rule.severity),
        "since": rule.since,
        "status": str(rule.status),
        "area": rule.area,
        "title": rule.title,
        "sections": dict(rule.sections),
        "fix": rule.fix,
        "requires": list(rule.requires),
        "links": links(rule),
        "source": source,
    }


def dumps(document: Any) -> str:
    """JSON text with a trailing newline; values the rules saw that JSON lacks (IP objects) become strings."""
    return json.dumps(document, indent=2, sort_keys=False, default=str) + "\n"


def render_lint(result: LintResult, *, fail_on: Severity = Severity.ERROR) -> str:
    return dumps(lint_document(result, fail_on=fail_on))


def render_rules(rules: Iterable[Rule], *, sources: dict[str, str] | None = None) -> str:
    sources = sources or {}
    return dumps({"schema": RULES_SCHEMA, "rules": [rule_document(r, source=sources.get(r.id)) for r in rules]})


REPORT_SCHEMA_VERSION = 1


def report_schema(report: Report) -> str:
    """`cilium-tune/verify/v1`: one schema name per producer, versioned."""
    return f"cilium-tune/{report.kind}/v{REPORT_SCHEMA_VERSION}"


def case_document(case: Case) -> dict[str, Any]:
    doc: dict[str, Any] = {"outcome": str(case.outcome), "family": case.family, "message": case.message}
    if case.reason is not None:
        doc["reason"] = case.reason
    if case.link is not None:
        doc["link"] = case.link
    doc["evidence"] = dict(case.evidence)
    if case.measurements:
        doc["measurements"] = [asdict(m) for m in case.measurements]
    if case.duration_s is not None:
        doc["duration_s"] = case.duration_s
    return doc


def report_document(report: Report) -> dict[str, Any]:
    """Any Report as plain data: cases keyed by their name (the same name `--check` and JUnit use)."""
    return {
        "schema": report_schema(report),
        "kind": report.kind,
        "title": report.title,
        "meta": dict(report.meta),
        "summary": {
            **{str(o): report.count(o) for o in Outcome},
            "total": len(report.cases),
            "failed": report.failed,
        },
        "cases": {case.name: case_document(case) for case in report.cases},
    }


def render_report(report: Report) -> str:
    return dumps(report_document(report))
