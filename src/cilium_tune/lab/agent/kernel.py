"""Apply a desired datapath to one node namespace: netlink through pyroute2, NAT through
iptables-restore / ip6tables-restore and nft. The only module of the agent with side effects on the kernel.

The agent runs inside its node's namespace and uses `NodeKernel()`; tests pass a namespace name so the
same code acts on a namespace they created, from outside it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from socket import AF_INET, AF_INET6
from typing import Any

from pyroute2 import IPRoute, NetNS
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl.rtmsg import RTNH_F_ONLINK

from cilium_tune.lab import netkit
from cilium_tune.lab.agent.bigtcp import ensure_ipv4_big_tcp_attributes
from cilium_tune.lab.agent.config import BIG_TCP_SIZE, DEFAULT_GSO_SIZE
from cilium_tune.lab.agent.routing import TUNNEL_DEVICE, Routing, Tunnel
from cilium_tune.lab.agent.services import LB_TABLE

ENDPOINT_PREFIX = "lxc"
"""Host-side pod devices are named lxc*, as Cilium names them (the lab kubelet follows suit)."""
NETNS_DIR = "/run/netns"
RUN_TIMEOUT = 60  # seconds for one ip/ethtool/sysctl command: they take milliseconds, a hang is a fault
_PROBE_IFNAME = "cilium_probe"
_NTF_SELF = 2
_NO_NSID = 0xFFFFFFFF  # "not assigned", as the kernel reports -1 unsigned


class KernelError(RuntimeError):
    """A kernel operation failed; the message names what the agent was doing."""


@dataclass(frozen=True)
class EndpointDevice:
    """A pod's host-side device as found in the node namespace."""

    ifname: str
    index: int
    kind: str
    addresses: tuple[str, ...]
    peer_nsid: int | None


@dataclass(frozen=True)
class Uplink:
    ifname: str
    index: int
    mtu: int


def _family(dst: str) -> int:
    return AF_INET6 if ":" in dst else AF_INET


class NodeKernel:
    """The node namespace's kernel state, read and written."""

    def __init__(self, netns: str | None = None) -> None:
        ensure_ipv4_big_tcp_attributes()
        self.netns = netns
        self.ipr: IPRoute | NetNS = NetNS(netns) if netns else IPRoute()

    def close(self) -> None:
        self.ipr.close()

    def __enter__(self) -> NodeKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands -------------------------------------------------------------------------------------
    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        try:
            done = subprocess.run([*prefix, *argv], input=stdin, capture_output=True, text=True, check=False,
                                  timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise KernelError(f"{' '.join(argv)} did not finish within {RUN_TIMEOUT} s") from None
        if done.returncode != 0:
            raise KernelError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    # -- discovery ------------------------------------------------------------------------------------
    def _link(self, ifname: str) -> Any | None:
        found = self.ipr.link_lookup(ifname=ifname)
        return self.ipr.get_links(found[0])[0] if found else None

    def uplink(self, address: str) -> Uplink:
        """The device holding the node's underlay address."""
        for addr in self.ipr.get_addr(family=_family(address)):
            if addr.get("IFA_ADDRESS") == address:
                link = self.ipr.get_links(addr["index"])[0]
                return Uplink(link.get("IFLA_IFNAME"), addr["index"], int(link.get("IFLA_MTU")))
        raise KernelError(f"no device holds the node address {address}")

    def endpoints(self) -> list[EndpointDevice]:
        """Pod devices that are programmed: lxc* links with host routes to the pod's addresses."""
        routes: dict[int, list[str]] = {}
        for family, host in ((AF_INET, 32), (AF_INET6, 128)):
            for route in self.ipr.get_routes(family=family, table=254):
                if route["dst_len"] == host and route.get("RTA_OIF") is not None and route.get("RTA_DST"):
                    routes.setdefault(route.get("RTA_OIF"), []).append(route.get("RTA_DST"))
        result = []
        for link in self.ipr.get_links():
            name = link.get("IFLA_IFNAME")
            if not name.startswith(ENDPOINT_PREFIX) or link["index"] not in routes:
                continue
            result.append(EndpointDevice(name, link["index"], netkit.device_kind(link),
                                         tuple(sorted(routes[link["index"]])), link.get("IFLA_LINK_NETNSID")))
        return sorted(result, key=lambda e: e.ifname)

    def forget(self, endpoints: Sequence[EndpointDevice]) -> None:
        """Drop the node's routes to these pods: the agent no longer knows them (clean state)."""
        for ep in endpoints:
            for address in ep.addresses:
                with contextlib.suppress(NetlinkError):
                    self.ipr.route("del", dst=address, oif=ep.index, family=_family(address))

    def probe_netkit(self) -> str | None:
        """Try to create a netkit device, as the agent's probe does; None when the kernel can."""
        try:
            self.ipr.link("add", ifname=_PROBE_IFNAME, kind="netkit")
        except NetlinkError as exc:
            return str(exc.args[1] if len(exc.args) > 1 else exc)
        self.ipr.link("del", ifname=_PROBE_IFNAME)
        return None

    def netkit_emulated(self) -> bool:
        """`lab up --emulate-netkit` marked this node: veth pairs marked netkit stand in for netkit."""
        return netkit.emulated(netkit.read_node_mark(self.ipr))

    def announce_pod_devices(self, kind: str) -> None:
        """Tell the lab kubelet (the CNI's role) which device kind new pods on this node get."""
        netkit.update_node_mark(self.ipr, **{"pod-devices": kind})

    # -- routing --------------------------------------------------------------------------------------
    def apply_routing(self, routing: Routing) -> None:
        if routing.tunnel is None:
            self._remove_tunnel()
        else:
            self._ensure_tunnel(routing.tunnel)
        wanted = {r.dst for r in routing.routes}
        for dst in routing.managed_cidrs:
            if dst not in wanted:
                self._delete_routes_to(dst)
        for route in routing.routes:
            kwargs: dict[str, Any] = {"dst": route.dst, "gateway": route.gateway, "family": _family(route.dst)}
            if route.device is not None:
                kwargs["oif"] = self.ipr.link_lookup(ifname=route.device)[0]
            if route.onlink:
                kwargs["flags"] = RTNH_F_ONLINK
            try:
                self.ipr.route("replace", **kwargs)
            except NetlinkError as exc:
                raise KernelError(f"route {route.dst} via {route.gateway}: {exc}") from exc

    def _delete_routes_to(self, dst: str) -> None:
        net, _, length = dst.partition("/")
        for route in self.ipr.get_routes(family=_family(dst), table=254):
            if route.get("RTA_DST") == net and route["dst_len"] == int(length):
                with contextlib.suppress(NetlinkError):
                    self.ipr.route("del", dst=dst, family=_family(dst), oif=route.get("RTA_OIF"))

    def _remove_tunnel(self) -> None:
        with contextlib.suppress(NetlinkError):
            if self.ipr.link_lookup(ifname=TUNNEL_DEVICE):
                self.ipr.link("del", ifname=TUNNEL_DEVICE)

    def _ensure_tunnel(self, tunnel: Tunnel) -> None:
        link = self._link(tunnel.device)
        if link is not None and not self._tunnel_matches(link, tunnel):
            self.ipr.link("del", index=link["index"])
            link = None
        if link is None:
            local_key = "vxlan_local6" if ":" in tunnel.local else "vxlan_local"
            self.ipr.link("add", ifname=tunnel.device, kind="vxlan", vxlan_id=tunnel.vni,
                          vxlan_port=tunnel.port, vxlan_learning=0, **{local_key: tunnel.local})
        index = self.ipr.link_lookup(ifname=tunnel.device)[0]
        self.ipr.link("set", index=index, address=tunnel.mac, mtu=tunnel.mtu, state="up")
        for peer in tunnel.peers:
            self.ipr.fdb("replace", ifindex=index, lladdr=peer.mac, dst=peer.underlay, state="permanent",
                         flags=_NTF_SELF)
            for gateway in peer.gateways:
                self.ipr.neigh("replace", dst=gateway, lladdr=peer.mac, ifindex=index, state="permanent",
                               family=_family(gateway))

    @staticmethod
    def _tunnel_matches(link: Any, tunnel: Tunnel) -> bool:
        data = link.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
        if data is None:
            return False
        local = data.get("IFLA_VXLAN_LOCAL") or data.get("IFLA_VXLAN_LOCAL6")
        return bool(
            data.get("IFLA_VXLAN_ID") == tunnel.vni and data.get("IFLA_VXLAN_PORT") == tunnel.port
            and local == tunnel.local
        )

    def tunnel_fdb(self, device: str = TUNNEL_DEVICE) -> dict[str, str]:
        """Static forwarding entries of the tunnel device: MAC -> remote underlay address."""
        index = self.ipr.link_lookup(ifname=device)
        if not index:
            return {}
        result = {}
        for entry in self.ipr.fdb("dump", ifindex=index[0]):
            if entry.get("NDA_DST"):
                result[entry.get("NDA_LLADDR")] = entry.get("NDA_DST")
        return result

    # -- pod devices: MTU and BIG TCP ---------------------------------------------------------------------
    def apply_device_settings(self, uplink: Uplink, endpoints: Sequence[EndpointDevice], *, mtu: int,
                              ipv4_big_tcp: bool, ipv6_big_tcp: bool) -> None:
        """GSO/GRO sizes on the node's uplink; sizes and the endpoint MTU on both ends of every pod device.

        The MTU is the tunnel device's in tunnel mode (so pods never send what the tunnel cannot carry),
        the underlay's in native mode.
        """
        sizes = {
            "gso_ipv4_max_size": BIG_TCP_SIZE if ipv4_big_tcp else DEFAULT_GSO_SIZE,
            "gro_ipv4_max_size": BIG_TCP_SIZE if ipv4_big_tcp else DEFAULT_GSO_SIZE,
            "gso_max_size": BIG_TCP_SIZE if ipv6_big_tcp else DEFAULT_GSO_SIZE,
            "gro_max_size": BIG_TCP_SIZE if ipv6_big_tcp else DEFAULT_GSO_SIZE,
        }
        self._set_attrs(self.ipr, uplink.index, sizes)
        attrs = {**sizes, "mtu": mtu}
        peers = self._peer_namespaces()
        for ep in endpoints:
            self._set_attrs(self.ipr, ep.index, attrs)
            name = peers.get(ep.peer_nsid) if ep.peer_nsid is not None else None
            if name is None:
                continue
            with contextlib.suppress(NetlinkError, OSError), NetNS(name) as pod:
                for index in pod.link_lookup(ifname="eth0"):
                    self._set_attrs(pod, index, attrs)

    @staticmethod
    def _set_attrs(ipr: IPRoute | NetNS, index: int, attrs: dict[str, int]) -> None:
        link = ipr.get_links(index)[0]
        current = {k: link.get("IFLA_" + k.upper()) for k in attrs}
        if current != attrs:
            ipr.link("set", index=index, **attrs)

    def mtu(self, ifname: str) -> int:
        link = self._link(ifname)
        if link is None:
            raise KernelError(f"no device {ifname}")
        return int(link.get("IFLA_MTU"))

    def gso_sizes(self, ifname: str) -> dict[str, int]:
        link = self._link(ifname)
        if link is None:
            raise KernelError(f"no device {ifname}")
        keys = ("IFLA_GSO_IPV4_MAX_SIZE", "IFLA_GRO_IPV4_MAX_SIZE", "IFLA_GSO_MAX_SIZE", "IFLA_GRO_MAX_SIZE")
        return {k[5:].lower(): int(link.get(k)) for k in keys}

    def _peer_namespaces(self) -> dict[int, str]:
        """nsid (as this namespace sees it) -> name, for the named namespaces this one has ids for.

        Namespaces come and go while this runs (other pods, other labs on the machine): one that is gone,
        or half gone (the kernel answers EINVAL for its file), is skipped rather than failing the sync.
        """
        try:
            names = os.listdir(NETNS_DIR)
        except FileNotFoundError:
            return {}
        result: dict[int, str] = {}
        for name in names:
            try:
                with _open_ns(name) as fd:
                    info = self.ipr.get_netnsid(fd=fd)
            except (OSError, NetlinkError):
                continue
            nsid = info.get("nsid") if isinstance(info, dict) else None
            if nsid is not None and 0 <= nsid < _NO_NSID:
                result[nsid] = name
        return result

    # -- NAT --------------------------------------------------------------------------------------------
    def reset_load_balancing(self) -> None:
        """Forget every tracked connection and the lab service table (they are rebuilt by the next sync)."""
        self.run(["nft", "-f", "-"], f"table inet {LB_TABLE}\ndelete table inet {LB_TABLE}\n")
        with contextlib.suppress(KernelError):  # conntrack -F fails when the table is already empty
            self.run(["conntrack", "-F"])

    def apply_nat(self, nat_v4: str, nat_v6: str, nft: str) -> None:
        """Replace both families' nat tables and the lab's nft table (each load is atomic)."""
        self.run(["iptables-restore", "-w"], nat_v4)
        self.run(["ip6tables-restore", "-w"], nat_v6)
        self.run(["nft", "-f", "-"], nft)


@contextlib.contextmanager
def _open_ns(name: str) -> Iterator[int]:
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        yield fd
    finally:
        os.close(fd)
