"""`cilium-tune values merge|diff`: Helm's value merge, with provenance, and a structural diff."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.values.diff import diff_values
from cilium_tune.values.emit import dump_json, dump_yaml
from cilium_tune.values.loader import load_values

_HELM = click.option(
    "--helm",
    "helm_major",
    type=click.Choice(["3", "4"]),
    default="4",
    show_default=True,
    help="Helm major version to model (4 reads every `---` document of a file, 3 only the first).",
)


@click.group("values")
def values() -> None:
    """Merge and diff Helm values exactly as Helm does."""


@values.command("merge")
@click.option(
    "-f",
    "--values",
    "files",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A values file; repeat it, later files win (as `helm -f`).",
)
@click.option(
    "--chart",
    type=click.Path(path_type=Path),
    help="Chart directory or .tgz whose values.yaml supplies the defaults.",
)
@click.option("--explain", "explain", multiple=True, metavar="KEY", help="Say where KEY came from (repeatable).")
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@_HELM
def merge(files: tuple[Path, ...], chart: Path | None, explain: tuple[str, ...], output: str, helm_major: str) -> None:
    """Print the values Helm would hand to the chart, or explain where keys came from.

    Keys the chart does not know (the --chart's own, else the built-in catalog) are warned about on
    stderr, as `lint` reports them (CT101).

    \b
    Examples:
      cilium-tune values merge -f base.yaml -f tuning.yaml
      cilium-tune values merge --chart ./cilium -f tuning.yaml -o json
      cilium-tune values merge -f a.yaml -f b.yaml --explain bpf.datapathMode
      cilium-tune values merge -f a.yaml --explain 'nodeSelector."kubernetes.io/os"'
    """
    from cilium_tune.desired import DesiredInputs, load_desired

    desired = load_desired(
        DesiredInputs(
            value_files=tuple(str(path) for path in files),
            chart=str(chart) if chart is not None else None,
            helm_major=int(helm_major),
        )
    )
    merged = desired.chart_values
    for warning in merged.warnings:
        click.echo(f"warning: {warning}", err=True)
    for unknown in desired.unknown_keys():
        origin = desired.values.origins.get(unknown.path)
        click.echo(f"warning: {origin or unknown.dotted}: {unknown.message()} ({desired.catalog.source})", err=True)
    if explain:
        explanations = [merged.explain(key) for key in explain]
        if output == "json":
            click.echo(json.dumps([e.to_dict() for e in explanations], indent=2, ensure_ascii=False))
        else:
            click.echo("\n\n".join(e.text() for e in explanations))
        return
    click.echo(dump_json(merged.values) if output == "json" else dump_yaml(merged.values), nl=False)


@values.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@_HELM
@click.pass_context
def diff(ctx: click.Context, old: Path, new: Path, output: str, helm_major: str) -> None:
    """Compare two values files key by key (lists compared whole, as Helm replaces them).

    Exit status as diff(1): 0 when the values are the same, 1 when they differ, 2 on bad input.

    \b
    Examples:
      cilium-tune values diff before.yaml after.yaml
      cilium-tune values diff before.yaml after.yaml -o json
    """
    helm = int(helm_major)
    result = diff_values(load_values(old, helm=helm).values, load_values(new, helm=helm).values)
    if output in MACHINE:
        echo_document(result.to_dict(), output, "cilium-tune/values-diff/v1")
    else:
        for entry in result.entries:
            click.echo(entry.line())
        counts = ", ".join(f"{len(result.of_kind(kind))} {kind}" for kind in ("added", "removed", "changed"))
        click.echo("no differences" if result.is_empty else f"{len(result.entries)} differences ({counts})")
    ctx.exit(0 if result.is_empty else 1)
