"""PNG figures of bench results, drawn with matplotlib's Agg backend (no display, no network).

They read only the neutral model: a case named `metric/scenario[@N]/ipvF` whose measurements are
named by run label (`baseline`, `tuned`) plus, for a comparison, the ratio `B/A`. So the same code
draws one run, or two runs side by side.

- `throughput`: bars per scenario and family, one bar per run, whiskers = the 95% CI;
- `latency`: p50/p90/p99 per scenario, one line per run (log scale), whiskers = CI;
- `churn`: connection rate against the number of Services, one line per run and family;
- `ratios`: B/A with its CI per metric against the line 1.0 (a forest plot).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure as MplFigure

from cilium_tune.bench.compare import RATIO
from cilium_tune.report.model import Case, Measurement, Report

_NAME = re.compile(r"^(?P<metric>[^/]+)/(?P<scenario>[^/@]+)(?:@(?P<n>\d+))?/ipv(?P<family>[46])$")
_COLORS = ("#8c8c8c", "#1f77b4", "#2ca02c", "#d62728")


@dataclass(frozen=True)
class Figure:
    """A rendered figure: a short id, a title, what it shows, and the PNG bytes."""

    id: str
    title: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class _Point:
    metric: str
    scenario: str
    services: int | None
    family: int
    series: str
    m: Measurement


def _points(report: Report) -> list[_Point]:
    out = []
    for case in report.cases:
        match = _NAME.match(case.name)
        if not match:
            continue
        n = match.group("n")
        for m in case.measurements:
            out.append(_Point(match.group("metric"), match.group("scenario"), int(n) if n else None,
                              int(match.group("family")), m.name, m))
    return out


def _series(points: Sequence[_Point]) -> list[str]:
    return list(dict.fromkeys(p.series for p in points if p.series != RATIO))


def _err(m: Measurement) -> tuple[float, float]:
    low = m.value - m.ci_low if m.ci_low is not None else 0.0
    high = m.ci_high - m.value if m.ci_high is not None else 0.0
    return max(0.0, low), max(0.0, high)


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def throughput(report: Report) -> Figure | None:
    pts = [p for p in _points(report) if p.metric == "throughput" and p.series != RATIO]
    if not pts:
        return None
    groups = list(dict.fromkeys((p.scenario, p.family) for p in pts))
    series = _series(pts)
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(groups)), 3.8))
    for i, s in enumerate(series):
        xs, ys, errs = [], [], []
        for gi, g in enumerate(groups):
            hit = next((p for p in pts if (p.scenario, p.family) == g and p.series == s), None)
            if hit:
                xs.append(gi + (i - (len(series) - 1) / 2) * width)
                ys.append(hit.m.value)
                errs.append(_err(hit.m))
        ax.bar(xs, ys, width, label=s, color=_COLORS[i % len(_COLORS)],
               yerr=list(zip(*errs, strict=True)) if errs else None, capsize=3)
    ax.set_xticks(range(len(groups)), [f"{sc.replace('-to-', ' to ')}\nIPv{f}".replace(" to ", " to\n", 1)
                                       for sc, f in groups], fontsize=7)
    ax.set_ylabel("Gbit/s")
    ax.set_title("TCP stream throughput (median, 95% CI)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return Figure("throughput", "Throughput per scenario",
                  "iperf3 single stream; bars are medians of the samples, whiskers the bootstrap 95% CI.", _png(fig))


def latency(report: Report) -> Figure | None:
    pts = [p for p in _points(report) if p.metric.startswith("latency-p") and p.series != RATIO]
    if not pts:
        return None
    groups = list(dict.fromkeys((p.scenario, p.family) for p in pts))[:8]
    cols = min(4, len(groups))
    rows = (len(groups) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False, sharey=True)
    series = _series(pts)
    pct = {"latency-p50": 50, "latency-p90": 90, "latency-p99": 99}
    for gi, g in enumerate(groups):
        ax = axes[gi // cols][gi % cols]
        for i, s in enumerate(series):
            sel = sorted((p for p in pts if (p.scenario, p.family) == g and p.series == s), key=lambda p: pct[p.metric])
            if sel:
                ax.errorbar([pct[p.metric] for p in sel], [p.m.value for p in sel],
                            yerr=list(zip(*[_err(p.m) for p in sel], strict=True)), marker="o", capsize=3,
                            label=s, color=_COLORS[i % len(_COLORS)])
        ax.set_yscale("log")
        ax.set_xticks([50, 90, 99], ["p50", "p90", "p99"])
        ax.set_title(f"{g[0]} IPv{g[1]}", fontsize=8)
        ax.grid(alpha=0.3)
    for k in range(len(groups), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    axes[0][0].set_ylabel("µs")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("TCP_RR latency percentiles (median over samples, 95% CI)", fontsize=10, y=1.04)
    return Figure("latency", "Request/response latency",
                  "netperf TCP_RR: each sample reports p50/p90/p99; points are their medians, whiskers the CI.",
                  _png(fig))


def churn(report: Report) -> Figure | None:
    pts = [p for p in _points(report) if p.services is not None and p.series != RATIO]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    lines: dict[tuple[str, int], list[_Point]] = defaultdict(list)
    for p in pts:
        lines[(p.series, p.family)].append(p)
    series = _series(pts)
    for (s, fam), sel in lines.items():
        sel.sort(key=lambda p: p.services or 0)
        ax.errorbar([p.services or 0 for p in sel], [p.m.value for p in sel],
                    yerr=list(zip(*[_err(p.m) for p in sel], strict=True)), marker="o", capsize=3,
                    linestyle="-" if fam == 4 else "--", color=_COLORS[series.index(s) % len(_COLORS)],
                    label=f"{s} IPv{fam}")
    ax.set_xlabel("Services present")
    ax.set_ylabel("connections/s")
    ax.set_ylim(bottom=0)
    ax.set_title("Connection rate against the number of Services (TCP_CRR)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return Figure("churn", "Connection rate with N Services",
                  "kube-proxy's iptables chains are walked rule by rule; a service map is one lookup.", _png(fig))


def ratios(report: Report) -> Figure | None:
    rows: list[tuple[Case, Measurement]] = [(c, m) for c in report.cases for m in c.measurements if m.name == RATIO]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.0, max(2.5, 0.22 * len(rows) + 1)))
    ys = list(range(len(rows)))[::-1]
    for y, (case, m) in zip(ys, rows, strict=True):
        color = {"better": "#2ca02c", "worse": "#d62728"}.get(case.message.split(":")[0], "#555555")
        ax.errorbar([m.value], [y], xerr=[[m.value - (m.ci_low or m.value)], [(m.ci_high or m.value) - m.value]],
                    fmt="o", color=color, capsize=2, markersize=4)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(ys, [c.name for c, _ in rows], fontsize=6)
    ax.set_xlabel("B/A (95% bootstrap CI); green better, red worse, grey no significant difference")
    ax.grid(axis="x", alpha=0.3)
    return Figure("ratios", "Every metric, after / before",
                  "The ratio of medians with its bootstrap 95% CI (its size); the colour is the family-wise "
                  "verdict: a Holm-adjusted rank test and a change of at least the smallest effect of interest.",
                  _png(fig))


def all_figures(report: Report) -> list[Figure]:
    return [f for f in (throughput(report), latency(report), churn(report), ratios(report)) if f is not None]
