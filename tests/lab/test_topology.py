"""The lab topology: the address plan (pure) and the namespaces it builds (root)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from cilium_tune.errors import InputError
from cilium_tune.lab import netns, topology
from cilium_tune.profile import load_profile


def test_the_lab_profile_gives_the_documented_address_plan() -> None:
    topo = topology.topology_from_profile("ctlab", load_profile("lab"))

    assert [(n.name, n.addresses, n.pod_cidrs) for n in topo.nodes] == [
        ("lab-1", ["198.18.0.11", "fd00:18::11"], ["198.19.1.0/24", "fd00:19::100/120"]),
        ("lab-2", ["198.18.0.12", "fd00:18::12"], ["198.19.2.0/24", "fd00:19::200/120"]),
        ("lab-3", ["198.18.0.13", "fd00:18::13"], ["198.19.3.0/24", "fd00:19::300/120"]),
    ]
    assert [n.netns for n in topo.nodes] == ["ctlab-n1", "ctlab-n2", "ctlab-n3"]
    assert topo.fabric_ns == "ctlab-fabric"


def test_nodes_and_single_stack_override_the_profile() -> None:
    topo = topology.topology_from_profile("ctlab", load_profile("lab"), nodes=5, dual_stack=False)

    assert [n.name for n in topo.nodes] == ["lab-1", "lab-2", "lab-3", "lab-4", "lab-5"]
    assert topo.nodes[4].addresses == ["198.18.0.15"]
    assert topo.nodes[4].pod_cidrs == ["198.19.5.0/24"]
    assert not topo.dual_stack


def test_every_address_stays_in_the_lab_ranges() -> None:
    import ipaddress

    allowed = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("fd00::/8")]
    topo = topology.plan_topology("ctlab", 50)
    for node in topo.nodes:
        for value in [*node.addresses, *node.pod_cidrs]:
            net = ipaddress.ip_network(value)
            assert any(net.version == a.version and net.subnet_of(a) for a in allowed), value  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "CTLAB", "ct-lab", "1lab", "a" * 13])
def test_instance_names_that_could_collide_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match="lab name"):
        topology.validate_name(bad)


def test_a_saved_topology_loads_back_equal(tmp_path: Path) -> None:
    topo = topology.topology_from_profile("ctlab", load_profile("lab"), nodes=4)
    topology.save_topology(topo, tmp_path / "lab.json")

    assert topology.load_topology(tmp_path / "lab.json") == topo


def _wait_until_inside(namespace: str, pid: int, timeout: float = 5.0) -> None:
    """`ip netns exec` enters the namespace a moment after it starts; teardown must see it there."""
    deadline = time.monotonic() + timeout
    while pid not in netns.pids([namespace]).get(namespace, []):
        assert time.monotonic() < deadline, f"pid {pid} never entered {namespace}"
        time.sleep(0.02)


@pytest.mark.root
def test_build_wires_nodes_on_the_fabric_and_teardown_removes_everything(root: None, lab_name: str) -> None:
    topo = topology.plan_topology(lab_name, 2)
    try:
        topology.build(topo)
        assert set(topology.lab_namespaces(topo.lab)) == {topo.fabric_ns, f"{topo.lab}-n1", f"{topo.lab}-n2"}
        out = subprocess.run(["ip", "-n", topo.nodes[0].netns, "-br", "addr", "show", "eth0"],
                             capture_output=True, text=True, check=True).stdout
        assert "198.18.0.11/24" in out and "fd00:18::11/64" in out
        routes = subprocess.run(["ip", "-n", topo.nodes[0].netns, "route"], capture_output=True, text=True,
                                check=True).stdout
        assert "198.19.2.0/24 via 198.18.0.12" in routes
        # a process left in a node namespace does not survive teardown
        stray = subprocess.Popen(["ip", "netns", "exec", topo.nodes[1].netns, "sleep", "60"])
        _wait_until_inside(topo.nodes[1].netns, stray.pid)
    finally:
        removed = topology.teardown(topo.lab)
    assert stray.wait(timeout=5) != 0
    assert topo.fabric_ns in removed
    assert topology.lab_namespaces(topo.lab) == []
    assert netns.pids(removed) == {}


@pytest.mark.root
def test_build_is_idempotent_over_a_crashed_run(root: None, lab_name: str) -> None:
    topo = topology.plan_topology(lab_name, 1)
    try:
        topology.build(topo)
        topology.build(topo)  # leftovers of the first build are removed first
        assert len(topology.lab_namespaces(topo.lab)) == 2
    finally:
        topology.teardown(topo.lab)
    assert topology.lab_namespaces(topo.lab) == []


@pytest.mark.root
def test_nodes_can_be_built_without_routes_to_each_other(root: None, lab_name: str) -> None:
    topo = topology.plan_topology(lab_name, 2)
    try:
        topology.build(topo, node_routes=False)
        routes = subprocess.run(["ip", "-n", topo.nodes[0].netns, "route"], capture_output=True, text=True,
                                check=True).stdout
        assert "198.19." not in routes
        topology.install_native_routes(topo)
        routes = subprocess.run(["ip", "-n", topo.nodes[0].netns, "-6", "route"], capture_output=True, text=True,
                                check=True).stdout
        assert "fd00:19::200/120 via fd00:18::12" in routes
    finally:
        topology.teardown(topo.lab)


def _fabric_frame_bytes(topo: topology.Topology, *, family: int) -> float:
    """Send 32 MiB node 1 -> node 2 and return the mean bytes per frame the fabric hands to node 2."""
    server, client = topo.nodes[1], topo.nodes[0]
    address = str(server.ipv4 if family == 4 else server.ipv6)
    srv = subprocess.Popen(["ip", "netns", "exec", server.netns, "iperf3", "-s", "-1", "-p", "5299"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with netns.ipr(topo.fabric_ns) as fab:
            port = fab.link_lookup(ifname=server.fabric_port)[0]
            before = fab.get_links(port)[0].get("IFLA_STATS64")
            for _ in range(50):  # until the server listens
                done = subprocess.run(["ip", "netns", "exec", client.netns, "iperf3", "-c", address, "-p", "5299",
                                       "-n", "32M", f"-{family}"], capture_output=True, text=True, timeout=30)
                if done.returncode == 0:
                    break
                time.sleep(0.05)
            assert done.returncode == 0, done.stdout + done.stderr
            after = fab.get_links(port)[0].get("IFLA_STATS64")
    finally:
        srv.kill()
        srv.wait()
    return (after["tx_bytes"] - before["tx_bytes"]) / (after["tx_packets"] - before["tx_packets"])


def test_a_fabric_port_takes_the_tso_max_size_or_is_left_alone_on_a_kernel_without_it() -> None:
    """Kernels before 5.19 report no tso_max_size (and have no BIG TCP): the port keeps its sizes."""
    with_size, without = ifinfmsg(), ifinfmsg()
    with_size["attrs"] = [("IFLA_IFNAME", "fab-n1"), ("IFLA_TSO_MAX_SIZE", 524280)]
    without["attrs"] = [("IFLA_IFNAME", "fab-n1")]
    assert topology.fabric_port_sizes(with_size) == {
        "gso_max_size": 524280, "gro_max_size": 524280, "gso_ipv4_max_size": 524280, "gro_ipv4_max_size": 524280}
    assert topology.fabric_port_sizes(without) == {}


@pytest.mark.root
def test_the_fabric_passes_big_tcp_packets_whole(root: None, lab_name: str) -> None:
    """With BIG TCP on the nodes (as the agent sets it), the fabric must not cut packets into MTU frames.

    A bridge port left at the kernel's 65536 segments every larger GSO packet in software (the lab's
    IPv4 BIG TCP collapse, scripts/bigtcp_bisect.py); the fabric's ports take the largest size instead.
    """
    from cilium_tune.lab.agent.kernel import NodeKernel

    topo = topology.plan_topology(lab_name, 2)
    try:
        topology.build(topo)
        with netns.ipr(topo.fabric_ns) as fab:
            for node in topo.nodes:
                link = fab.get_links(fab.link_lookup(ifname=node.fabric_port)[0])[0]
                sizes = {k: link.get(f"IFLA_{k}") for k in ("GSO_MAX_SIZE", "GRO_MAX_SIZE", "GSO_IPV4_MAX_SIZE",
                                                              "GRO_IPV4_MAX_SIZE")}
                assert set(sizes.values()) == {link.get("IFLA_TSO_MAX_SIZE")}, sizes
                assert link.get("IFLA_TSO_MAX_SIZE") > 196608
        for node in topo.nodes:
            with NodeKernel(node.netns) as k:
                k.apply_device_settings(k.uplink(str(node.ipv4)), [], mtu=1500, ipv4_big_tcp=True,
                                        ipv6_big_tcp=True)
        assert _fabric_frame_bytes(topo, family=4) > 65536
        assert _fabric_frame_bytes(topo, family=6) > 65536

        with netns.ipr(topo.fabric_ns) as fab:  # the fabric as it was: the port towards node 2 segments
            fab.link("set", index=fab.link_lookup(ifname=topo.nodes[1].fabric_port)[0], gso_ipv4_max_size=65536)
        assert _fabric_frame_bytes(topo, family=4) < 1600
    finally:
        topology.teardown(topo.lab)
