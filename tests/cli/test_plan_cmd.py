"""`cilium-tune plan` end to end: text and JSON, detailed exit codes, and bad input rejected cleanly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

FROM_PROFILE = ("--overlays", "profile")  # plan from the profile alone (no rendered files here)


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cilium_tune", *args], capture_output=True, text=True, check=False, cwd=cwd
    )


def render_and_plan_json(tmp_path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    assert run("render", "--out", str(tmp_path / "deploy")).returncode == 0
    result = run("plan", "--overlay-dir", str(tmp_path / "deploy"), "-o", "json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_default_plan_is_skyforge_dev_with_the_runbook_layers_and_commands(tmp_path: Path) -> None:
    assert run("render", "--out", "deploy", cwd=tmp_path).returncode == 0
    result = run("plan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(
        "profile: skyforge-dev (default)\n"
        "Plan for skyforge-dev: release kube-system/cilium, chart cilium/cilium 1.19.0-rc.1"
    )
    assert re.search(r'routingMode = "native" +<- deploy/cilium-values.yaml:', out)
    assert "Datapath mode: veth -> netkit" in out
    assert "--version 1.19.0-rc.1 -f deploy/cilium-values.yaml -f deploy/cilium-values-dualstack.yaml" in out
    assert "No baseline: capture one first" in out


def test_json_plan_carries_provenance_diff_and_a_pinned_rollback(tmp_path: Path) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text("# chart-version: 1.18.6\nroutingMode: tunnel\nbpf:\n  datapathMode: veth\n")
    data = render_and_plan_json(tmp_path, "--baseline", str(baseline))
    assert [layer["status"] for layer in data["layers"]] == [None, "up to date", "up to date", "up to date"]
    routing = data["values"]["routingMode"]
    assert routing["value"] == "native"
    assert routing["overrode"] == [{"value": "tunnel", "origin": f"{baseline}:2:1"}]
    assert {"kind": "changed", "path": "routingMode", "old": "tunnel", "new": "native"} in data["diff"]["changed"]
    assert data["datapath_change"] == {"from": "veth", "to": "netkit"}
    upgrades = [step for step in data["rollback"] if step["kind"] == "helm-upgrade"]
    assert [step["id"] for step in upgrades] == ["rollback/hold/helm", "rollback/release/helm"]
    assert all(step["argv"][step["argv"].index("--version") + 1] == "1.18.6" for step in upgrades)


def test_detailed_exitcode_is_2_with_pending_changes_and_0_when_applied(tmp_path: Path) -> None:
    deploy = tmp_path / "deploy"
    assert run("render", "--out", str(deploy)).returncode == 0
    pending = run("plan", "--overlay-dir", str(deploy), "--detailed-exitcode")
    assert pending.returncode == 2
    # A baseline equal to what the overlays produce: nothing left to change.
    merged = run(
        "values", "merge", "-f", str(deploy / "cilium-values.yaml"), "-f", str(deploy / "cilium-values-dualstack.yaml")
    )
    assert merged.returncode == 0, merged.stderr
    applied = tmp_path / "applied.yaml"
    applied.write_text("# chart-version: 1.19.0-rc.1\n" + merged.stdout)
    same = run("plan", "--overlay-dir", str(deploy), "--baseline", str(applied), "--detailed-exitcode")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "none." in same.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "/nonexistent/before.yaml"], "/nonexistent/before.yaml: values file not found"),
        (["--profile", "/nonexistent/profile.yaml"], "/nonexistent/profile.yaml"),
        (["--profile", "no-such-builtin"], "no-such-builtin"),
    ],
)
def test_bad_input_exits_2_plainly_and_1_under_detailed_exitcode(args: list[str], message: str) -> None:
    plain = run("plan", *args)
    assert plain.returncode == 2
    assert message in plain.stderr and "Traceback" not in plain.stderr
    detailed = run("plan", *args, "--detailed-exitcode")
    assert detailed.returncode == 1, "bad input must never look like 'changes pending' (2)"


def test_malformed_baseline_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "before.yaml"
    bad.write_text("routingMode: native\nbpf:\n  datapathMode: [veth\n")
    result = run("plan", "--baseline", str(bad))
    assert result.returncode == 2
    assert f"{bad}:" in result.stderr and "Traceback" not in result.stderr


def runbook_facts(tmp_path: Path, kernel_of: dict[str, str] | None = None) -> Path:
    """The runbook's cluster as a facts file (the rules' base fixture), with some kernels replaced."""
    import yaml

    from cilium_tune.facts.io import save_snapshot
    from cilium_tune.facts.model import KernelVersion, Snapshot

    base = Path(__file__).resolve().parents[1] / "rules" / "_bases" / "facts" / "skyforge-dev.yaml"
    raw = yaml.safe_load(base.read_text())
    for node in raw["nodes"]:
        kernel = (kernel_of or {}).get(node["name"], node["kernel"])
        node["kernel"] = KernelVersion.parse(kernel).model_dump()  # type: ignore[union-attr]
    path = tmp_path / "cluster.json"
    save_snapshot(Snapshot.model_validate(raw), path)
    return path


def test_plan_shows_preflight_findings_and_fails_on_errors(tmp_path: Path) -> None:
    clean = run("plan", *FROM_PROFILE, "--facts", str(runbook_facts(tmp_path)))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Preflight findings:" in clean.stdout and "0 errors" in clean.stdout

    old = runbook_facts(tmp_path, {"skyforge-2": "6.1.0-18-amd64"})
    failed = run("plan", *FROM_PROFILE, "--facts", str(old))
    assert failed.returncode == 1
    assert "CT201 netkit-on-old-kernel: node skyforge-2 runs kernel 6.1.0-18-amd64" in failed.stdout
    assert "Apply:" in failed.stdout, "the plan is still shown in full"
    assert run("plan", *FROM_PROFILE, "--facts", str(old), "--detailed-exitcode").returncode == 1
    data = json.loads(run("plan", *FROM_PROFILE, "--facts", str(old), "-o", "json").stdout)
    assert [f["rule_id"] for f in data["preflight"]["findings"]][:1] == ["CT201"]


LAB_CHART = str(Path(__file__).resolve().parents[2] / "src" / "cilium_tune" / "lab" / "chart")


def test_chart_render_check_passes_with_each_helm_major(helm_bin: Path) -> None:
    result = run("plan", *FROM_PROFILE, "--profile", "lab", "--chart", LAB_CHART, "--helm", str(helm_bin))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok     hold/helm: new values, agents held (OnDelete)" in result.stdout
    assert "ok     release/helm: the chart's update strategy again" in result.stdout


def test_chart_defaults_join_the_merge_with_their_own_provenance(helm4: Path) -> None:
    result = run("plan", *FROM_PROFILE, "--profile", "lab", "--chart", LAB_CHART, "--helm", str(helm4), "-o", "json")
    data = json.loads(result.stdout)
    assert data["values"]["tunnelProtocol"]["origin"].startswith(f"{LAB_CHART}/values.yaml:")
    assert data["values"]["routingMode"]["overrode"][0]["origin"].startswith(f"{LAB_CHART}/values.yaml:")
    assert all(check["ok"] for check in data["render_check"])


def test_a_value_the_chart_refuses_fails_the_plan_with_helms_reason(tmp_path: Path, helm4: Path) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text("# chart-version: 1.19.0-rc.1\nl7Proxy: false\n")
    chart = ("--chart", LAB_CHART, "--helm", str(helm4))
    result = run("plan", *FROM_PROFILE, "--profile", "lab", "--baseline", str(baseline), *chart)
    assert result.returncode == 1
    assert "FAILED release/helm: the chart's update strategy again" in result.stdout
    assert "requires l7Proxy=true" in result.stdout
    assert "ok     rollback/release/helm" in result.stdout


def test_missing_or_old_helm_is_input_error(tmp_path: Path) -> None:
    missing = run("plan", *FROM_PROFILE, "--profile", "lab", "--chart", LAB_CHART, "--helm", str(tmp_path / "helm"))
    assert missing.returncode == 2
    assert f"helm binary not found: '{tmp_path / 'helm'}'" in missing.stderr
    old = tmp_path / "old-helm"
    old.write_text("#!/bin/sh\necho v3.12.0+gabcdef0\n")
    old.chmod(0o755)
    too_old = run("plan", *FROM_PROFILE, "--profile", "lab", "--chart", LAB_CHART, "--helm", str(old))
    assert too_old.returncode == 2
    assert "cilium-tune needs helm >= 3.14" in too_old.stderr and "Traceback" not in too_old.stderr


def test_with_facts_and_no_baseline_the_live_release_is_the_baseline(tmp_path: Path) -> None:
    result = run("plan", *FROM_PROFILE, "--facts", str(runbook_facts(tmp_path)), "-o", "json")
    data = json.loads(result.stdout)
    assert data["baseline"]["path"].startswith("live:kube-system/cilium@")
    assert [layer["role"] for layer in data["layers"]] == ["overlay", "overlay"]  # live already runs netkit
    (rollback,) = data["rollback"]
    assert rollback["kind"] == "helm-rollback" and rollback["argv"][3:5] == ["rollback", "cilium"]


def test_values_that_helm_accepts_silently_are_warned_about(tmp_path: Path) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text("# chart-version: 1.19.0-rc.1\nroutingMode: tunnel\nroutingMode: native\n")
    result = run("plan", *FROM_PROFILE, "--baseline", str(baseline))
    assert result.returncode == 0
    assert f"{baseline}:3:1: duplicate key routingMode (first at line 2)" in result.stdout


def test_a_profile_chart_that_cannot_restore_the_baseline_refuses_the_plan(tmp_path: Path) -> None:
    """The lab profile's chart is a local rc.1 chart; over a 1.18.12 baseline its rollback would install rc.1
    under 1.18.12's values (helm ignores --version for a local chart): exit 2, one error and a hint."""
    baseline = tmp_path / "before.yaml"
    baseline.write_text("# chart-version: 1.18.12\nMTU: 1400\n")
    result = run("plan", *FROM_PROFILE, "--profile", "lab", "--baseline", str(baseline))
    assert result.returncode == 2, result.stdout + result.stderr
    error, hint = result.stderr.splitlines()[-2:]
    assert error.startswith("error: chart builtin:lab (the profile's release.chart) is version 1.19.0-rc.1, but ")
    assert hint.startswith("hint: set the profile's release.chart to a repository reference such as cilium/cilium")
