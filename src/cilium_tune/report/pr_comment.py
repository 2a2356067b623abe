"""Markdown for a pull-request comment, over the neutral `Report`: a summary line, the headline (when
the producer recorded one), failures first, then a table of every case with its measurements.

GitHub renders it; so does any Markdown viewer. Kept short on purpose: a reviewer reads the verdicts,
the full evidence lives in the JSON and HTML reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cilium_tune.report.model import NOT_TESTED, Case, Measurement, Outcome, Report

_ICON = {
    Outcome.PASS: "✅", Outcome.FAIL: "❌", Outcome.WARN: "⚠️", Outcome.SKIP: "⏭️",
    Outcome.EXPLAINED: "📝", Outcome.ERROR: "💥",
}
_ORDER = [Outcome.FAIL, Outcome.ERROR, Outcome.WARN, Outcome.EXPLAINED, Outcome.PASS, Outcome.SKIP]


def render_markdown(report: Report) -> str:
    counts = ", ".join(f"{report.count(o)} {o.value}" for o in _ORDER if report.count(o))
    lines = [f"### {report.title}", "", f"**{'FAILED' if report.failed else 'OK'}**: {counts}", ""]
    verdict = report.meta.get("verdict")
    if isinstance(verdict, Mapping):
        lines += [f"Verdict: **{verdict['overall']}** ({_cell(str(verdict['decided_by']))})", ""]
    headline = report.meta.get("headline")
    if isinstance(headline, Mapping) and headline:
        lines += ["| headline | ratio | 95% CI | verdict |", "|---|---:|---|---|"]
        for fig in headline.values():
            lines.append(f"| {_cell(fig.get('what', ''))} | **{fig['ratio']:.2f}** | "
                         f"[{fig['ci'][0]:.2f}, {fig['ci'][1]:.2f}] | {_cell(fig.get('verdict') or NOT_TESTED)} |")
        lines.append("")
    lines += ["| | case | result | measurements |", "|---|---|---|---|"]
    for case in sorted(report.cases, key=lambda c: (_ORDER.index(c.outcome), c.name)):
        lines.append(f"| {_ICON[case.outcome]} | `{case.name}` | {_cell(_message(case))} | "
                     f"{_cell('; '.join(_measure(m) for m in case.measurements))} |")
    return "\n".join(lines) + "\n"


def _message(case: Case) -> str:
    if case.outcome in (Outcome.SKIP, Outcome.EXPLAINED) and case.reason:
        return case.reason
    return case.message or case.outcome.value


def _measure(m: Measurement) -> str:
    text = f"{m.name} {_fmt(m.value)}"
    if m.ci_low is not None and m.ci_high is not None:
        text += f" [{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]"
    return f"{text} {m.unit}".rstrip()


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
