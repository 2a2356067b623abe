"""The plan describes what will really happen (issue 12, part A), or refuses.

Each case was seen exiting 0 with a plan that was not what helm would do: edited or missing overlay
files, facts of another cluster, a baseline that drifted from the live release, the one-time overlay on
stdout, and a near-miss baseline header (the last is in test_desired.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.facts.io import save_snapshot
from cilium_tune.facts.model import Snapshot

BASE_FACTS = Path(__file__).resolve().parents[1] / "rules" / "_bases" / "facts" / "skyforge-dev.yaml"


@pytest.fixture
def deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]) -> Path:
    """A working directory with skyforge-dev's overlays rendered into deploy/, as the runbook does."""
    monkeypatch.chdir(tmp_path)
    assert cli("render", "--out", "deploy")[0] == 0
    return tmp_path / "deploy"


def facts(tmp_path: Path, change: Any = None) -> str:
    raw = yaml.safe_load(BASE_FACTS.read_text())
    if change is not None:
        change(raw)
    for node in raw["nodes"]:
        major, minor, *_ = node["kernel"].split(".")
        node["kernel"] = {"major": int(major), "minor": int(minor), "raw": node["kernel"]}
    path = tmp_path / "cluster.json"
    save_snapshot(Snapshot.model_validate(raw), path)
    return str(path)


def test_an_edited_overlay_is_shown_and_refused_until_told_which_wins(
    deploy: Path, cli: Callable[..., Any]
) -> None:
    performance = deploy / "cilium-values.yaml"
    performance.write_text(performance.read_text().replace("socketLB:", "socketLb:"))

    code, out, err = cli("plan")
    assert code == 2 and out == ""
    assert "deploy/cilium-values.yaml differs from the profile's rendering:" in err
    assert '  - socketLB: {"enabled": true, "hostNamespaceOnly": true}' in err
    assert '  + socketLb: {"enabled": true, "hostNamespaceOnly": true}' in err
    assert "hint: say which wins: --overlays disk" in err

    code, out, _ = cli("plan", "--overlays", "disk")
    assert re.search(r"socketLb.enabled = true +<- deploy/cilium-values.yaml:", out), "the plan shows what helm reads"
    assert "socketLB.enabled" not in out.split("Changes")[0]
    assert "CT101 unknown-values-key: deploy/cilium-values.yaml:54:1: unknown key 'socketLb'" in out

    code, out, _ = cli("plan", "--overlays", "profile")
    assert re.search(r"socketLB.enabled = true +<- deploy/cilium-values.yaml:", out)
    assert "deploy/cilium-values.yaml must be rewritten first: cilium-tune render --out deploy" in out


def test_missing_overlays_are_refused_with_the_render_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("plan", "--profile", "lab")
    assert code == 2 and out == ""
    assert "deploy/cilium-values.yaml" in err and "missing" in err
    assert "hint: write the overlays first: cilium-tune render -p lab --out deploy" in err


def test_facts_of_another_cluster_are_refused_naming_what_differs(
    deploy: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    def lab_release(raw: dict[str, Any]) -> None:
        raw["helm_release"]["name"] = "cilium-lab"

    code, _, err = cli("plan", "--profile", "lab", "--overlays", "profile", "--facts", facts(tmp_path))
    assert code == 2
    assert "are not of profile lab's cluster lab: they show nodes skyforge-1, skyforge-2, skyforge-3" in err
    code, _, err = cli("plan", "--facts", facts(tmp_path, lab_release))
    assert code == 2 and "release kube-system/cilium-lab (the profile's is kube-system/cilium)" in err
    code, _, err = cli("lint", "--facts", facts(tmp_path, lab_release))
    assert code == 2, "lint refuses the same facts"


def test_baseline_drift_from_the_live_release_is_reported_and_the_rollback_pins_the_live_chart(
    deploy: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    def older_live_release(raw: dict[str, Any]) -> None:
        release = raw["helm_release"]
        release["chart_version"] = "1.18.5"
        release["computed_values"]["MTU"] = 0

    baseline = tmp_path / "before.yaml"
    live = yaml.safe_load(BASE_FACTS.read_text())["helm_release"]["computed_values"]
    baseline.write_text("# chart-version: 1.19.0-rc.1\n" + yaml.safe_dump({**live, "MTU": 1400}))
    args = ("plan", "--baseline", str(baseline), "--facts", facts(tmp_path, older_live_release))

    code, out, _ = cli(*args)
    assert code == 0, out
    assert f"Drift: {baseline} against the live release kube-system/cilium@7:\n  ~ MTU: 1400 -> 0\n" in out
    assert "says chart 1.19.0-rc.1, the cluster runs 1.18.5: the rollback pins 1.18.5" in out
    rollback = out.split("Rollback:")[1].split("\n\n")[0]
    assert "--version 1.18.5" in rollback and "1.19.0-rc.1" not in rollback

    data = json.loads(cli(*args, "-o", "json")[1])
    assert data["drift"]["changed"] == [{"kind": "changed", "path": "MTU", "old": 1400, "new": 0}]


def test_render_to_stdout_leaves_the_one_time_overlay_out(deploy: Path, cli: Callable[..., Any]) -> None:
    code, out, err = cli("render")
    assert code == 0
    assert "cleanState" not in out and "# file: cilium-values-netkit-migrate.yaml" not in out
    assert "note: cilium-values-netkit-migrate.yaml is one-time and is written only with --out DIR" in err
    assert "cleanState: true" in (deploy / "cilium-values-netkit-migrate.yaml").read_text()
    assert "ONE-TIME" in (deploy / "cilium-values-netkit-migrate.yaml").read_text()
