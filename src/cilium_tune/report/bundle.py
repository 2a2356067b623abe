"""A report directory: what `cilium-tune report DIR` reads and writes.

Reads (any of):
    DIR/run.json                         one bench run (with `--baseline OTHER`: compared against it)
    DIR/baseline/run.json, DIR/tuned/run.json   two runs, compared (what `cilium-tune demo` writes)
    DIR/plan.txt                         the plan that was applied, as `cilium-tune apply` showed it
    DIR/*.report.json                    more Reports as `-o json` writes them (verify, the switch rehearsal)
Writes:
    DIR/report.md                        Markdown for a PR comment
    DIR/plots/<figure>.png               the figures
    DIR/report.html                      with --html: one self-contained page (figures embedded)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cilium_tune.bench.compare import compare_runs, run_report, to_report
from cilium_tune.bench.results import RUN_FILE, BenchRun, load_run
from cilium_tune.errors import InputError
from cilium_tune.files import write_atomic
from cilium_tune.report.model import Case, Measurement, Outcome, Report

PLAN_FILE = "plan.txt"
REPORTS_GLOB = "*.report.json"


@dataclass(frozen=True)
class Bundle:
    title: str
    subtitle: str
    reports: tuple[Report, ...]
    blocks: Mapping[str, str]
    facts: Mapping[str, Any]


def load_bundle(directory: Path, baseline: Path | None = None) -> Bundle:
    before, after = _runs(directory, baseline)
    reports: list[Report] = []
    if before is not None:
        reports.append(to_report(compare_runs(before, after)))
        title = f"cilium-tune: {after.meta.label} vs {before.meta.label}"
    else:
        reports.append(run_report(after))
        title = f"cilium-tune bench: {after.meta.label}"
    reports += [report_from_json(path) for path in sorted(directory.glob(REPORTS_GLOB))]
    blocks = {}
    if (directory / PLAN_FILE).is_file():
        blocks["The plan that was applied"] = (directory / PLAN_FILE).read_text()
    facts: dict[str, Any] = {}
    for run in (before, after):
        if run is None:
            continue
        m = run.meta
        facts[f"{m.label}: when"] = f"{m.started} .. {m.finished}"
        facts[f"{m.label}: cilium-config"] = m.facts.get("cilium-config", {})
        facts[f"{m.label}: digests"] = {"config": m.config_digest, "plan": m.plan_digest}
        facts[f"{m.label}: sampling"] = {"target": f"±{m.target_half_width:.1%}", "budget_s": m.budget_s,
                                         "sample_s": m.sample_seconds, "pinning": m.pinning, "seed": m.seed,
                                         "nodes": "/".join(m.nodes)}
    facts["machine"] = after.meta.machine
    facts["tools"] = after.meta.tool_versions
    subtitle = (f"{len(after.metrics)} metrics, {after.meta.machine.get('cpus', '?')} CPUs, kernel "
                f"{after.meta.machine.get('kernel', '?')}; medians with bootstrap 95% CIs")
    return Bundle(title, subtitle, tuple(reports), blocks, facts)


def _runs(directory: Path, baseline: Path | None) -> tuple[BenchRun | None, BenchRun]:
    if (directory / RUN_FILE).is_file():
        return (load_run(baseline) if baseline else None), load_run(directory)
    if (directory / "baseline" / RUN_FILE).is_file() and (directory / "tuned" / RUN_FILE).is_file():
        return load_run(directory / "baseline"), load_run(directory / "tuned")
    raise InputError(f"{directory}: no {RUN_FILE}, nor baseline/ and tuned/ runs",
                     hint="give the -o DIR of `cilium-tune bench run`, or the output of `cilium-tune demo`")


def report_from_json(path: Path) -> Report:
    """A neutral Report saved by `report.json.render_report` (`verify -o json` writes the same)."""
    try:
        doc = json.loads(path.read_text())
        cases = tuple(
            Case(name=name, outcome=Outcome(c["outcome"]), message=c.get("message", ""),
                 evidence=c.get("evidence") or {}, reason=c.get("reason"), link=c.get("link"),
                 measurements=tuple(Measurement(**m) for m in c.get("measurements") or ()),
                 duration_s=c.get("duration_s"))
            for name, c in doc["cases"].items())
        return Report(doc["kind"], doc["title"], cases, doc.get("meta") or {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: not a report: {exc}") from None


def write_outputs(bundle: Bundle, directory: Path, *, html: bool) -> list[Path]:
    """report.md, plots/*.png, and with `html` report.html; returns the paths written."""
    from cilium_tune.report import plots
    from cilium_tune.report.html import render_html
    from cilium_tune.report.pr_comment import render_markdown

    written = []
    md = directory / "report.md"
    write_atomic(md, "\n".join(render_markdown(r) for r in bundle.reports))
    written.append(md)
    figures = plots.all_figures(bundle.reports[0])
    for fig in figures:
        path = directory / "plots" / f"{fig.id}.png"
        write_atomic(path, fig.png)
        written.append(path)
    if html:
        page = directory / "report.html"
        write_atomic(page, render_html(bundle.title, bundle.reports, figures, blocks=bundle.blocks,
                                       facts=bundle.facts, subtitle=bundle.subtitle))
        written.append(page)
    return written
