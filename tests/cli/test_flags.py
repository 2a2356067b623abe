"""The same flags everywhere, spelled as kubectl and helm spell them: a command that talks to the
cluster takes --kubeconfig, --context and --timeout; --profile comes with -p, --values with -f,
--namespace with -n, --output with -o, and an -o that offers json offers yaml too."""

from __future__ import annotations

import click
import pytest

from cilium_tune.cli.main import cli

PAIRS = {"--profile": "-p", "--values": "-f", "--namespace": "-n", "--output": "-o"}


def commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, f"{path} {name}".strip())
        else:
            found.append((path, command))

    walk(cli, "")
    return found


@pytest.mark.parametrize(("path", "command"), commands(), ids=[p for p, _ in commands()])
def test_flags_are_spelled_alike(path: str, command: click.Command) -> None:
    by_opt = {opt: param for param in command.params for opt in param.opts}
    for long, short in PAIRS.items():
        if long in by_opt:
            assert short in by_opt[long].opts, f"{path}: {long} without {short}"
    if "--kubeconfig" in by_opt:
        assert {"--context", "--timeout"} <= set(by_opt), f"{path}: --kubeconfig without --context/--timeout"
    output = by_opt.get("--output")
    if output is not None and isinstance(output.type, click.Choice) and "json" in output.type.choices:
        assert "yaml" in output.type.choices, f"{path}: -o json without -o yaml"


def test_every_timeout_is_the_same_option() -> None:
    """--timeout is `options.timeout_option` everywhere: positive seconds, its default shown."""
    found = 0
    for path, command in commands():
        timeout = next((param for param in command.params if "--timeout" in param.opts), None)
        if timeout is None:
            continue
        found += 1
        assert isinstance(timeout.type, click.FloatRange), path
        assert (timeout.type.min, timeout.type.min_open) == (0, True), path
        assert timeout.metavar == "SECONDS" and timeout.show_default, path  # type: ignore[attr-defined]
        assert isinstance(timeout.default, float) and timeout.default > 0, path
    assert found >= 10


@pytest.mark.parametrize("path", ["bench run", "lab up"])
def test_commands_that_reach_a_cluster_or_helm_take_timeout(path: str) -> None:
    command = dict(commands())[path]
    assert "--timeout" in {opt for param in command.params for opt in param.opts}, path


def test_rule_lists_read_alike_on_lint_and_apply() -> None:
    """`--select`/`--ignore` on lint and `--ignore` on apply: repeated or comma-separated, blanks allowed."""
    from cilium_tune.cli.options import rule_ids

    assert rule_ids(("CT201, CT2", "netkit-on-old-kernel", ",")) == ["CT201", "CT2", "netkit-on-old-kernel"]
