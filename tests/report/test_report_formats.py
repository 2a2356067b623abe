"""Golden files for every report format. Regenerate after a deliberate change with
`CT_UPDATE_GOLDEN=1 pytest tests/report` and review the diff like a snapshot."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cilium_tune.report import json as json_report
from cilium_tune.report.junit import render_junit, render_report_junit
from cilium_tune.report.markdown import render_rules_markdown, source_path
from cilium_tune.report.model import Case, Outcome, Report
from cilium_tune.report.text import render_findings, render_report, render_rule, render_rule_table
from cilium_tune.rules import Finding, LintResult, Rule, Severity, registry

GOLDEN = Path(__file__).parent / "golden"


def rule(rule_id: str) -> Rule:
    found = registry.find(rule_id)
    assert found is not None
    return found


def sample_result() -> LintResult:
    """Three rules ran; one error, one warning, one info-level finding, one quiet rule."""
    findings = (
        Finding(
            "node skyforge-2 runs kernel 6.1.0-18-amd64; bpf.datapathMode=netkit needs 6.7 or newer",
            evidence={"values.bpf.datapathMode": "netkit", "nodes[skyforge-2].kernel": "6.1.0-18-amd64"},
            fix="Upgrade the node's kernel to 6.7 or newer (6.8 or newer is recommended for netkit with BIG "
            "TCP) with CONFIG_NETKIT, or keep `bpf.datapathMode: veth`.",
            patch={"bpf": {"datapathMode": "veth"}},
            severity=Severity.ERROR,
            rule_id="CT201",
        ),
        Finding(
            "unknown key 'socketLb': Helm accepts it but nothing reads it; did you mean 'socketLB'?",
            evidence={"values.socketLb": {"enabled": True}, "catalog": "built-in"},
            fix="Rename socketLb to socketLB.",
            severity=Severity.WARNING,
            rule_id="CT101",
        ),
        Finding(
            "Gateway API CRDs v1.2.1 with Cilium chart 1.19.0-rc.1, which pairs with v1.4.x",
            evidence={"crds[gateway.networking.k8s.io].bundle_version": "v1.2.1", "routingMode": ""},
            fix="Install the paired bundle before upgrading Cilium.",
            severity=Severity.INFO,
            rule_id="CT702",
        ),
    )
    return LintResult(rules=(rule("CT101"), rule("CT201"), rule("CT301"), rule("CT702")), findings=findings)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CT_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with CT_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def test_text_report() -> None:
    check_golden("lint.txt", render_findings(sample_result()))


def test_text_report_without_findings() -> None:
    quiet = LintResult(rules=(rule("CT201"),), findings=())
    assert render_findings(quiet) == "no findings from 1 rule\n"


def test_text_report_can_be_styled() -> None:
    styled = render_findings(sample_result(), style=lambda text, severity: f"<{severity}>{text}</>")
    assert "<error>error (1)</>" in styled and "<warning>CT101</> unknown-values-key" in styled


def test_json_report() -> None:
    text = json_report.render_lint(sample_result(), fail_on=Severity.WARNING)
    check_golden("lint.json", text)
    doc = json.loads(text)
    assert doc["summary"] == {
        "error": 1,
        "warning": 1,
        "info": 1,
        "rules_run": 4,
        "fail_on": "warning",
        "failed": True,
    }
    assert doc["findings"][0]["patch"] == {"bpf": {"datapathMode": "veth"}}


def test_junit_report_parses_back() -> None:
    """Lint's JUnit goes through the neutral model: one testcase per rule that ran, named as the model names
    cases; a failure for a finding at or above the threshold, the others in <system-out>."""
    text = render_junit(sample_result(), fail_on=Severity.ERROR)
    check_golden("lint.junit.xml", text)
    root = ET.fromstring(text.encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [
        "rules/CT101/unknown-values-key",
        "rules/CT201/netkit-on-old-kernel",
        "rules/CT301/native-routing-without-native-cidr",
        "rules/CT702/gateway-api-crd-version-unpaired",
    ]
    assert suite.get("tests") == "4" and suite.get("failures") == "1"
    failure = cases["rules/CT201/netkit-on-old-kernel"].find("failure")
    assert failure is not None and (failure.get("message") or "").startswith("error: node skyforge-2 runs kernel")
    assert "nodes[skyforge-2].kernel = 6.1.0-18-amd64" in (failure.text or "")
    out = cases["rules/CT101/unknown-values-key"].find("system-out")
    assert out is not None and (out.text or "").startswith("warning: unknown key 'socketLb'")
    assert cases["rules/CT301/native-routing-without-native-cidr"].find("failure") is None


def test_junit_fail_on_warning_turns_warnings_into_failures() -> None:
    root = ET.fromstring(render_junit(sample_result(), fail_on=Severity.WARNING))
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["rules/CT101/unknown-values-key", "rules/CT201/netkit-on-old-kernel"]


def test_rule_table_and_explain() -> None:
    check_golden("rules-table.txt", render_rule_table([rule("CT201"), rule("CT801")]))
    explained = render_rule(rule("CT201"), source=source_path(rule("CT201")))
    assert explained.startswith("CT201 netkit-on-old-kernel (error, since 0.1.0, stable)\n")
    assert "Source: src/cilium_tune/rules/datapath/netkit_on_old_kernel.py#L" in explained


def test_rules_markdown_links_each_rule_to_its_source() -> None:
    text = render_rules_markdown([rule("CT201")])
    assert "| [CT201](#ct201-netkit-on-old-kernel) | netkit-on-old-kernel | error |" in text
    assert "### CT201 netkit-on-old-kernel" in text
    assert "(../src/cilium_tune/rules/datapath/netkit_on_old_kernel.py#L" in text
    for section in ("What it checks", "Why it matters", "Example", "Fix", "References"):
        assert f"**{section}**" in text


def test_rules_json_lists_sections_and_sources() -> None:
    doc = json.loads(json_report.render_rules([rule("CT201")], sources={"CT201": "x.py#L1"}))
    (entry,) = doc["rules"]
    assert entry["id"] == "CT201" and entry["source"] == "x.py#L1" and entry["requires"]
    assert entry["fix"].endswith(".")


@pytest.mark.parametrize("severity", list(Severity))
def test_severity_order(severity: Severity) -> None:
    assert severity.at_least(Severity.INFO)
    assert Severity.ERROR.at_least(severity)


# ---------------------------------------------------------------- any Report (verify's through the same model)


def sample_report() -> Report:
    """One case of every outcome but error, from two families, as verify reports them."""
    return Report(
        kind="verify",
        title="cilium-tune verify: lab",
        cases=(
            Case("datapath/agent-routing/lab-1", Outcome.PASS, "Network: native, Host: BPF",
                 {"status.Routing": "Network: Native   Host: BPF"}, duration_s=0.001),
            Case("datapath/agent-routing/lab-3", Outcome.FAIL, "the agent on lab-3 routes tunnel, desired native",
                 {"status.Routing": "Network: Tunnel [vxlan]   Host: BPF"}, duration_s=0.001),
            Case("cni/config-file/lab-1", Outcome.SKIP, "/etc/cni/net.d does not exist on lab-1",
                 reason="/etc/cni/net.d does not exist on lab-1"),
            Case("ingress/gateway-status/default.lab", Outcome.EXPLAINED, "Gateway default.lab PROGRAMMED=False",
                 {"reason": "AddressNotAssigned"}, reason="a reporting regression in host-network mode",
                 link="https://github.com/cilium/cilium/issues/42786"),
            Case("kube-proxy/stale-cilium-chains/lab-2", Outcome.WARN, "stale OLD_CILIUM_* chains", {"ipv4": 3}),
        ),
        meta={"duration_s": 3.21},
    )


def test_report_text() -> None:
    text = render_report(sample_report())
    check_golden("verify.txt", text)
    families = [line.split(" (")[0] for line in text.splitlines() if line and not line.startswith(" ")]
    assert families[:2] == ["datapath", "kube-proxy"]  # the family with a failure first


def test_report_json() -> None:
    text = json_report.render_report(sample_report())
    check_golden("verify.json", text)
    doc = json.loads(text)
    assert doc["schema"] == "cilium-tune/verify/v1" and doc["summary"]["failed"] is True
    assert doc["cases"]["ingress/gateway-status/default.lab"]["link"].endswith("/42786")


def test_report_junit_loads_with_one_testcase_per_case() -> None:
    text = render_report_junit(sample_report())
    check_golden("verify.junit.xml", text)
    root = ET.fromstring(text.split("\n", 1)[1])
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == [c.name for c in sample_report().cases]
    assert root.get("failures") == "1" and root.get("skipped") == "1"
