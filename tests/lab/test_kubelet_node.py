"""Pure parts of the node agent: the Node objects it registers and the pod address allocator."""

from __future__ import annotations

import platform

import pytest
import yaml

from cilium_tune.facts.k3s import parse_node_args_annotation
from cilium_tune.facts.nodes import parse_node
from cilium_tune.lab import cluster, topology
from cilium_tune.lab.kubelet import NodeIPAM
from cilium_tune.lab.kubelet_node import node_object
from cilium_tune.profile import load_profile


@pytest.fixture
def topo() -> topology.Topology:
    return topology.topology_from_profile("ctlab", load_profile("lab"))


def test_node_objects_read_back_as_k3s_facts(topo: topology.Topology) -> None:
    server, agent = node_object(topo, topo.nodes[0]), node_object(topo, topo.nodes[1])

    k3s = parse_node_args_annotation(server["metadata"]["annotations"]["k3s.io/node-args"])
    assert k3s is not None and k3s.role == "server"
    assert k3s.flags["cluster-cidr"] == ("198.19.0.0/16,fd00:19::/104",)
    assert k3s.flags["service-cidr"] == ("198.18.64.0/18,fd00:64::/112",)
    assert k3s.flags["flannel-backend"] == ("none",) and "disable-kube-proxy" in k3s.flags
    agent_args = parse_node_args_annotation(agent["metadata"]["annotations"]["k3s.io/node-args"])
    assert agent_args is not None and agent_args.role == "agent"
    assert server["status"]["nodeInfo"]["kernelVersion"] == platform.release()
    assert server["spec"]["podCIDRs"] == ["198.19.1.0/24", "fd00:19::100/120"]


def test_the_facts_parser_accepts_a_lab_node(topo: topology.Topology) -> None:
    facts = parse_node(node_object(topo, topo.nodes[2]))

    assert facts.name == "lab-3"
    assert [str(a) for a in (*facts.internal_ipv4, *facts.internal_ipv6)] == ["198.18.0.13", "fd00:18::13"]
    assert facts.ready is True
    assert facts.kernel is not None and facts.k3s is not None and facts.k3s.role == "agent"


def test_single_stack_nodes_have_one_family(topo: topology.Topology) -> None:
    single = topology.topology_from_profile("ctlab", load_profile("lab"), dual_stack=False)
    node = node_object(single, single.nodes[0])

    assert node["spec"]["podCIDRs"] == ["198.19.1.0/24"]
    assert [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"] == ["198.18.0.11"]


def test_ipam_gives_the_same_host_number_in_both_families_and_reuses_freed_ones(
        topo: topology.Topology) -> None:
    ipam = NodeIPAM(topo.nodes[0])

    first, second = ipam.allocate(), ipam.allocate()
    assert first == ["198.19.1.2", "fd00:19::102"] and second == ["198.19.1.3", "fd00:19::103"]
    ipam.release(first)
    assert ipam.allocate() == first
    assert ipam.reserve(["198.19.1.9", "fd00:19::109"]) == ["198.19.1.9", "fd00:19::109"]
    assert ipam.reserve(["198.19.2.9"]) is None  # another node's block


def test_ipam_runs_out_with_a_clear_error(topo: topology.Topology) -> None:
    ipam = NodeIPAM(topo.nodes[0])
    for _ in range(253):  # .2 .. .254
        ipam.allocate()

    with pytest.raises(RuntimeError, match="is full"):
        ipam.allocate()


def test_kubeconfig_has_one_context_and_no_credentials() -> None:
    doc = yaml.safe_load(cluster.kubeconfig_text("ctlab", "http://127.0.0.1:41234"))

    assert doc["current-context"] == "lab-ctlab"
    assert doc["clusters"][0]["cluster"] == {"server": "http://127.0.0.1:41234"}
    assert doc["users"][0]["user"] == {}


def test_lab_processes_are_recognised_by_instance_name_only() -> None:
    argv = [b"python", b"-m", b"cilium_tune.lab.kubelet", b"--state-dir", b"/x/.lab/ctlab", b"--name", b"ctlab"]

    assert cluster._same_name(argv, "ctlab")
    assert not cluster._same_name(argv, "ctlab2")
    assert not cluster._same_name([b"sleep", b"--state-dir", b"/x/ctlab"], "ctlab")
