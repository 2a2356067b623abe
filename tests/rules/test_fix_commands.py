"""Fix texts name only commands that exist, and references are links.

Every `cilium-tune ...` a rule's doc or fix mentions is a real command path, every --option written after
it is one of that command's options, and every rule's references give at least one URL (the runbook,
the user's own document, excepted)."""

from __future__ import annotations

import re

import click
import pytest

from cilium_tune.cli.main import cli
from cilium_tune.rules import registry

MENTION = re.compile(r"cilium-tune((?: [a-z][a-z-]*)+)((?: +(?:--?[a-z][a-z-]*|[^\s`-][^\s`]*))*)")


def command_at(words: list[str]) -> tuple[click.Command, list[str]]:
    """The deepest command the words name, and the words left over (arguments)."""
    command: click.Command = cli
    ctx = click.Context(cli)
    for index, word in enumerate(words):
        if not isinstance(command, click.Group):
            return command, words[index:]
        found = command.get_command(ctx, word)
        if found is None:
            return command, words[index:]
        command = found
    return command, []


def mentions() -> list[tuple[str, str]]:
    texts = {r.id: " ".join([r.fix or "", *r.sections.values()]) for r in registry.all()}
    return [(rule_id, m.group(0)) for rule_id, text in texts.items() for m in MENTION.finditer(text)]


@pytest.mark.parametrize(("rule_id", "mention"), mentions())
def test_a_mentioned_command_exists_with_its_options(rule_id: str, mention: str) -> None:
    words = mention.split()[1:]
    command, rest = command_at(words)
    assert command is not cli, f"{rule_id}: `{mention}` names no command"
    if isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        pytest.fail(f"{rule_id}: `{mention}`: {command.name} has no subcommand {rest[0]!r}")
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    unknown = [w for w in rest if w.startswith("-") and w.split("=")[0] not in options]
    assert not unknown, f"{rule_id}: `{mention}`: {command.name} has no option {unknown}"


def test_references_become_links() -> None:
    from cilium_tune.rules.links import links

    urls = {url for rule in registry.all() for url in links(rule)}
    assert "https://github.com/cilium/cilium/issues/46337" in urls
    assert "https://github.com/cilium/cilium/pull/42482" in urls
    assert "https://docs.cilium.io/en/stable/operations/performance/tuning/" in urls
    assert all(url.startswith("https://") for url in urls)
    without = [r.id for r in registry.all() if not links(r) and "runbook" not in r.sections["References"]]
    assert not without, f"rules whose references give no link: {without}"


def test_ct703_fix_is_the_runbooks_command_at_the_installed_bundle_version() -> None:
    from pathlib import Path

    from rule_cases import load_case

    case = load_case(Path(__file__).parent / "CT703" / "fires_tlsroute_missing.yaml")
    rule = registry.find("CT703")
    assert rule is not None
    (finding,) = rule.run(case.ctx)
    assert finding.fix is not None and finding.fix.endswith(
        "kubectl apply -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.2.1/experimental-install.yaml."
    )
