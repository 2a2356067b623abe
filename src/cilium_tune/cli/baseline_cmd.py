"""`cilium-tune baseline capture|show|verify`: the release as it was, kept to go back to."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cilium_tune.cli.cluster_options import cluster, cluster_options, state
from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.errors import FindingsError, InputError

if TYPE_CHECKING:
    from cilium_tune.rollout.baseline import CapturedBaseline

EXAMPLES = """
\b
Examples:
  cilium-tune baseline capture                       # into ./.cilium-tune/baselines/
  cilium-tune baseline capture --out /srv/baselines
  cilium-tune baseline show                          # the newest capture
  cilium-tune baseline verify .cilium-tune/baselines/kube-system-cilium-r3-...
"""


@click.group("baseline", epilog=EXAMPLES)
def baseline() -> None:
    """Capture the live release (values --all, chart version, revision, cilium-config, facts), show, verify."""


@baseline.command("capture")
@click.option("-n", "--namespace", default="kube-system", show_default=True, help="Namespace of the release.")
@click.option("--release", default="cilium", show_default=True, help="Helm release name.")
@click.option("--out", type=click.Path(file_okay=False), help="Directory for captures [default: STATE/baselines].")
@click.option("--no-facts", is_flag=True, help="Do not store a facts snapshot beside the values.")
@cluster_options
def capture(
    namespace: str,
    release: str,
    out: str | None,
    no_facts: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    helm_path: str | None,
    state_dir: str | None,
) -> None:
    """Capture the live release into a new directory (never over an earlier capture)."""
    from cilium_tune.adapters.helm import ReleaseRef
    from cilium_tune.rollout import baseline as bl

    target = Path(out) if out else state(state_dir).baselines
    with cluster(kubeconfig, kube_context, helm_path) as c:
        facts = None
        if not no_facts:
            from cilium_tune.facts.collect import CollectOptions, collect
            from cilium_tune.facts.io import dump_snapshot

            facts = dump_snapshot(collect(c.kube, CollectOptions(namespace=namespace, release=release)))
        captured = bl.capture(
            c.helm, c.kube, ReleaseRef(namespace, release, kube_context, kubeconfig), target, facts_json=facts
        )
    click.echo(f"captured {namespace}/{release} revision {captured.revision} (chart {captured.chart_version})")
    click.echo(f"  {captured.path}")


@baseline.command("show")
@click.argument("path", required=False, type=click.Path())
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False), help="Where captures are kept.")
def show(path: str | None, output: str, state_dir: str | None) -> None:
    """Show a capture (the newest under STATE/baselines when PATH is omitted)."""
    captured = _resolve(path, state_dir)
    if output in MACHINE:
        doc = {"path": str(captured.path), "release": captured.release, "cilium_config": captured.cilium_config}
        echo_document(doc, output, "cilium-tune/baseline/v1")
        return
    rel = captured.release
    click.echo(f"baseline {captured.path}")
    click.echo(f"  release      {rel['namespace']}/{rel['name']} revision {rel['revision']} ({rel.get('status')})")
    click.echo(f"  chart        {rel.get('chart')} {rel['version']}")
    click.echo(f"  captured at  {rel.get('captured_at')}")
    files = sorted(p.name for p in captured.path.iterdir() if p.is_file())
    click.echo(f"  files        {', '.join(files)}")
    for key in ("datapath-mode", "routing-mode", "kube-proxy-replacement", "enable-ipv6"):
        if key in captured.cilium_config:
            click.echo(f"  {key:<24} {captured.cilium_config[key]}")


@baseline.command("verify")
@click.argument("path", required=False, type=click.Path())
@click.option("--state-dir", type=click.Path(file_okay=False), help="Where captures are kept.")
def verify(path: str | None, state_dir: str | None) -> None:
    """Check a capture's checksums and header (exit 1 when anything changed)."""
    from cilium_tune.rollout import baseline as bl

    captured = _resolve(path, state_dir)
    problems = bl.verify(captured.path)
    for problem in problems:
        click.echo(f"  FAILED {problem}")
    if problems:
        raise FindingsError(f"baseline {captured.path} does not verify", hint="capture a new one")
    click.echo(f"ok: {captured.path} (chart {captured.chart_version}, revision {captured.revision})")


def _resolve(path: str | None, state_dir: str | None) -> CapturedBaseline:
    from cilium_tune.rollout import baseline as bl

    if path is not None:
        return bl.load(Path(path))
    root = state(state_dir).baselines
    found = bl.latest(root)
    if found is None:
        raise InputError(f"no baseline under {root}", hint="capture one with `cilium-tune baseline capture`")
    return found
