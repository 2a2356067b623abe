"""`cilium-tune profile`: list, show, init and schema. Parses, calls the profile package, renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import msgspec

from cilium_tune.cli.completion_cmd import complete_profiles
from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.errors import FindingsError, InputError
from cilium_tune.files import write_atomic
from cilium_tune.profile import builtin_profile_names, builtin_profile_text, load_profile
from cilium_tune.profile.commented_yaml import dump
from cilium_tune.profile.schema import schema_text
from cilium_tune.profile.starter import starter_text


@click.group()
def profile() -> None:
    """List, show, initialise and export profiles.

    \b
    Examples:
      cilium-tune profile list
      cilium-tune profile show skyforge-dev
      cilium-tune profile show ./my-cluster.yaml -o json
      cilium-tune profile init my-cluster.yaml
      cilium-tune profile schema --out docs/profile-schema.json --check
    """


@profile.command("list")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table", show_default=True)
def list_(output: str) -> None:
    """List the built-in profiles."""
    rows: list[dict[str, Any]] = []
    for name in builtin_profile_names():
        prof = load_profile(name)
        rows.append({"name": name, "description": prof.description, "nodes": len(prof.nodes)})
    if output in MACHINE:
        echo_document(rows, output, "cilium-tune/profiles/v1")
        return
    width = max(len(r["name"]) for r in rows)
    click.echo(f"{'NAME':<{width}}  NODES  DESCRIPTION")
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['nodes']:>5}  {r['description']}")


@profile.command()
@click.argument("name_or_path", required=False, shell_complete=complete_profiles)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["yaml", "json", "source"]),
    default="yaml",
    show_default=True,
    help="yaml: the validated profile with defaults filled in; source: the file as written.",
)
def show(name_or_path: str | None, output: str) -> None:
    """Validate a profile (built-in NAME or a YAML file; default skyforge-dev) and print it."""
    prof = load_profile(name_or_path)
    if output == "source":
        source = prof.source
        if source.startswith("builtin:"):
            click.echo(builtin_profile_text(source.removeprefix("builtin:")), nl=False)
        else:
            click.echo(Path(source).read_text(encoding="utf-8"), nl=False)
        return
    data = msgspec.to_builtins(prof)
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(dump(data, header=f"profile {prof.name} (from {prof.source})", sort_keys=False), nl=False)


@profile.command()
@click.argument(
    "path", type=click.Path(dir_okay=False, path_type=Path), default=Path("cilium-tune-profile.yaml")
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter profile to PATH (default ./cilium-tune-profile.yaml)."""
    if path.exists() and not force:
        raise InputError(
            f"{path} already exists", hint="pass --force to overwrite it, or choose another path"
        )
    write_atomic(path, starter_text())
    click.echo(f"wrote {path}: edit it, then check it with `cilium-tune profile show {path}`")


@profile.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the schema to this file.")
@click.option("--check", is_flag=True, help="With --out: fail (exit 1) if the file differs; write nothing.")
def schema(out: Path | None, check: bool) -> None:
    """Print the profile JSON Schema (docs/profile-schema.json is generated from it)."""
    text = schema_text()
    if out is None:
        if check:
            raise InputError("--check needs --out FILE", hint="e.g. --out docs/profile-schema.json --check")
        click.echo(text, nl=False)
        return
    if check:
        current = out.read_text(encoding="utf-8") if out.exists() else None
        if current != text:
            raise FindingsError(f"{out} is out of date", hint=f"run `cilium-tune profile schema --out {out}`")
        click.echo(f"{out} is up to date")
        return
    changed = write_atomic(out, text, skip_unchanged=True)
    click.echo(f"{out}: {'written' if changed else 'unchanged'}")
