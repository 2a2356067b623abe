"""`cilium-tune rules`: list the preflight rules, or explain one."""

from __future__ import annotations

import difflib

import click

from cilium_tune.cli.completion_cmd import complete_rules
from cilium_tune.cli.machine import MACHINE, echo_document
from cilium_tune.errors import InputError

EXAMPLES = """
\b
Examples:
  cilium-tune rules                        # every rule: id, severity, name, title
  cilium-tune rules list -o wide           # one line per rule, however wide
  cilium-tune rules list -o json           # machine-readable, with the doc sections
  cilium-tune rules list -o markdown       # the rules reference (docs/rules.md)
  cilium-tune rules explain CT201          # one rule in full (an id or a name)
"""


@click.group("rules", invoke_without_command=True, epilog=EXAMPLES)
@click.pass_context
def rules(ctx: click.Context) -> None:
    """List the preflight rules or explain one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_rules)


@rules.command("list")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "wide", "json", "yaml", "markdown"]),
    default="table",
    show_default=True,
    help="table fits the terminal; wide is one line per rule.",
)
@click.option("--area", help="Only the rules of one area (values, datapath, routing, ipam, k3s, ...).")
def list_rules(output: str = "table", area: str | None = None) -> None:
    """List every rule (or one area's)."""
    from cilium_tune.report import json as json_report
    from cilium_tune.report.markdown import render_rules_markdown, source_path
    from cilium_tune.report.text import render_rule_table
    from cilium_tune.rules import AREAS, registry

    chosen = registry.all()
    if area is not None:
        if area not in AREAS:
            raise InputError(f"no rule area {area!r}", hint=f"areas: {', '.join(AREAS)}")
        chosen = [r for r in chosen if r.area == area]
    if output in MACHINE:
        text = json_report.render_rules(chosen, sources={r.id: source_path(r) for r in chosen})
        echo_document(text, output, json_report.RULES_SCHEMA)
    elif output == "markdown":
        click.echo(render_rules_markdown(chosen), nl=False)
    else:
        from cilium_tune.cli.terminal import width

        click.echo(render_rule_table(chosen, width=None if output == "wide" else width()), nl=False)


@rules.command("explain")
@click.argument("rule_ref", metavar="ID|NAME", shell_complete=complete_rules)
@click.option(
    "-o", "--output", type=click.Choice(["text", "json", "yaml", "markdown"]), default="text", show_default=True
)
def explain(rule_ref: str, output: str) -> None:
    """Print one rule's documentation: what it checks, why, an example, the fix, references."""
    from cilium_tune.report import json as json_report
    from cilium_tune.report.markdown import render_rules_markdown, source_path
    from cilium_tune.report.text import render_rule
    from cilium_tune.rules import registry

    found = registry.find(rule_ref)
    if found is None:
        known = [r.id for r in registry.all()] + [r.name for r in registry.all()]
        close = difflib.get_close_matches(rule_ref, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "run `cilium-tune rules` to list them"
        raise InputError(f"no rule {rule_ref!r}", hint=hint)
    if output in MACHINE:
        echo_document(json_report.rule_document(found, source=source_path(found)), output, "cilium-tune/rule/v1")
    elif output == "markdown":
        click.echo(render_rules_markdown([found]), nl=False)
    else:
        click.echo(render_rule(found, source=source_path(found)), nl=False)
