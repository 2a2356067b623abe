"""`cilium-tune version`: the tool, and the helm it would drive, as `kubectl version` and `helm version` do.

A bug report needs both: which cilium-tune, and which helm binary (path and version) a plan or an apply
would run. A missing or too-old helm is reported, not raised: `version` must answer on any machine.
"""

from __future__ import annotations

import platform
import sys
from typing import Any

import click

from cilium_tune import __version__
from cilium_tune.errors import ToolMissingError


def version_info(helm_path: str | None) -> dict[str, Any]:
    """The version document: tool, Python, and the helm found by the same search every command uses."""
    from cilium_tune.adapters.helm import find_helm

    try:
        helm = find_helm(helm_path)
        found: dict[str, Any] = {"path": str(helm.path), "version": ".".join(map(str, helm.version))}
    except ToolMissingError as exc:
        found = {"error": exc.message, "hint": exc.hint}
    return {
        "schema": "cilium-tune/version/v1",
        "cilium_tune": __version__,
        "python": platform.python_version(),
        "platform": sys.platform,
        "helm": found,
    }


@click.command("version")
@click.option("--helm", "helm_path", metavar="PATH", help="The helm binary to report [default: helm on PATH].")
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
def version(helm_path: str | None, output: str) -> None:
    """Print the cilium-tune version and the helm it would use."""
    from cilium_tune.values.emit import dump_json, dump_yaml

    info = version_info(helm_path)
    if output == "json":
        click.echo(dump_json(info), nl=False)
        return
    if output == "yaml":
        click.echo(dump_yaml(info), nl=False)
        return
    helm = info["helm"]
    helm_line = f"{helm['version']} ({helm['path']})" if "version" in helm else f"not usable: {helm['error']}"
    click.echo(f"cilium-tune: {info['cilium_tune']}\npython:      {info['python']}\nhelm:        {helm_line}")
