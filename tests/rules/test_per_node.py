"""A rule firing on several nodes for the same reason is one finding listing them; a node that differs
stays on its own, and a finding about no single node is left as it is."""

from __future__ import annotations

from cilium_tune.rules.per_node import merge_per_node
from cilium_tune.rules.registry import Finding


def old_kernel(node: str, kernel: str) -> Finding:
    return Finding(
        message=f"node {node} runs kernel {kernel}; netkit needs 6.7",
        evidence={"values.bpf.datapathMode": "netkit", f"nodes[{node}].kernel": kernel},
        rule_id="CT201",
    )


def test_same_reason_on_three_nodes_is_one_finding_naming_them() -> None:
    merged = merge_per_node([old_kernel("n1", "6.1"), old_kernel("n2", "6.1"), old_kernel("n3", "6.1")])
    assert [(f.message, f.nodes) for f in merged] == [
        ("each of nodes n1, n2, n3 runs kernel 6.1; netkit needs 6.7", ("n1", "n2", "n3"))
    ]
    assert merged[0].evidence == {"values.bpf.datapathMode": "netkit", "nodes[n1,n2,n3].kernel": "6.1"}


def test_a_node_with_another_kernel_stays_separate_and_order_is_kept() -> None:
    merged = merge_per_node([old_kernel("n1", "6.1"), old_kernel("n2", "5.15"), old_kernel("n3", "6.1")])
    assert [f.nodes for f in merged] == [("n1", "n3"), ("n2",)]


def test_a_finding_about_no_single_node_is_untouched() -> None:
    cluster_wide = Finding(message="routing mode changes", evidence={"values.routingMode": "native"})
    assert merge_per_node([cluster_wide, cluster_wide]) == [cluster_wide, cluster_wide]
