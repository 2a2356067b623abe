"""A self-contained HTML page over neutral `Report`s: one file, inline CSS, figures as data: URIs.

No script, no font, no stylesheet is fetched: the page opens from a CI artifact or a mail attachment
without a network. Everything that comes from input is escaped. Sections, top to bottom: the headline
(from a report's `meta["headline"]`), the figures, one table per report (bench comparison, verify
checks, lint findings: failures first), the preformatted blocks (the applied plan), and the run facts.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

from cilium_tune.report.model import NOT_TESTED, Outcome, Report
from cilium_tune.report.plots import Figure

_ORDER = [Outcome.FAIL, Outcome.ERROR, Outcome.WARN, Outcome.EXPLAINED, Outcome.PASS, Outcome.SKIP]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1b1f23;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}
.sub{color:#57606a;margin-top:0}table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.o{font-weight:600;border-radius:3px;padding:0 .35rem;white-space:nowrap}
.pass{background:#dafbe1;color:#116329}.fail,.error{background:#ffebe9;color:#a40e26}
.warn{background:#fff8c5;color:#7d4e00}.skip{background:#eaeef2;color:#57606a}.explained{background:#ddf4ff;color:#0a3069}
figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#57606a;font-size:12px}
pre{background:#f6f8fa;padding:.8rem;overflow-x:auto;font-size:12px;max-height:32rem}
.headline td.big{font-size:1.3rem;font-weight:700}code{font-size:12px}
"""


def render_html(title: str, reports: Sequence[Report], figures: Sequence[Figure] = (), *,
                blocks: Mapping[str, str] | None = None, facts: Mapping[str, Any] | None = None,
                subtitle: str = "") -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width,initial-scale=1">',
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    if subtitle:
        out.append(f'<p class="sub">{e(subtitle)}</p>')
    for report in reports:
        out += _headline(report)
    if figures:
        out.append("<h2>Figures</h2>")
        for fig in figures:
            data = base64.b64encode(fig.png).decode("ascii")
            out.append(f'<figure id="fig-{e(fig.id)}"><img alt="{e(fig.title)}" src="data:image/png;base64,{data}">'
                       f"<figcaption><b>{e(fig.title)}.</b> {e(fig.caption)}</figcaption></figure>")
    for report in reports:
        out += _table(report)
    for name, text in (blocks or {}).items():
        out.append(f"<h2>{e(name)}</h2><pre>{e(text)}</pre>")
    if facts:
        out.append("<h2>Run facts</h2><table>")
        for key, value in facts.items():
            out.append(f"<tr><th>{e(str(key))}</th><td><code>{e(_plain(value))}</code></td></tr>")
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _headline(report: Report) -> list[str]:
    headline = report.meta.get("headline")
    if not isinstance(headline, Mapping) or not headline:
        return []
    e = html.escape
    rows = ["<h2>Headline</h2>"]
    verdict = report.meta.get("verdict")
    if isinstance(verdict, Mapping):
        rows.append(f'<p>Verdict: <b>{e(str(verdict["overall"]))}</b> <span class="sub">(decided by '
                    f'{e(str(verdict["decided_by"]))}; the CIs below show sizes)</span></p>')
    rows.append('<table class="headline"><tr><th>what</th><th>ratio</th><th>95% CI</th><th>verdict</th></tr>')
    for fig in headline.values():
        rows.append(f'<tr><td>{e(str(fig["what"]))}</td><td class="num big">{fig["ratio"]:.2f}</td>'
                    f'<td class="num">[{fig["ci"][0]:.2f}, {fig["ci"][1]:.2f}]</td>'
                    f'<td>{e(str(fig.get("verdict") or NOT_TESTED))}</td></tr>')
    rows.append("</table>")
    return rows


def _table(report: Report) -> list[str]:
    e = html.escape
    counts = ", ".join(f"{report.count(o)} {o.value}" for o in _ORDER if report.count(o))
    rows = [f'<h2 id="{e(report.kind)}">{e(report.title)}</h2><p class="sub">{e(counts)}</p>',
            "<table><tr><th>case</th><th>outcome</th><th>result</th><th>measurements</th></tr>"]
    for case in sorted(report.cases, key=lambda c: (_ORDER.index(c.outcome), c.name)):
        text = case.reason if case.outcome in (Outcome.SKIP, Outcome.EXPLAINED) and case.reason else case.message
        if case.link:
            text = f"{text} ({case.link})"
        meas = "<br>".join(
            e(f"{m.name}: {_fmt(m.value)}" + (f" [{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]" if m.ci_low is not None
                                              and m.ci_high is not None else "") + f" {m.unit}")
            for m in case.measurements)
        rows.append(f'<tr><td><code>{e(case.name)}</code></td><td><span class="o {case.outcome.value}">'
                    f"{e(case.outcome.value)}</span></td><td>{e(text or '')}</td><td>{meas}</td></tr>")
    rows.append("</table>")
    return rows


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _plain(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)
