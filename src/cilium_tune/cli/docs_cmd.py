"""`cilium-tune docs`: regenerate the reference docs from the code, or check they are current."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from cilium_tune.errors import FindingsError

EXAMPLES = """
\b
Examples:
  cilium-tune docs --write          # rewrite docs/rules.md and the JSON Schemas
  cilium-tune docs --check          # exit 1 when a committed file is out of date (CI)
"""


def _rules_markdown() -> str:
    from cilium_tune.report.markdown import render_rules_markdown
    from cilium_tune.rules import registry

    return render_rules_markdown(registry.all())


def _checks_markdown() -> str:
    from cilium_tune.checks import registry
    from cilium_tune.report.markdown import render_checks_markdown

    return render_checks_markdown(registry.all())


def _profile_schema() -> str:
    from cilium_tune.profile.schema import schema_text

    return schema_text()


def _facts_schema() -> str:
    from cilium_tune.facts.io import schema_json

    return schema_json()


# File under the docs directory -> its generator. Each is produced from the code it documents.
GENERATED: dict[str, Callable[[], str]] = {
    "rules.md": _rules_markdown,
    "checks.md": _checks_markdown,
    "profile-schema.json": _profile_schema,
    "facts-schema.json": _facts_schema,
}


def stale_docs(docs_dir: Path) -> list[str]:
    """The generated files under `docs_dir` that are missing or differ from what the code produces."""
    out = []
    for name, generate in GENERATED.items():
        path = docs_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != generate():
            out.append(name)
    return out


@click.command("docs", epilog=EXAMPLES)
@click.option("--write", "mode", flag_value="write", help="Rewrite the generated files.")
@click.option("--check", "mode", flag_value="check", default=True, help="Only report stale files (exit 1).")
@click.option(
    "--dir",
    "docs_dir",
    default="docs",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The docs directory.",
)
def docs(mode: str, docs_dir: str) -> None:
    """Generate the reference docs (rules, profile and facts schemas) from the code."""
    from cilium_tune.files import write_atomic

    folder = Path(docs_dir)
    stale = stale_docs(folder)
    if mode == "write":
        for name in stale:
            write_atomic(folder / name, GENERATED[name]())
            click.echo(f"wrote {folder / name}")
        if not stale:
            click.echo("docs are up to date")
        return
    if stale:
        for name in stale:
            click.echo(f"stale: {folder / name}")
        raise FindingsError(
            f"{len(stale)} generated doc(s) out of date", hint="run `cilium-tune docs --write` and commit the result"
        )
    click.echo("docs are up to date")
