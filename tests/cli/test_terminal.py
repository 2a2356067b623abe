"""The terminal: text fits 80 columns without breaking words, `-o wide` may scroll, colour only when asked.

Golden in the sense that matters to a reader at 80 columns: plan, lint, facts and rules list rendered
in-process with COLUMNS=80, every line at most 80 characters, every word of the unwrapped output still
there, and the plan's commands still valid shell once their ` \\` continuations are joined.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cilium_tune.facts.io import save_snapshot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rules"))
from rule_cases import BASES, read_yaml, snapshot_from

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def visible(text: str) -> Counter[str]:
    """The printed characters, whatever the line breaks, continuations, JSON indentation and the `#` that
    starts a wrapped comment's next line."""
    return Counter(text.replace("\\\n", "").replace(" ", "").replace("\n", "").replace("#", ""))


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]) -> Path:
    """The runbook's cluster as a saved snapshot, and the skyforge-dev overlays rendered in tmp_path."""
    monkeypatch.chdir(tmp_path)
    save_snapshot(snapshot_from(read_yaml(BASES / "facts" / "skyforge-dev.yaml")), str(tmp_path / "cluster.json"))
    (tmp_path / "typo.yaml").write_text("socketLb:\n  enabled: true\nbpf:\n  datapathMode: netkit\n")
    assert cli("render", "--out", "deploy").code == 0
    return tmp_path


COMMANDS = {
    "plan": ["plan"],
    "lint": ["lint", "--facts", "cluster.json", "-p", "skyforge-dev", "-f", "typo.yaml", "--fail-on", "info"],
    "facts": ["facts", "--facts", "cluster.json"],
    "rules list": ["rules", "list"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_line_fits_80_columns_and_no_word_is_lost(
    name: str, lab: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = COMMANDS[name]
    _, wide, _ = cli(*args)
    monkeypatch.setenv("COLUMNS", "80")
    _, narrow, _ = cli(*args)
    too_wide = [line for line in narrow.splitlines() if len(line) > 80]
    assert not too_wide, f"{name}: lines over 80 columns: {too_wide}"
    assert narrow != wide, f"{name}: the wide rendering needed no wrapping, so this proves nothing"
    assert visible(narrow) == visible(wide), "wrapping moves characters to other lines, never drops one"


def test_plan_commands_stay_valid_shell_and_provenance_lines_up(
    lab: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = cli("plan")
    joined = out.replace(" \\\n      ", " ")
    helm = next(line for line in joined.splitlines() if "[hold/helm]" not in line and "upgrade --install" in line)
    argv = shlex.split(helm)
    assert argv[argv.index("--version") + 1] == "1.19.0-rc.1"
    assert "--set" in argv and "updateStrategy.type=OnDelete" in argv
    arrows = {line.index("<- ") for line in out.splitlines() if re.match(r"  \S+ = .+ <- deploy/", line)}
    assert len(arrows) == 1, "one-line values share one provenance column"


def test_rules_list_wide_is_one_row_per_rule(lab: Path, cli: Callable[..., Any]) -> None:
    _, wide, _ = cli("rules", "list", "-o", "wide")
    rows = [line for line in wide.splitlines() if re.match(r"CT\d{3} ", line)]
    assert len(rows) == len(wide.splitlines()) - 1
    assert max(len(line) for line in rows) > 80


@pytest.mark.parametrize(
    ("color", "no_color", "coloured"),
    [("always", None, True), ("never", None, False), ("auto", None, False), ("always", "1", True)],
)
def test_colour_only_when_asked_or_on_a_tty(
    color: str, no_color: str | None, coloured: bool, lab: Path, cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", no_color)
    code, out, _ = cli("--color", color, "lint", "-f", "typo.yaml", "--fail-on", "info")
    assert code == 1
    assert bool(ANSI.search(out)) is coloured


def test_no_color_turns_auto_off_even_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from cilium_tune.cli.terminal import use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    with click.Context(click.Command("x")):
        assert use_color(Tty())
        monkeypatch.setenv("NO_COLOR", "1")
        assert not use_color(Tty())


def test_facts_mark_address_not_assigned_as_expected_in_host_network_mode() -> None:
    from rule_cases import merge_facts

    from cilium_tune.cli.facts_cmd import render_text

    base = read_yaml(BASES / "facts" / "skyforge-dev.yaml")
    status = {"gateways": [{"name": "skyforge", "conditions": [
        {"type": "Accepted", "status": "True"},
        {"type": "Programmed", "status": "False", "reason": "AddressNotAssigned"},
    ]}]}
    host_network = {"cilium_config": {"data": {"gateway-api-hostnetwork-enabled": "true"}}}
    with_service = snapshot_from(merge_facts(base, status))
    in_host_network = snapshot_from(merge_facts(merge_facts(base, status), host_network))
    assert "expected in host-network mode" not in render_text(with_service)
    shown = render_text(in_host_network, width=80)
    assert "Programmed=False/AddressNotAssigned\n    expected in host-network mode: In host-network mode" in shown
    assert "https://github.com/cilium/cilium/issues/42786" in shown


def test_each_plan_step_says_which_pods_it_replaces_and_its_bound(
    lab: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    _, out, _ = cli("plan", "-o", "json")
    apply = {step["id"]: step["impact"] for step in json.loads(out)["apply"]}
    assert any("cilium agent pod" in i["replaces"] for i in apply.values())
    monkeypatch.setenv("COLUMNS", "80")
    _, text, _ = cli("plan")
    assert "#   replaces: every workload pod on skyforge-1 (evicted," in text
    assert "#   replaces: the cilium agent pod on skyforge-1" in text and "at most 600 s" in text
    commented = [line for line in text.splitlines() if "replaces:" in line or line.startswith("  #     ")]
    assert all(line.lstrip().startswith("#") for line in commented), "wrapped comments stay comments"
