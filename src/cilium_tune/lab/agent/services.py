"""Service load balancing and masquerading as rule text. Pure.

kube-proxy replacement off: the node's `nat` table is what kube-proxy (iptables mode) would write:
KUBE-SERVICES matches each ClusterIP:port and jumps to a KUBE-SVC-* chain, which picks one KUBE-SEP-*
chain per backend with `statistic` probabilities and DNATs. A lookup walks the rules one by one, so its
cost grows with the number of services, which is the effect the lab measures.

kube-proxy replacement on: no KUBE-* chain anywhere. Services live in an nftables verdict map keyed by
(address, protocol, port) in a table of the lab's own, a hash lookup standing in for Cilium's eBPF
service map (constant time however many services there are).

Masquerading of traffic from this node's pods to destinations outside the native routing CIDR:
iptables (chain CILIUM_POST_nat) unless BPF masquerading is on, then an nftables rule in the lab table.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_address

from cilium_tune.lab.agent.config import AgentConfig
from cilium_tune.lab.agent.model import Backend, IPNetwork, NodeInfo, Service, ServicePort

LB_TABLE = "cilium_tune_lb"
"""The lab's nftables table (family inet); never touched by anything else."""
MASQ_CHAIN = "CILIUM_POST_nat"
TUNNEL_DEVICE_PATTERN = "cilium_+"


@dataclass(frozen=True)
class Masquerade:
    """SNAT to the node address for traffic from `source` to anywhere outside `exclude`."""

    version: int
    source: str
    exclude: tuple[str, ...]


def plan_masquerade(cfg: AgentConfig, me: NodeInfo) -> tuple[Masquerade, ...]:
    result = []
    for version, on in ((4, cfg.enable_ipv4_masquerade), (6, cfg.enable_ipv6_masquerade)):
        cidr = me.pod_cidr(version)
        if not on or version not in cfg.families or cidr is None:
            continue
        native = cfg.ipv4_native_routing_cidr if version == 4 else cfg.ipv6_native_routing_cidr
        pool: Sequence[IPNetwork] = cfg.cluster_pool_ipv4 if version == 4 else cfg.cluster_pool_ipv6
        exclude = (str(native),) if native is not None else tuple(str(c) for c in pool) or (str(cidr),)
        result.append(Masquerade(version, str(cidr), exclude))
    return tuple(result)


def _chain_id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:16]


def _svc_name(svc: Service, port: ServicePort) -> str:
    return f"{svc.namespace}/{svc.name}" + (f":{port.name}" if port.name else "")


@dataclass(frozen=True)
class Frontend:
    """One ClusterIP:port of one family with its Ready backends of that family."""

    name: str  # namespace/service[:port-name]
    cluster_ip: str
    version: int
    protocol: str  # lower case, as iptables and nft spell it
    port: int
    backends: tuple[Backend, ...]

    def chain_id(self, prefix: str) -> str:
        return _chain_id(prefix, self.name, self.protocol, self.cluster_ip)


def frontends(services: Sequence[Service], version: int | None = None) -> list[Frontend]:
    """Every service frontend that has at least one backend (others are not programmed)."""
    result = []
    for svc in sorted(services, key=lambda s: (s.namespace, s.name)):
        for cluster_ip in svc.cluster_ips:
            family = ip_address(cluster_ip).version
            if version is not None and family != version:
                continue
            for port in svc.ports:
                backends = tuple(b for b in port.backends if b.version == family)
                if backends:
                    proto = port.protocol.lower()
                    result.append(Frontend(_svc_name(svc, port), cluster_ip, family, proto, port.port, backends))
    return result


_KUBE_PROXY_BASE = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
    "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
    "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
    "-j MASQUERADE --random-fully",
]


def _kube_proxy_rules(version: int, services: Sequence[Service]) -> tuple[list[str], list[str]]:
    host = "/32" if version == 4 else "/128"
    chains = ["KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-POSTROUTING"]
    rules = list(_KUBE_PROXY_BASE)
    for fe in frontends(services, version):
        svc_chain = fe.chain_id("KUBE-SVC-")
        chains.append(svc_chain)
        comment = f'-m comment --comment "{fe.name} cluster IP"'
        rules.append(
            f"-A KUBE-SERVICES -d {fe.cluster_ip}{host} -p {fe.protocol} {comment} "
            f"-m {fe.protocol} --dport {fe.port} -j {svc_chain}"
        )
        for i, backend in enumerate(fe.backends):
            sep = _chain_id("KUBE-SEP-", fe.name, fe.protocol, backend.ip, str(backend.port))
            chains.append(sep)
            left = len(fe.backends) - i
            pick = f"-m statistic --mode random --probability {1 / left:.11f} " if left > 1 else ""
            target = f"[{backend.ip}]" if version == 6 else backend.ip
            rules += [
                f'-A {svc_chain} -m comment --comment "{fe.name} -> {backend.ip}" {pick}-j {sep}',
                f'-A {sep} -s {backend.ip}{host} -m comment --comment "{fe.name}" -j KUBE-MARK-MASQ',
                f'-A {sep} -p {fe.protocol} -m comment --comment "{fe.name}" -m {fe.protocol} '
                f"-j DNAT --to-destination {target}:{backend.port}",
            ]
    return chains, rules


def iptables_nat(
    version: int, services: Sequence[Service], masquerade: Sequence[Masquerade], *, kube_proxy: bool
) -> str:
    """The whole `nat` table for one family, as `iptables-restore` input (the agent owns this table)."""
    chains = ["PREROUTING ACCEPT", "INPUT ACCEPT", "OUTPUT ACCEPT", "POSTROUTING ACCEPT"]
    rules: list[str] = []
    masq = [m for m in masquerade if m.version == version]
    if masq:
        chains.append(f"{MASQ_CHAIN} -")
        rules.append(f'-A POSTROUTING -m comment --comment "cilium-feeder: {MASQ_CHAIN}" -j {MASQ_CHAIN}')
        for m in masq:
            rules += [f"-A {MASQ_CHAIN} -s {m.source} -d {e} -j RETURN" for e in m.exclude]
            rules.append(
                f"-A {MASQ_CHAIN} -s {m.source} ! -o {TUNNEL_DEVICE_PATTERN} "
                '-m comment --comment "cilium masquerade non-cluster" -j MASQUERADE'
            )
    if kube_proxy:
        kp_chains, kp_rules = _kube_proxy_rules(version, services)
        chains += [f"{c} -" for c in kp_chains]
        rules += kp_rules
    lines = ["*nat", *(f":{c} [0:0]" for c in chains), *rules, "COMMIT", ""]
    return "\n".join(lines)


_LOOKUP = (
    "    ip daddr . meta l4proto . th dport vmap @services4\n"
    "    ip6 daddr . meta l4proto . th dport vmap @services6\n"
)


def _nft_service_map(services: Sequence[Service]) -> list[str]:
    elements: dict[int, list[str]] = {4: [], 6: []}
    chains: list[str] = []
    for fe in frontends(services):
        chain = "svc_" + fe.chain_id("").lower()
        picks = ", ".join(f"{i} : {b.ip} . {b.port}" for i, b in enumerate(fe.backends))
        family = "ip" if fe.version == 4 else "ip6"
        pick = f"numgen random mod {len(fe.backends)} map {{ {picks} }}"
        rule = f"meta l4proto {fe.protocol} dnat {family} addr . port to {pick}"
        chains.append(f"  chain {chain} {{\n    {rule}\n  }}")
        elements[fe.version].append(f"{fe.cluster_ip} . {fe.protocol} . {fe.port} : goto {chain}")
    body = []
    for version, addr_type in ((4, "ipv4_addr"), (6, "ipv6_addr")):
        items = f"\n    elements = {{ {', '.join(elements[version])} }}" if elements[version] else ""
        key = f"{addr_type} . inet_proto . inet_service"
        body.append(f"  map services{version} {{\n    type {key} : verdict{items}\n  }}")
    body.append("  chain lb_prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
                f"{_LOOKUP}  }}")
    body.append("  chain lb_output {\n    type nat hook output priority -100; policy accept;\n"
                f"{_LOOKUP}  }}")
    return body + chains


def nft_ruleset(
    services: Sequence[Service], masquerade: Sequence[Masquerade], *, kube_proxy_replacement: bool,
    bpf_masquerade: bool,
) -> str:
    """`nft -f` input that atomically replaces the lab table (or only removes it when nothing needs it)."""
    head = f"table inet {LB_TABLE}\ndelete table inet {LB_TABLE}\n"
    body: list[str] = _nft_service_map(services) if kube_proxy_replacement else []
    if bpf_masquerade and masquerade:
        rules = []
        for m in masquerade:
            family = "ip" if m.version == 4 else "ip6"
            rules.append(
                f"    {family} saddr {m.source} {family} daddr != {{ {', '.join(m.exclude)} }} "
                'oifname != "cilium_*" masquerade'
            )
        body.append(
            "  chain pod_masquerade {\n    type nat hook postrouting priority srcnat; policy accept;\n"
            + "\n".join(rules) + "\n  }"
        )
    if not body:
        return head
    return head + f"table inet {LB_TABLE} {{\n" + "\n".join(body) + "\n}\n"
