"""What the agent knows about the cluster and its node, as plain frozen data (built by `cluster.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True)
class NodeInfo:
    """A node as the agent needs it: its underlay addresses and the pod blocks it owns."""

    name: str
    ipv4: IPv4Address | None
    ipv6: IPv6Address | None
    pod_cidrs: tuple[IPNetwork, ...] = ()

    def address(self, version: int) -> IPAddress | None:
        return self.ipv4 if version == 4 else self.ipv6

    def pod_cidr(self, version: int) -> IPNetwork | None:
        return next((c for c in self.pod_cidrs if c.version == version), None)


@dataclass(frozen=True)
class Backend:
    """A Ready endpoint of a Service port: where the connection is really sent."""

    ip: str
    port: int

    @property
    def version(self) -> int:
        return ip_address(self.ip).version


@dataclass(frozen=True)
class ServicePort:
    name: str
    protocol: str  # TCP | UDP | SCTP, as in the Service spec
    port: int
    backends: tuple[Backend, ...] = ()


@dataclass(frozen=True)
class Service:
    """A ClusterIP Service with its Ready backends per port (from its EndpointSlices)."""

    namespace: str
    name: str
    cluster_ips: tuple[str, ...]
    ports: tuple[ServicePort, ...]


@dataclass(frozen=True)
class Endpoint:
    """A pod on this node as found in the kernel: its addresses and the kind of its host-side device."""

    pod: str  # namespace/name
    addresses: tuple[str, ...]
    ifname: str
    kind: str  # veth | netkit | ...
