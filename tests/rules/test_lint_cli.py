"""`cilium-tune lint`, `rules` and `docs` end to end through the CLI entry point."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rule_cases import build_context

from cilium_tune.facts.io import save_snapshot

ROOT = Path(__file__).resolve().parents[2]


def facts_file(tmp_path: Path, name: str = "cluster.json", **overlay: Any) -> str:
    """The runbook's cluster as a saved snapshot, optionally changed by a fixture-style overlay."""
    ctx = build_context({"facts_base": "skyforge-dev", "facts": overlay})
    path = tmp_path / name
    assert ctx.facts is not None
    save_snapshot(ctx.facts, path)
    return str(path)


def test_skyforge_dev_passes_against_the_runbook_cluster(tmp_path: Path, cli: Callable[..., Any]) -> None:
    code, out, err = cli("lint", "--profile", "skyforge-dev", "--facts", facts_file(tmp_path))
    assert code == 0, out + err
    assert "0 errors" in out
    assert "error (" not in out


def test_one_node_on_kernel_6_1_fails_naming_that_node(tmp_path: Path, cli: Callable[..., Any]) -> None:
    facts = facts_file(tmp_path, nodes=[{"name": "skyforge-2", "kernel": "6.1.0-18-amd64"}])
    code, out, err = cli("lint", "--profile", "skyforge-dev", "--facts", facts)
    assert code == 1
    assert "CT201 netkit-on-old-kernel: node skyforge-2 runs kernel 6.1.0-18-amd64" in out
    assert "nodes[skyforge-2].kernel = 6.1.0-18-amd64" in out
    assert "lint failed" in err and "Traceback" not in err


def test_json_output_and_junit_file(tmp_path: Path, cli: Callable[..., Any]) -> None:
    facts = facts_file(tmp_path, nodes=[{"name": "skyforge-2", "kernel": "6.1.0-18-amd64"}])
    junit = tmp_path / "reports" / "lint.xml"
    code, out, _ = cli("lint", "--facts", facts, "-o", "json", "--junit", str(junit))
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"]["error"] == 1 and doc["summary"]["failed"] is True
    assert doc["findings"][0]["rule_id"] == "CT201"
    assert doc["findings"][0]["evidence"]["nodes[skyforge-2].kernel"] == "6.1.0-18-amd64"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["rules/CT201/netkit-on-old-kernel"]


def test_fail_on_warning_is_stricter(tmp_path: Path, cli: Callable[..., Any]) -> None:
    code, out, _ = cli("lint", "--facts", facts_file(tmp_path), "--fail-on", "warning")
    assert code == 1
    assert "CT702" in out


def test_values_files_without_a_profile(tmp_path: Path, cli: Callable[..., Any]) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("routingMode: native\nsocketLb:\n  enabled: true\n")
    code, out, _ = cli("lint", "-f", str(values))
    assert code == 1
    assert "CT301 native-routing-without-native-cidr" in out
    assert "did you mean 'socketLB'" in out


def test_select_and_ignore(tmp_path: Path, cli: Callable[..., Any]) -> None:
    facts = facts_file(tmp_path, nodes=[{"name": "skyforge-2", "kernel": "6.1.0-18-amd64"}])
    code, out, _ = cli("lint", "--facts", facts, "--select", "CT2", "--ignore", "CT201")
    assert code == 0
    assert "CT205" in out and "CT201" not in out and "from 8 rules" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "CT999"], "no rule 'CT999'"),
        (["--facts", "/nonexistent/cluster.json"], "/nonexistent/cluster.json"),
        (["--profile", "no-such-profile"], "no-such-profile"),
    ],
)
def test_bad_input_exits_2_without_traceback(cli: Callable[..., Any], args: list[str], message: str) -> None:
    code, _, err = cli("lint", *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_rules_list_and_explain(cli: Callable[..., Any]) -> None:
    code, out, _ = cli("rules")
    assert code == 0 and "CT201  error     netkit-on-old-kernel" in out
    code, out, _ = cli("rules", "list", "-o", "json")
    assert code == 0 and {r["id"] for r in json.loads(out)["rules"]} >= {"CT101", "CT904"}
    code, out, _ = cli("rules", "explain", "ct801")
    assert code == 0 and "Why it matters:" in out and "hostNamespaceOnly" in out
    code, _, err = cli("rules", "explain", "netkit-on-old-kernal")
    assert code == 2 and "did you mean netkit-on-old-kernel?" in err


def test_docs_rules_md_is_current() -> None:
    """docs/rules.md is generated from the rules; regenerate with `cilium-tune docs --write`."""
    from cilium_tune.cli.docs_cmd import stale_docs

    assert "rules.md" not in stale_docs(ROOT / "docs"), "docs/rules.md is stale: run `cilium-tune docs --write`"


def test_docs_check_and_write(tmp_path: Path, cli: Callable[..., Any]) -> None:
    code, out, _ = cli("docs", "--check", "--dir", str(tmp_path))
    assert code == 1 and "stale:" in out
    code, out, _ = cli("docs", "--write", "--dir", str(tmp_path))
    assert code == 0 and (tmp_path / "rules.md").read_text().startswith("# Rules reference")
    code, out, _ = cli("docs", "--check", "--dir", str(tmp_path))
    assert code == 0 and "up to date" in out


def test_facts_live_collects_from_the_cluster(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--facts live` hands the kubeconfig options to the facts collector (no file is read)."""
    seen: dict[str, Any] = {}
    snapshot = build_context({"facts_base": "skyforge-dev"}).facts

    def collect(**options: Any) -> Any:
        seen.update(options)
        return snapshot

    monkeypatch.setattr("cilium_tune.cli.lint_cmd.snapshot_from_options", collect)
    code, out, _ = cli("lint", "--facts", "live", "--context", "skyforge", "--select", "CT201")
    assert code == 0 and "no findings from 1 rule" in out
    assert seen["facts_file"] is None and seen["kube_context"] == "skyforge"


def test_chart_values_yaml_is_the_key_catalog(tmp_path: Path, cli: Callable[..., Any]) -> None:
    chart_values = tmp_path / "values.yaml"
    chart_values.write_text("routingMode: ''\nbpf:\n  datapathMode: veth\n  # tproxy: false\n")
    values = tmp_path / "mine.yaml"
    values.write_text("bpf:\n  tproxy: true\n  datapthMode: netkit\n")
    args = ["lint", "-f", str(values), "--chart", str(chart_values), "--select", "CT101", "-o", "json"]
    code, out, _ = cli(*args)
    assert code == 0
    (finding,) = json.loads(out)["findings"]  # tproxy is known from the commented-out example key
    assert "did you mean 'bpf.datapathMode'" in finding["message"]
    assert finding["evidence"]["values.bpf.datapthMode"] == "netkit"
    assert finding["evidence"]["catalog"].endswith("values.yaml")


def test_baseline_header_gives_its_chart_version(tmp_path: Path, cli: Callable[..., Any]) -> None:
    baseline = tmp_path / "before.yaml"
    baseline.write_text("# chart-version: 1.18.6\nkubeProxyReplacement: 'true'\nbpf:\n  datapathMode: veth\n")
    code, out, _ = cli("lint", "--baseline", str(baseline), "-o", "json")
    assert code == 0
    by_rule = {f["rule_id"]: f for f in json.loads(out)["findings"]}
    assert by_rule["CT904"]["evidence"] == {
        "baseline.chart_version": "1.18.6",
        "profile.release.version": "1.19.0-rc.1",
    }
    assert by_rule["CT901"]["evidence"]["values.bpf.datapathMode"] == "veth -> netkit"
    assert "CT903" not in by_rule


def test_junit_records_a_run_that_could_not_start(tmp_path: Path, cli: Callable[..., Any]) -> None:
    junit = tmp_path / "lint.xml"
    code, _, err = cli("lint", "--facts", str(tmp_path / "missing.json"), "--junit", str(junit))
    assert code == 2 and "missing.json" in err
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("errors") == "1"
    error = suite.find("testcase/error")
    assert error is not None and "missing.json" in (error.get("message") or "")
