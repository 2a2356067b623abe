"""The built-in profiles reproduce the runbook's cluster and the lab's address plan exactly."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cilium_tune.profile import DEFAULT_PROFILE, builtin_profile_names, load_profile


def test_builtins_are_listed_and_skyforge_dev_is_the_default() -> None:
    assert builtin_profile_names() == ["lab", "skyforge-dev"]
    assert DEFAULT_PROFILE == "skyforge-dev"
    assert load_profile(None) == load_profile("skyforge-dev")
    assert load_profile(None).source == "builtin:skyforge-dev"


def test_skyforge_dev_matches_the_runbook() -> None:
    p = load_profile("skyforge-dev")
    assert [(n.name, n.ipv4, n.ipv6) for n in p.nodes] == [
        ("skyforge-1", "10.128.16.58", "fd00:128:16::58"),
        ("skyforge-2", "10.128.16.54", "fd00:128:16::54"),
        ("skyforge-3", "10.128.16.55", "fd00:128:16::55"),
    ]
    assert (p.release.namespace, p.release.name, p.release.chart, p.release.version) == (
        "kube-system",
        "cilium",
        "cilium/cilium",
        "1.19.0-rc.1",
    )
    assert p.distribution.cni_conf_dir == "/var/lib/rancher/k3s/agent/etc/cni/net.d"
    assert p.distribution.service_cidrs.ipv6 == "fd00:64::/112"
    t = p.tuning
    assert t.routing_mode == "native" and t.auto_direct_node_routes
    assert t.native_routing_cidrs.ipv4 == "100.70.0.0/16"
    assert t.ipam.ipv4.cidr == "100.70.0.0/16"
    assert t.ipam.ipv6 is not None and t.ipam.ipv6.cidr == "fd00::/104"
    assert t.datapath_mode == "netkit" and t.big_tcp.ipv4 and t.l2_neigh_discovery and t.socket_lb.enabled
    assert t.kube_proxy_replacement.enabled and t.bpf_masquerade
    assert t.vm_workloads and t.socket_lb_host_namespace_only
    assert t.gateway_api.enabled and t.gateway_api.host_network
    assert p.ingress.hostnames == ["skyforge.local.forwardnetworks.com"]
    assert p.families == ("ipv4", "ipv6")


def test_lab_follows_the_internals_address_plan() -> None:
    p = load_profile("lab")
    assert [(n.name, n.ipv4, n.ipv6) for n in p.nodes] == [
        (f"lab-{i}", f"198.18.0.{10 + i}", f"fd00:18::{10 + i}") for i in (1, 2, 3)
    ]
    assert p.tuning.ipam.ipv4.cidr == "198.19.0.0/16" and p.tuning.ipam.ipv4.mask_size == 24
    assert p.tuning.ipam.ipv6 is not None
    assert (p.tuning.ipam.ipv6.cidr, p.tuning.ipam.ipv6.mask_size) == ("fd00:19::/104", 120)
    assert (p.distribution.service_cidrs.ipv4, p.distribution.service_cidrs.ipv6) == (
        "198.18.64.0/18",
        "fd00:64::/112",
    )
    assert p.release.chart == "builtin:lab" and p.release.version == "1.19.0-rc.1"
    assert p.ingress.hostnames == ["skyforge.lab.test"]


def test_lab_only_uses_the_benchmark_and_ula_ranges() -> None:
    allowed = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("fd00::/8")]
    p = load_profile("lab")
    addresses = [a for n in p.nodes for a in (n.ipv4, n.ipv6) if a]
    cidrs = [p.tuning.ipam.ipv4.cidr, p.distribution.service_cidrs.ipv4, p.distribution.service_cidrs.ipv6]
    for value in [*addresses, *cidrs]:
        net = ipaddress.ip_network(value)
        assert any(net.version == a.version and net.subnet_of(a) for a in allowed), value  # type: ignore[arg-type]


def test_builtin_lab_chart_resolves_to_the_shipped_chart() -> None:
    chart = Path(load_profile("lab").release.chart_argument)
    assert (chart / "Chart.yaml").is_file()
    assert load_profile("skyforge-dev").release.chart_argument == "cilium/cilium"


def test_public_surface_is_pinned() -> None:
    import cilium_tune.profile as package

    assert sorted(package.__all__) == [
        "DEFAULT_PROFILE",
        "Profile",
        "builtin_profile_names",
        "builtin_profile_text",
        "load_profile",
        "parse_profile",
    ]
