"""The lab's network: a fabric namespace with a bridge, one namespace per node, one per pod.

Address plan (docs/internals.md, built-in profile `lab`): node i (1..N) is 198.18.0.(10+i)/24 and
fd00:18::(10+i)/64 on the bridge (the IPv4 host number written as IPv6 hex digits: .11 -> ::11);
its pod blocks are the i-th /24 of 198.19.0.0/16 and the i-th /120 of fd00:19::/104 (node 1:
198.19.1.0/24, fd00:19::100/120), as Cilium's cluster-pool with those mask sizes would hand out.
Only these ranges, inside namespaces named `<lab>-...`, ever carry traffic.

Pod wiring, the same for both families: the pod has its addresses as /32 and /128 on `eth0`; its
default routes point at fixed link-local gateways (169.254.1.1, fe80::1) *onlink*, and a permanent
neighbour entry maps that gateway to the MAC of the node side of the veth. The node routes each pod
address to its veth, with a permanent neighbour entry for the pod's MAC. No ARP, NDP, proxy ARP or
DAD is involved, so a pod can send the moment it is wired. (Cilium's own wiring is similar in spirit;
this one is written from the description above.)

Between nodes, `install_native_routes` adds plain static routes to the other nodes' pod blocks via
their node addresses; the datapath work replaces exactly that function.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from socket import AF_INET, AF_INET6
from typing import TYPE_CHECKING, Any

from pyroute2 import IPRoute

from cilium_tune.errors import InputError
from cilium_tune.files import write_atomic
from cilium_tune.lab import netkit, netns
from cilium_tune.lab.agent.bigtcp import ensure_ipv4_big_tcp_attributes

if TYPE_CHECKING:
    from cilium_tune.profile import Profile

NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
GATEWAY_V4 = IPv4Address("169.254.1.1")
GATEWAY_V6 = IPv6Address("fe80::1")
BRIDGE = "br0"
_FABRIC_V4 = IPv4Network("198.18.0.0/24")
_FABRIC_V6 = IPv6Network("fd00:18::/64")
_PODS_V4 = IPv4Network("198.19.0.0/16")
_PODS_V6 = IPv6Network("fd00:19::/104")
_SERVICES_V4 = IPv4Network("198.18.64.0/18")
_SERVICES_V6 = IPv6Network("fd00:64::/112")
NODE_UPLINK = "eth0"
POD_IFNAME = "eth0"
# Namespaces get their links after these are set, so no address ever waits for DAD.
_NS_SYSCTLS: dict[str, str | int] = {
    "net.ipv6.conf.all.accept_dad": 0,
    "net.ipv6.conf.default.accept_dad": 0,
    "net.ipv6.conf.all.accept_ra": 0,
    "net.ipv6.conf.default.accept_ra": 0,
}
_NODE_SYSCTLS: dict[str, str | int] = {
    **_NS_SYSCTLS,
    "net.ipv4.ip_forward": 1,
    "net.ipv6.conf.all.forwarding": 1,
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
}


def validate_name(name: str) -> str:
    """Instance names prefix every namespace, so they must be short and contain no '-'."""
    if not NAME_RE.match(name):
        raise InputError(
            f"lab name {name!r} is not valid",
            hint="use 1-12 lower-case letters and digits, starting with a letter (e.g. ctlab, t1a2b)",
        )
    return name


@dataclass(frozen=True)
class AddressPlan:
    """The lab's address ranges; `lab` profile numbers by default."""

    fabric_v4: IPv4Network = _FABRIC_V4
    fabric_v6: IPv6Network = _FABRIC_V6
    node_offset: int = 10
    pods_v4: IPv4Network = _PODS_V4
    pods_v6: IPv6Network = _PODS_V6
    pod_mask_v4: int = 24
    pod_mask_v6: int = 120
    services_v4: IPv4Network = _SERVICES_V4
    services_v6: IPv6Network = _SERVICES_V6

    def node_block_v4(self, index: int) -> IPv4Network:
        size = 1 << (self.pod_mask_v4 - self.pods_v4.prefixlen)
        if not 0 <= index < size:
            raise InputError(f"node {index} has no /{self.pod_mask_v4} left in {self.pods_v4}")
        step = 1 << (32 - self.pod_mask_v4)
        return IPv4Network((int(self.pods_v4.network_address) + index * step, self.pod_mask_v4))

    def node_block_v6(self, index: int) -> IPv6Network:
        step = 1 << (128 - self.pod_mask_v6)
        return IPv6Network((int(self.pods_v6.network_address) + index * step, self.pod_mask_v6))


@dataclass(frozen=True)
class LabNode:
    """One node: its Kubernetes name, namespace, fabric addresses and pod blocks."""

    index: int
    name: str
    netns: str
    ipv4: IPv4Address
    ipv6: IPv6Address | None
    pod_cidr_v4: IPv4Network
    pod_cidr_v6: IPv6Network | None
    fabric_port: str

    @property
    def addresses(self) -> list[str]:
        return [str(a) for a in (self.ipv4, self.ipv6) if a is not None]

    @property
    def pod_cidrs(self) -> list[str]:
        return [str(c) for c in (self.pod_cidr_v4, self.pod_cidr_v6) if c is not None]


@dataclass(frozen=True)
class Topology:
    """The whole lab network, computed purely from a name, a node count and an address plan."""

    lab: str
    nodes: tuple[LabNode, ...]
    dual_stack: bool
    plan: AddressPlan = field(default_factory=AddressPlan)
    emulate_netkit: bool = False
    """Pod devices may be veth pairs marked as netkit (netkit.py), for rehearsing the datapath switch."""

    @property
    def fabric_ns(self) -> str:
        return f"{self.lab}-fabric"

    @property
    def prefix(self) -> str:
        return f"{self.lab}-"

    def node(self, name: str) -> LabNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def pod_netns(self, pod_uid: str) -> str:
        return f"{self.lab}-p{pod_uid.replace('-', '')[:16]}"


def plan_topology(
    lab: str, nodes: int = 3, *, dual_stack: bool = True, plan: AddressPlan | None = None,
    node_names: Sequence[str] | None = None,
) -> Topology:
    """Addresses and names for `nodes` nodes. Pure: nothing is created."""
    validate_name(lab)
    plan = plan or AddressPlan()
    if not 1 <= nodes <= 50:
        raise InputError(f"--nodes {nodes} is out of range", hint="use 1 to 50 nodes")
    names = list(node_names) if node_names else [f"{lab}-node{i}" for i in range(1, nodes + 1)]
    if len(names) != nodes:
        raise InputError(f"{nodes} nodes but {len(names)} node names were given")
    result = []
    for i, name in enumerate(names, start=1):
        result.append(
            LabNode(
                index=i,
                name=name,
                netns=f"{lab}-n{i}",
                ipv4=plan.fabric_v4.network_address + plan.node_offset + i,
                # fd00:18::11 for 198.18.0.11: the IPv4 host number written as IPv6 hex digits
                ipv6=(plan.fabric_v6.network_address + int(str(plan.node_offset + i), 16)) if dual_stack else None,
                pod_cidr_v4=plan.node_block_v4(i),
                pod_cidr_v6=plan.node_block_v6(i) if dual_stack else None,
                fabric_port=f"n{i}",
            )
        )
    return Topology(lab=lab, nodes=tuple(result), dual_stack=dual_stack, plan=plan)


def topology_from_profile(
    lab: str, profile: Profile, *, nodes: int | None = None, dual_stack: bool | None = None,
) -> Topology:
    """The lab described by a profile (normally the built-in `lab`); `nodes`/`dual_stack` override it.

    The fabric is the /24 and /64 around the profile's first node, node i sits at fabric + offset + i
    (the profile's nodes must follow that pattern), pod blocks come from the cluster-pool IPAM pools
    and services from the k3s service CIDRs. Extra nodes beyond the profile's are named
    `<cluster name>-<i>`.
    """
    first = profile.nodes[0]
    v4 = IPv4Address(first.ipv4)
    fabric_v4 = IPv4Network(f"{v4}/24", strict=False)
    ipam = profile.tuning.ipam
    want_v6 = ipam.ipv6 is not None if dual_stack is None else dual_stack
    if want_v6 and (ipam.ipv6 is None or first.ipv6 is None or profile.distribution.service_cidrs.ipv6 is None):
        raise InputError(f"profile {profile.cluster.name!r} has no IPv6 pools or node addresses",
                         hint="use --single-stack, or add tuning.ipam.ipv6 and node ipv6 addresses")
    plan = AddressPlan(
        fabric_v4=fabric_v4,
        fabric_v6=IPv6Network(f"{first.ipv6}/64", strict=False) if first.ipv6 else _FABRIC_V6,
        node_offset=int(v4) - int(fabric_v4.network_address) - 1,
        pods_v4=IPv4Network(ipam.ipv4.cidr),
        pods_v6=IPv6Network(ipam.ipv6.cidr) if ipam.ipv6 else _PODS_V6,
        pod_mask_v4=ipam.ipv4.mask_size,
        pod_mask_v6=ipam.ipv6.mask_size if ipam.ipv6 else 120,
        services_v4=IPv4Network(profile.distribution.service_cidrs.ipv4 or _SERVICES_V4),
        services_v6=IPv6Network(profile.distribution.service_cidrs.ipv6 or _SERVICES_V6),
    )
    count = nodes or len(profile.nodes)
    names = [n.name for n in profile.nodes[:count]]
    names += [f"{profile.cluster.name}-{i}" for i in range(len(names) + 1, count + 1)]
    topo = plan_topology(lab, count, dual_stack=want_v6, plan=plan, node_names=names)
    for node, declared in zip(topo.nodes, profile.nodes, strict=False):
        if str(node.ipv4) != str(declared.ipv4) or (
                node.ipv6 is not None and IPv6Address(declared.ipv6 or "::") != node.ipv6):
            raise InputError(
                f"profile {profile.cluster.name!r}: node {declared.name} has {declared.ipv4} {declared.ipv6}, the "
                f"lab fabric puts node {node.index} at {' '.join(node.addresses)}",
                hint="number the profile's node addresses consecutively from the first one",
            )
    return topo


def save_topology(topo: Topology, path: Path) -> None:
    """Write the topology as JSON (atomically) so the kubelet and `lab down` see the same lab."""
    doc = {
        "lab": topo.lab,
        "dual_stack": topo.dual_stack,
        "emulate_netkit": topo.emulate_netkit,
        "plan": {k: str(v) for k, v in dataclasses.asdict(topo.plan).items()},
        "nodes": [{k: (None if v is None else str(v)) for k, v in dataclasses.asdict(n).items()}
                  for n in topo.nodes],
    }
    write_atomic(path, json.dumps(doc, indent=2) + "\n")


def load_topology(path: Path) -> Topology:
    doc: dict[str, Any] = json.loads(path.read_text())
    plan_fields = {f.name: f.type for f in dataclasses.fields(AddressPlan)}
    plan = AddressPlan(**{k: (int(v) if "int" in str(plan_fields[k]) else ipaddress.ip_network(v))
                          for k, v in doc["plan"].items()})  # type: ignore[arg-type]
    nodes = tuple(
        LabNode(
            index=int(n["index"]), name=n["name"], netns=n["netns"], fabric_port=n["fabric_port"],
            ipv4=IPv4Address(n["ipv4"]), ipv6=IPv6Address(n["ipv6"]) if n["ipv6"] else None,
            pod_cidr_v4=IPv4Network(n["pod_cidr_v4"]),
            pod_cidr_v6=IPv6Network(n["pod_cidr_v6"]) if n["pod_cidr_v6"] else None,
        )
        for n in doc["nodes"]
    )
    return Topology(lab=doc["lab"], nodes=nodes, dual_stack=bool(doc["dual_stack"]), plan=plan,
                    emulate_netkit=bool(doc.get("emulate_netkit", False)))


def lab_namespaces(lab: str) -> list[str]:
    """Every namespace that belongs to lab instance `lab` (fabric, nodes, pods)."""
    return netns.names(f"{validate_name(lab)}-")


def teardown(lab: str) -> list[str]:
    """Kill every process inside the lab's namespaces and remove them; returns what was removed.

    All of the lab's devices and routes live inside those namespaces, so they go with them.
    """
    found = lab_namespaces(lab)
    # Pods and nodes first so nothing is still forwarding through the fabric while it goes away.
    found.sort(key=lambda n: n.endswith("-fabric"))
    netns.remove(found)
    return found


def build(topo: Topology, *, node_routes: bool = True) -> None:
    """Create the fabric and node namespaces with addresses and (unless told not to) inter-node routes.

    `node_routes=False` leaves routing between nodes' pod blocks to someone else (the lab agent).
    """
    teardown(topo.lab)
    netns.create(topo.fabric_ns)
    netns.sysctl(topo.fabric_ns, _NS_SYSCTLS)
    with netns.ipr(topo.fabric_ns) as fab:
        fab.link("add", ifname=BRIDGE, kind="bridge")
        bridge = fab.link_lookup(ifname=BRIDGE)[0]
        fab.link("set", index=bridge, state="up")
        for node in topo.nodes:
            netns.create(node.netns)
            netns.sysctl(node.netns, _NODE_SYSCTLS)
            fab.link("add", ifname=node.fabric_port, kind="veth",
                     peer={"ifname": NODE_UPLINK, "net_ns_fd": node.netns})
            port = fab.link_lookup(ifname=node.fabric_port)[0]
            open_fabric_port(fab, port)
            fab.link("set", index=port, master=bridge, state="up")
            with netns.ipr(node.netns) as ns:
                up = ns.link_lookup(ifname=NODE_UPLINK)[0]
                ns.link("set", index=up, state="up")
                ns.addr("add", index=up, address=str(node.ipv4), prefixlen=topo.plan.fabric_v4.prefixlen)
                if node.ipv6 is not None:
                    ns.addr("add", index=up, address=str(node.ipv6), prefixlen=topo.plan.fabric_v6.prefixlen)
                if topo.emulate_netkit:
                    netkit.update_node_mark(ns, **{"emulate-netkit": "on", "pod-devices": "veth"})
    if node_routes:
        install_native_routes(topo)


def open_fabric_port(fab: IPRoute, index: int) -> None:
    """Let a bridge port carry any GSO packet a node hands the fabric, as a wire behind a TSO NIC does.

    The kernel segments, in software, every GSO packet longer than the egress device's
    gso(_ipv4)_max_size (gso_features_check). A bridge port keeps the default 65536, so with BIG TCP
    on the nodes (196608, set by the lab agent as Cilium sets it on its devices) the port towards the
    receiving node would cut each packet into MTU-sized frames, which the node then receives one by one:
    measured 3x slower IPv4 with BIG TCP than without (scripts/bigtcp_bisect.py, docs/bench.md). On real
    hardware the NIC segments and the receiver's GRO merges again at no cost to the sender; the lab's
    fabric stands for that wire, so its ports take the largest size the kernel allows (tso_max_size),
    for both families. Cilium never touches the network beyond its own devices, nor does the agent.
    """
    ensure_ipv4_big_tcp_attributes()
    sizes = fabric_port_sizes(fab.get_links(index)[0])
    if sizes:
        fab.link("set", index=index, **sizes)


def fabric_port_sizes(link: Any) -> dict[str, int]:
    """The GSO/GRO sizes a fabric port takes, from its link message: its tso_max_size for both families.

    None at all when the kernel does not report tso_max_size (before 5.19): such a kernel has no BIG TCP
    either (gso_ipv4_max_size came in 6.3), so the nodes never send packets past the port's default
    and its sizes are left alone rather than guessed.
    """
    size = link.get("IFLA_TSO_MAX_SIZE")
    if size is None:
        return {}
    return {"gso_max_size": size, "gro_max_size": size, "gso_ipv4_max_size": size, "gro_ipv4_max_size": size}


def install_native_routes(topo: Topology) -> None:
    """Route each node's pod blocks via that node's fabric address (plain native routing).

    Replaceable: the lab datapath swaps this for the agent's native or tunnel routing.
    """
    for node in topo.nodes:
        with netns.ipr(node.netns) as ns:
            for other in topo.nodes:
                if other is node:
                    continue
                ns.route("replace", dst=str(other.pod_cidr_v4), gateway=str(other.ipv4))
                if other.pod_cidr_v6 is not None and other.ipv6 is not None:
                    ns.route("replace", dst=str(other.pod_cidr_v6), gateway=str(other.ipv6), family=AF_INET6)


@dataclass(frozen=True)
class PodLink:
    """What `wire_pod` made: the namespace, both veth ends and their MACs."""

    netns: str
    node_ifname: str
    node_mac: str
    pod_mac: str


def wire_pod(node: LabNode, pod_ns: str, addresses: Sequence[str]) -> PodLink:
    """Create `pod_ns` and connect it to its node with a veth pair, /32 + /128, routes, neighbours.

    Under netkit emulation the pair is marked netkit when the node's agent asks for netkit devices.
    """
    if netns.exists(pod_ns):
        unwire_pod(pod_ns)
    netns.create(pod_ns)
    netns.sysctl(pod_ns, _NS_SYSCTLS)
    host_if = "lxc" + pod_ns.rsplit("-p", 1)[-1][:12]
    ips = [ipaddress.ip_address(a) for a in addresses]
    with netns.ipr(node.netns) as ns:
        ns.link("add", ifname=host_if, kind="veth", peer={"ifname": POD_IFNAME, "net_ns_fd": pod_ns})
        host_idx = ns.link_lookup(ifname=host_if)[0]
        if netkit.pod_device_kind(netkit.read_node_mark(ns)) == "netkit":
            ns.link("set", index=host_idx, ifalias=netkit.DEVICE_MARK)
        ns.link("set", index=host_idx, state="up")
        node_mac = ns.get_links(host_idx)[0].get("IFLA_ADDRESS")
        with netns.ipr(pod_ns) as pod:
            pod_idx = pod.link_lookup(ifname=POD_IFNAME)[0]
            pod.link("set", index=pod_idx, state="up")
            pod_mac = pod.get_links(pod_idx)[0].get("IFLA_ADDRESS")
            for ip in ips:
                v6 = ip.version == 6
                family = AF_INET6 if v6 else AF_INET
                gateway = str(GATEWAY_V6 if v6 else GATEWAY_V4)
                pod.addr("add", index=pod_idx, address=str(ip), prefixlen=128 if v6 else 32)
                pod.neigh("replace", dst=gateway, lladdr=node_mac, ifindex=pod_idx, state="permanent",
                          family=family)
                if not v6:
                    pod.route("replace", dst=f"{gateway}/32", oif=pod_idx, scope=253)
                pod.route("replace", dst="::/0" if v6 else "0.0.0.0/0", gateway=gateway, oif=pod_idx,
                          family=family)
                ns.route("replace", dst=f"{ip}/{128 if v6 else 32}", oif=host_idx, family=family)
                ns.neigh("replace", dst=str(ip), lladdr=pod_mac, ifindex=host_idx, state="permanent",
                         family=family)
    return PodLink(netns=pod_ns, node_ifname=host_if, node_mac=node_mac, pod_mac=pod_mac)


def unwire_pod(pod_ns: str, *, grace: float = 0.5) -> None:
    """Kill what runs in the pod's namespace and remove it; the veth and the node's routes go with it."""
    netns.remove([pod_ns], grace=grace)
