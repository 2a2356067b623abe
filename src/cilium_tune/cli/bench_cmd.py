"""`cilium-tune bench run` and `bench compare`: parse, call cilium_tune.bench, render."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cilium_tune.bench.tools import Pinning
from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.cli.options import timeout_option
from cilium_tune.errors import FindingsError, InputError

if TYPE_CHECKING:
    from cilium_tune.bench.compare import Comparison
    from cilium_tune.bench.results import BenchRun

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


def parse_duration(text: str) -> float:
    """`90`, `90s`, `2m`, `1.5h` -> seconds."""
    m = _DURATION.match(text.strip())
    if not m:
        raise InputError(f"--budget {text}: not a duration", hint="use seconds or a unit: 90s, 2m, 1h")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]


def parse_percent(text: str, flag: str) -> float:
    """`2.5%`, `2.5` -> 0.025."""
    try:
        return float(text.strip().rstrip("%")) / 100
    except ValueError:
        raise InputError(f"{flag} {text}: not a percentage", hint=f"e.g. {flag} 5%") from None


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{flag} {text}: expected comma-separated integers") from None


@click.group()
def bench() -> None:
    """Measure the datapath: throughput, latency, connection rate and churn, with confidence intervals.

    \b
    Examples:
      cilium-tune bench run -o before --budget 1m                # every scenario, both families
      cilium-tune bench run -o after --scenario 'pod-to-pod-*' --families 4
      cilium-tune bench compare before after --fail-if-worse 5%
      cilium-tune report after --html --baseline before
    """


@bench.command("run")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for run.json and one CSV per metric.")
@click.option("-p", "--profile", default=None, help="Profile of the cluster (default: skyforge-dev; `lab` pins CPUs).")
@click.option("--scenario", "scenarios", multiple=True, default=("*",), show_default=True,
              help="Glob on scenario names or probe ids (repeatable), e.g. 'pod-to-*' or 'stream/*/ipv4'.")
@click.option("--families", default="4,6", show_default=True, help="IP families to measure.")
@click.option("--tests", default="stream,rr,crr,churn", show_default=True, help="Tests to run.")
@click.option("--churn", "churn_levels", default="0,1000,5000", show_default=True,
              help="Dummy Service counts for the churn test.")
@click.option("--budget", default="2m", show_default=True, help="Sampling time per selected scenario.")
@click.option("--target", default="2.5%", show_default=True, help="Stop a probe when its CI half-width is within this.")
@click.option("--sample-seconds", type=click.IntRange(1, 60), default=1, show_default=True)
@click.option("--churn-samples", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Samples per churn visit (each level is visited twice: up and back down).")
@click.option("--pin", "pin", default="auto", show_default=True,
              help="CLIENT,SERVER CPUs for the tools; 'none'; 'auto' pins 0,1 on the lab profile only.")
@click.option("--nodes", default=None, help="CLIENT,OTHER node names (default: the first two by name).")
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of the bench pods.")
@click.option("--image", default=None, help="Image with iperf3, netperf and conntrack (the lab runs host tools).")
@click.option("--label", default=None, help="Name of this run in comparisons (default: the output dir's name).")
@click.option("--seed", type=int, default=None, help="Seed of the sample order and the bootstrap.")
@click.option("--plan-digest", default=None, help="Digest of the plan that was applied (recorded).")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default $KUBECONFIG).")
@click.option("--context", "kube_context", help="Kubeconfig context.")
@timeout_option(help="Give up on any one call to the API server after this long.")
def run_cmd(out_dir: Path, profile: str | None, scenarios: tuple[str, ...], families: str, tests: str,
            churn_levels: str, budget: str, target: str, sample_seconds: int, churn_samples: int, pin: str,
            nodes: str | None, namespace: str, image: str | None, label: str | None, seed: int | None,
            plan_digest: str | None, kubeconfig: str | None, kube_context: str | None, timeout: float) -> None:
    """Run the bench against the cluster and write the results to OUT."""
    from cilium_tune.adapters.kube import LightkubeAPI
    from cilium_tune.bench import pods, stats
    from cilium_tune.bench import scenarios as sc
    from cilium_tune.bench.compare import resolution_line
    from cilium_tune.bench.results import save_run
    from cilium_tune.bench.runner import BenchRunner, RunConfig

    try:
        wanted_tests = [sc.Kind(t.strip()) for t in tests.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"--tests {tests}: unknown test", hint="choose from stream, rr, crr, churn") from None
    probes = sc.select(scenarios, _ints(families, "--families"), wanted_tests, _ints(churn_levels, "--churn"))
    pinning = _pinning(pin, profile)
    node_pair = None
    if nodes:
        parts = [n.strip() for n in nodes.split(",")]
        if len(parts) != 2 or not all(parts):
            raise InputError(f"--nodes {nodes}: expected CLIENT,OTHER")
        node_pair = (parts[0], parts[1])
    n_scenarios = len({p.scenario.name for p in probes})
    config = RunConfig(
        probes=probes, label=label or out_dir.resolve().name, namespace=namespace,
        image=image or pods.DEFAULT_IMAGE, nodes=node_pair, sample_seconds=sample_seconds,
        target=parse_percent(target, "--target"), budget_s=parse_duration(budget) * n_scenarios,
        churn_samples=churn_samples, seed=stats.DEFAULT_SEED if seed is None else seed, pin=pinning,
        plan_digest=plan_digest)
    kube = LightkubeAPI(kubeconfig, kube_context, timeout=timeout)
    click.echo(f"bench {config.label}: {len(probes)} probes in {n_scenarios} scenario(s), budget "
               f"{config.budget_s:.0f} s, target ±{config.target:.1%}"
               + (f", CPUs pinned {pinning.client},{pinning.server}" if pinning else ""), err=True)
    try:
        result = BenchRunner(kube, config, progress=lambda m: click.echo(f"  {m}", err=True)).run()
    finally:
        kube.close()
    paths = save_run(result, out_dir)
    click.echo(_run_table(result))
    click.echo(f"\n{resolution_line(result)}")
    click.echo(f"\nwrote {paths[0]} and {len(paths) - 1} CSV file(s)")


def _pinning(pin: str, profile: str | None) -> Pinning | None:
    if pin == "auto":
        return Pinning(0, 1) if profile == "lab" else None
    try:
        return Pinning.parse(pin)
    except ValueError:
        raise InputError(f"--pin {pin}: expected CLIENT,SERVER CPU numbers, 'none' or 'auto'") from None


def _run_table(run: BenchRun) -> str:
    rows = [("metric", "median", "95% CI", "± (resolution)", "n", "ended by")]
    for m in run.metrics:
        if m.median is None:
            rows.append((m.key, "-", "-", "-", "0", f"{m.stop}: {m.note or ''}"[:70]))
            continue
        hw = m.half_width
        rows.append((m.key, f"{_num(m.median)} {m.unit}", f"[{_num(m.ci_low)}, {_num(m.ci_high)}]",
                     f"{hw:.1%}" if hw is not None else "-", str(len(m.samples)), m.stop))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


@bench.command("compare")
@click.argument("a", type=click.Path(path_type=Path))
@click.argument("b", type=click.Path(path_type=Path))
@click.option("--fail-if-worse", default=None, help="Exit 1 when a metric got significantly worse by more than PCT.")
@click.option("--min-effect", default="2%", show_default=True,
              help="Smallest change called better or worse (its Holm-adjusted rank test must also pass).")
@click.option(
    "-o", "--output", type=click.Choice(["text", "json", "yaml", "markdown"]), default="text", show_default=True
)
def compare_cmd(a: Path, b: Path, fail_if_worse: str | None, min_effect: str, output: str) -> None:
    """Compare run B against run A: B/A per metric with a bootstrap CI, the headline, and a verdict that
    holds for the whole comparison (Holm-adjusted rank tests, family-wise 5%)."""
    from cilium_tune.bench.compare import compare_runs, to_report
    from cilium_tune.bench.results import load_run
    from cilium_tune.report.pr_comment import render_markdown

    run_a, run_b = load_run(a), load_run(b)
    cmp = compare_runs(run_a, run_b, min_effect=parse_percent(min_effect, "--min-effect"))
    limit = parse_percent(fail_if_worse, "--fail-if-worse") if fail_if_worse is not None else None
    report = to_report(cmp, fail_if_worse=limit)
    if output in MACHINE:
        from cilium_tune.report.json import render_report

        echo_document(render_report(report), output, "cilium-tune/bench-compare/v1")
    elif output == "markdown":
        click.echo(render_markdown(report))
    else:
        click.echo(_compare_table(cmp))
    if report.failed:
        raise FindingsError(f"a metric got worse by more than {fail_if_worse}")


def _compare_table(cmp: Comparison) -> str:
    from cilium_tune.bench.stats import format_p, verdict_text

    rows = [("metric", cmp.a.meta.label, cmp.b.meta.label, "B/A [95% CI]", "p (Holm)", "verdict")]
    for item in cmp.items:
        ma, mb = item.a, item.b
        a_txt = f"{_num(ma.median)} {ma.unit}" if ma and ma.median is not None else "-"
        b_txt = f"{_num(mb.median)} {mb.unit}" if mb and mb.median is not None else "-"
        if item.ratio is None:
            rows.append((item.key, a_txt, b_txt, "-", "-", (item.note or "")[:60]))
        else:
            r = item.ratio
            rows.append((item.key, a_txt, b_txt, f"{r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]",
                         format_p(r.p_adjusted), verdict_text(r.verdict)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if cmp.headline:
        lines += ["", "headline:"]
        for f in cmp.headline:
            assert f.ratio is not None
            lines.append(f"  {f.what}: {f.ratio.value:.2f} [{f.ratio.ci_low:.2f}, {f.ratio.ci_high:.2f}], "
                         f"{verdict_text(f.ratio.verdict)}")
    o = cmp.overall
    same = o.tests - o.better - o.worse - o.inconclusive
    counts = f"{o.better} better, {o.worse} worse, {o.inconclusive} inconclusive, {same} no significant difference"
    lines += ["", f"verdict: {o.verdict} ({o.tests} metrics: {counts})" + (f"; {o.note}" if o.note else ""),
              f"  decided by {o.decided_by}; the 95% CIs show each ratio's size"]
    return "\n".join(lines)
