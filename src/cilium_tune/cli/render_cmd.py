"""`cilium-tune render`: write (or print) the overlays derived from a profile."""

from __future__ import annotations

from pathlib import Path

import click

from cilium_tune.cli.options import echo_profile, profile_option
from cilium_tune.errors import InputError
from cilium_tune.files import write_all_atomic


@click.command()
@profile_option(files_mean_none=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the overlay files to (created if missing); without it they are printed.",
)
@click.option(
    "--chart",
    type=click.Path(path_type=Path),
    metavar="DIR|TGZ",
    help="Warn about rendered keys this chart (directory, .tgz or its values.yaml) does not know, e.g. an "
    "older chart [default: the built-in catalog].",
)
def render(profile_ref: str | None, out: Path | None, chart: Path | None) -> None:
    """Write the Helm overlays derived from a profile, with a reason per key.

    \b
    Files (as the runbook names them):
      cilium-values.yaml                 performance tuning + k3s CNI path
      cilium-values-dualstack.yaml       IPv6 dual-stack (dual-stack profiles only)
      cilium-values-netkit-migrate.yaml  one-time cleanState for the veth -> netkit switch
    The baseline (cilium-values.before.yaml) is captured from the cluster, never rendered. Printed to
    stdout (no --out), only the permanent overlays appear: the one-time file is written only to a file.

    \b
    Examples:
      cilium-tune render                              # print skyforge-dev's permanent overlays
      cilium-tune render -p lab --out deploy/         # write them; unchanged files are left alone
      cilium-tune render --chart ./cilium-1.19.0.tgz  # and check the keys against that chart
    """
    from cilium_tune.desired import DesiredInputs, load_desired

    desired = load_desired(
        DesiredInputs(
            profile_ref=profile_ref,
            chart=str(chart) if chart is not None else None,
            overlay_dir=str(out) if out is not None else ".",
            require_profile=True,
        )
    )
    echo_profile(desired.profile_choice, err=out is None)
    for unknown in desired.unknown_keys():
        origin = desired.values.origins.get(unknown.path)
        click.echo(f"warning: {origin or unknown.dotted}: {unknown.message()} ({desired.catalog.source})", err=True)
    overlays = desired.overlays
    if out is None:
        # Stdout ends up as one `-f all.yaml`: the one-time overlay there would stay installed for good.
        for i, overlay in enumerate(o for o in overlays if not o.one_time):
            if i:
                click.echo()
            click.echo(f"---\n# file: {overlay.filename}")
            click.echo(overlay.text, nl=False)
        for overlay in overlays:
            if overlay.one_time:
                click.echo(f"note: {overlay.filename} is one-time and is written only with --out DIR", err=True)
        return
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is not a directory", hint="pass a directory for the overlay files")
    written = write_all_atomic({out / o.filename: o.text for o in overlays}, skip_unchanged=True)
    for overlay in overlays:
        target = out / overlay.filename
        changed = written[target]
        note = " (one-time: apply once, then drop it)" if overlay.one_time and changed else ""
        click.echo(f"{target}: {'written' if changed else 'unchanged'}{note}")
