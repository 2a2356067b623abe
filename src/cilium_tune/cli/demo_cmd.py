"""`cilium-tune demo`: the whole flow on a throw-away lab, ending with the headline and the report path."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where the runs, the plan and the report go.")
@click.option("--quick", is_flag=True,
              help="CI's smoke run (under a minute): two throughput probes, 2-3 rounds, no churn or netkit rehearsal.")
@click.option("--keep-lab", is_flag=True, help="Leave the lab running at the end (then `lab down --name ...`).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of sample order and bootstrap.")
def demo(out_dir: Path, quick: bool, keep_lab: bool, seed: int) -> None:
    """Lab up, defaults, baseline, bench, apply the tuned profile, verify, bench, compare, report,
    rehearse the netkit switch, roll back, lab down. Needs root (network namespaces)."""
    from cilium_tune.bench.stats import verdict_text
    from cilium_tune.demo import Demo, DemoOptions
    from cilium_tune.lab import cluster

    cluster.require_privileges()
    result = Demo(DemoOptions(out=out_dir, quick=quick, keep_lab=keep_lab, seed=seed),
                  say=lambda line: click.echo(line, err=True)).run()
    click.echo(f"\ndone in {result.seconds:.0f} s. Headline (95% bootstrap CIs):")
    for fig in result.comparison.headline:
        if fig.ratio is not None:
            r = fig.ratio
            click.echo(f"  {fig.what}: {r.value:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}], {verdict_text(r.verdict)}")
    o = result.comparison.overall
    counts = f"{o.better} better, {o.worse} worse, {o.inconclusive} inconclusive of {o.tests} metrics"
    note = f"; {o.note}" if o.note else ""
    click.echo(f"verdict, tuned vs baseline: {o.verdict} ({counts}; {o.decided_by}){note}")
    click.echo(f"\nreport: {result.html.resolve()}")
