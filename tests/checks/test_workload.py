"""verify's pods and what each client probes: linear in nodes, pinned, labelled, validated."""

from __future__ import annotations

import pytest

from cilium_tune.checks.workload import (
    MANAGED_BY,
    Listener,
    NodeSide,
    Target,
    client_pod,
    plan_targets,
    server_pod,
    service_manifest,
    targets_text,
)


def sides(n: int) -> list[NodeSide]:
    return [NodeSide(f"node-{i}", {"ipv4": f"198.18.0.{10 + i}", "ipv6": f"fd00:18::{10 + i:x}"},
                     {"ipv4": f"198.19.{i}.2", "ipv6": f"fd00:19::{i:x}02"},
                     {"ipv4": f"198.18.64.{i}", "ipv6": f"fd00:64::{i:x}"}) for i in range(1, n + 1)]


def test_each_client_probes_its_node_the_next_node_and_its_own_listeners() -> None:
    nodes = sides(3)
    targets = {t.id: t for t in plan_targets(nodes, 2, Listener((80,), (443,), ("a.lab.test",)))}
    assert targets["same-v4"].address == "198.19.3.2" and targets["same-v4"].peer == "node-3"
    assert targets["cross-v6"].address == "fd00:19::102" and targets["cross-v6"].peer == "node-1"
    assert targets["svc-v4"].address == "198.18.64.1"
    assert targets["ing-https-443-0-v6"].host == "a.lab.test" and targets["ing-https-443-0-v6"].address == "fd00:18::d"
    assert targets["ing-nosni-443-v4"].kind == "nosni"


@pytest.mark.parametrize("n", [1, 3, 50])
def test_the_work_is_linear_in_nodes(n: int) -> None:
    nodes = sides(n)
    per_client = {len(plan_targets(nodes, i, Listener((80,), (443,), ("a.lab.test",)))) for i in range(n)}
    assert per_client == ({10} if n == 1 else {12})  # no cross-node probe on a single node


def test_hostile_names_never_reach_the_client() -> None:
    nodes = sides(2)
    with pytest.raises(ValueError, match="bad host name"):
        plan_targets(nodes, 0, Listener((80,), (), ("x.test; rm -rf /",)))


def test_manifests_are_pinned_and_labelled() -> None:
    targets = plan_targets(sides(2), 0, None)
    for pod in (server_pod("node-1", "ns", "img"), client_pod("node-1", "ns", "img", targets)):
        assert pod["spec"]["nodeName"] == "node-1"
        assert MANAGED_BY.items() <= pod["metadata"]["labels"].items()
        assert pod["spec"]["automountServiceAccountToken"] is False
    container = client_pod("node-1", "ns", "img", targets)["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CTV_TARGETS"] == targets_text(targets)
    assert service_manifest("node-1", "ns")["spec"]["ipFamilyPolicy"] == "PreferDualStack"


def test_target_lines_are_what_the_script_reads() -> None:
    t = Target("ing-http-80-0-v4", "http", "198.18.0.11", 80, "ipv4", "ingress-http", "n1", "a.lab.test")
    assert t.line() == "ing-http-80-0-v4 http 198.18.0.11 80 a.lab.test"
