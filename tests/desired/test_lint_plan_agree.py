"""`lint` and `plan` give the same findings and the same failing status for the same inputs.

Both build their values with `cilium_tune.desired`; this test holds them to it, over every rule's firing
fixture (tests/rules/CT###/fires_*.yaml: the fixture's values as the captured baseline, its facts as the
snapshot, the skyforge-dev overlays on top) and over live releases whose values the overlays leave alone
(no baseline file: the live release is the first layer, as `--reuse-values` keeps it).
Plan gets `--overlays profile`: lint judges the profile's rendering, and so the plan does the same.
When both refuse the input (facts of another cluster), they must refuse it alike.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.facts.io import save_snapshot

RULES = Path(__file__).resolve().parents[1] / "rules"
sys.path.insert(0, str(RULES))
from rule_cases import BASES, merge_facts, merge_values, read_yaml, snapshot_from  # noqa: E402

FIRING = sorted(RULES.glob("CT[0-9][0-9][0-9]/fires_*.yaml"))


def findings(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["rule_id"], f["severity"], f["message"]) for f in document["findings"]]


def lint_and_plan(cli: Callable[..., Any], *inputs: str) -> tuple[Any, Any]:
    """Each command's (exit code, findings) for the same inputs."""
    lint_code, lint_out, lint_err = cli("lint", *inputs, "-o", "json")
    plan_code, plan_out, plan_err = cli("plan", "--overlays", "profile", *inputs, "-o", "json")
    if lint_code == 2 or plan_code == 2:
        return (lint_code, lint_err), (plan_code, plan_err)
    lint_doc, plan_doc = json.loads(lint_out), json.loads(plan_out)["preflight"]
    return (lint_code, findings(lint_doc)), (plan_code, findings(plan_doc))


def write_facts(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    if not doc.get("facts_base") and doc.get("facts") is None:
        return []
    raw: Any = read_yaml(BASES / "facts" / f"{doc['facts_base']}.yaml") if doc.get("facts_base") else {}
    path = tmp_path / "cluster.json"
    save_snapshot(snapshot_from(merge_facts(raw, doc.get("facts") or {})), path)
    return ["--facts", str(path)]


@pytest.mark.parametrize("fixture", FIRING, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_lint_and_plan_agree_on_each_firing_fixture(
    fixture: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    doc = read_yaml(fixture)
    values = read_yaml(BASES / "values" / f"{doc['values_base']}.yaml") if doc.get("values_base") else {}
    values = merge_values(values or {}, doc.get("values") or {})
    given = doc.get("baseline")
    version = given.get("chart_version") if given is not None else "1.19.0-rc.1"
    baseline = tmp_path / "before.yaml"
    header = f"# chart-version: {version}\n" if version else ""
    baseline.write_text(header + yaml.safe_dump(values, sort_keys=True))
    inputs = ["--profile", "skyforge-dev", "--baseline", str(baseline), *write_facts(tmp_path, doc)]
    lint, plan = lint_and_plan(cli, *inputs)
    assert lint == plan


@pytest.mark.parametrize(
    ("live", "fires"),
    [
        ({"bpf": {"hostLegacyRouting": True}}, {"CT202", "CT209"}),
        ({"rollOutCiliumPods": True}, {"CT902"}),
        ({"bpf": {"tproxy": True}}, {"CT203"}),
    ],
    ids=["hostLegacyRouting", "rollOutCiliumPods", "tproxy"],
)
def test_lint_and_plan_agree_on_the_live_release(
    live: dict[str, Any], fires: set[str], tmp_path: Path, cli: Callable[..., Any]
) -> None:
    facts = read_yaml(BASES / "facts" / "skyforge-dev.yaml")
    release = facts["helm_release"]
    release["computed_values"] = merge_values(release["computed_values"], live)
    facts["cilium_config"]["data"]["datapath-mode"] = "veth"
    path = tmp_path / "cluster.json"
    save_snapshot(snapshot_from(facts), path)
    lint, plan = lint_and_plan(cli, "--profile", "skyforge-dev", "--facts", str(path))
    assert lint == plan
    assert lint[0] == 1, "an error finding fails both"
    assert fires <= {rule_id for rule_id, _, _ in lint[1]}
