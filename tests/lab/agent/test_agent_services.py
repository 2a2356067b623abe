"""Service load balancing and masquerading as rule text (the kernel tests load the same text)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_network

from cilium_tune.lab.agent.config import parse_config
from cilium_tune.lab.agent.model import Backend, NodeInfo, Service, ServicePort
from cilium_tune.lab.agent.services import LB_TABLE, iptables_nat, nft_ruleset, plan_masquerade

ME = NodeInfo("n1", IPv4Address("198.18.0.11"), IPv6Address("fd00:18::11"),
              (ip_network("198.19.1.0/24"), ip_network("fd00:19::100/120")))
WEB = Service("default", "web", ("198.18.64.10", "fd00:64::10"), (
    ServicePort("http", "TCP", 80, (Backend("198.19.1.5", 8080), Backend("198.19.2.5", 8080),
                                     Backend("fd00:19::105", 8080))),
))
EMPTY = Service("default", "nobody", ("198.18.64.11",), (ServicePort("", "TCP", 80),))


def test_kube_proxy_chains_pick_each_backend_with_kube_proxy_probabilities() -> None:
    text = iptables_nat(4, [WEB, EMPTY], [], kube_proxy=True)
    assert "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES" in text
    svc_jumps = [line for line in text.splitlines() if line.startswith("-A KUBE-SERVICES")]
    assert len(svc_jumps) == 1 and "-d 198.18.64.10/32 -p tcp" in svc_jumps[0]  # no backends, no chain
    assert "--probability 0.50000000000" in text
    assert "DNAT --to-destination 198.19.1.5:8080" in text and "198.19.2.5:8080" in text
    assert text.startswith("*nat\n") and text.rstrip().endswith("COMMIT")


def test_ipv6_rules_only_carry_ipv6_backends() -> None:
    text = iptables_nat(6, [WEB], [], kube_proxy=True)
    assert "DNAT --to-destination [fd00:19::105]:8080" in text
    assert "198.19." not in text


def test_kube_proxy_replacement_leaves_no_kube_chains() -> None:
    cfg = parse_config({"kube-proxy-replacement": "true", "cluster-pool-ipv4-cidr": "198.19.0.0/16"})
    text = iptables_nat(4, [WEB], plan_masquerade(cfg, ME), kube_proxy=False)
    assert "KUBE-" not in text
    assert "-A CILIUM_POST_nat -s 198.19.1.0/24 -d 198.19.0.0/16 -j RETURN" in text


def test_service_map_is_one_lookup_keyed_by_address_protocol_port() -> None:
    text = nft_ruleset([WEB], [], kube_proxy_replacement=True, bpf_masquerade=False)
    assert f"table inet {LB_TABLE} {{" in text
    assert "198.18.64.10 . tcp . 80 : goto svc_" in text and "fd00:64::10 . tcp . 80 : goto svc_" in text
    assert "ip daddr . meta l4proto . th dport vmap @services4" in text
    assert "numgen random mod 2 map { 0 : 198.19.1.5 . 8080, 1 : 198.19.2.5 . 8080 }" in text


def test_without_kube_proxy_replacement_the_lab_table_is_only_removed() -> None:
    text = nft_ruleset([WEB], [], kube_proxy_replacement=False, bpf_masquerade=False)
    assert text == f"table inet {LB_TABLE}\ndelete table inet {LB_TABLE}\n"


def test_masquerade_excludes_the_native_routing_cidr_per_family() -> None:
    cfg = parse_config({"enable-ipv6": "true", "routing-mode": "native",
                        "ipv4-native-routing-cidr": "198.19.0.0/16", "ipv6-native-routing-cidr": "fd00:19::/104"})
    rules = plan_masquerade(cfg, ME)
    assert [(m.version, m.source, m.exclude) for m in rules] == [
        (4, "198.19.1.0/24", ("198.19.0.0/16",)), (6, "fd00:19::100/120", ("fd00:19::/104",))]
    bpf = nft_ruleset([], rules, kube_proxy_replacement=True, bpf_masquerade=True)
    assert 'ip saddr 198.19.1.0/24 ip daddr != { 198.19.0.0/16 } oifname != "cilium_*" masquerade' in bpf
