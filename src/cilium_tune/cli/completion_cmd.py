"""`cilium-tune completion bash|zsh|fish`: the shell completion script, as `kubectl completion` prints it.

Completion itself is click's: the script calls back into `cilium-tune` with `_CILIUM_TUNE_COMPLETE` set.
The completers below add what click cannot know: profile names (built-ins, then profile files) and rule
ids with their names.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_CILIUM_TUNE_COMPLETE"


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Built-in profile names and `none`; a path-like word completes as a file."""
    from cilium_tune.profile.load import builtin_profile_names

    if "/" in incomplete or incomplete.startswith("."):
        return [CompletionItem(incomplete, type="file")]
    names = [*builtin_profile_names(), "none"]
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_rules(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Rule ids (with the rule's name as help) and rule names."""
    from cilium_tune.rules import registry

    found = []
    for rule in registry.all():
        for word in (rule.id, rule.name):
            if word.lower().startswith(incomplete.lower()):
                found.append(CompletionItem(word, help=rule.title))
    return found


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    Examples:
      source <(cilium-tune completion bash)                  # this shell
      cilium-tune completion bash > /etc/bash_completion.d/cilium-tune
      cilium-tune completion zsh > "${fpath[1]}/_cilium-tune"
      cilium-tune completion fish > ~/.config/fish/completions/cilium-tune.fish
    """
    from cilium_tune.cli.main import cli

    cls = get_completion_class(shell)
    assert cls is not None  # every name in SHELLS is one click ships
    click.echo(cls(cli, {}, "cilium-tune", COMPLETE_VAR).source())
