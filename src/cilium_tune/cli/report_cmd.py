"""`cilium-tune report DIR`: Markdown, PNG plots and (with --html) one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--html", "with_html", is_flag=True, help="Also write DIR/report.html (figures embedded, no network).")
@click.option("--baseline", type=click.Path(path_type=Path), default=None,
              help="A bench run to compare DIR's run against (when DIR holds one run).")
def report(directory: Path, with_html: bool, baseline: Path | None) -> None:
    """Write the report of a bench run, a comparison, or a demo directory.

    \b
    DIR holds run.json (one run; --baseline OTHER compares), or baseline/ and tuned/ runs plus the
    applied plan (plan.txt) and more reports (*.report.json: verify, the switch rehearsal), as
    `cilium-tune demo` writes them.

    \b
    Examples:
      cilium-tune report after --baseline before --html
      cilium-tune report demo-out --html && chromium demo-out/report.html
    """
    from cilium_tune.report.bundle import load_bundle, write_outputs

    bundle = load_bundle(directory, baseline)
    for path in write_outputs(bundle, directory, html=with_html):
        click.echo(str(path))
