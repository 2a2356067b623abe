"""ClusterIP and NodePort allocation, with the dual-stack rules of a real API server.

The first service CIDR decides the primary family. `ipFamilyPolicy` SingleStack takes one family (the
first of `spec.ipFamilies`, else the primary), PreferDualStack takes every configured family,
RequireDualStack fails unless the server has both. `clusterIPs[0] == clusterIP` always; headless
services (`clusterIP: None`) get families but no addresses.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .errors import ApiError, invalid

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NODE_PORTS = range(30000, 32768)


def family_of(net: Network) -> str:
    return "IPv4" if net.version == 4 else "IPv6"


class ServiceAllocator:
    """Tracks which ClusterIPs and NodePorts are taken; rebuilt from stored Services on load."""

    def __init__(self, cidrs: list[str]) -> None:
        try:
            nets = [ipaddress.ip_network(c, strict=True) for c in cidrs]
        except ValueError as exc:
            raise ValueError(f"invalid --service-cidr: {exc}") from exc
        self.nets: dict[str, Network] = {}
        for net in nets:
            self.nets.setdefault(family_of(net), net)
        self.families = list(self.nets)
        self._used: dict[str, set[str]] = {f: set() for f in self.families}
        self._ports: set[int] = set()

    def _fail(self, svc: dict[str, Any], path: str, msg: str) -> ApiError:
        return invalid("Service", svc["metadata"].get("name", ""), [(path, msg)])

    def _families(self, svc: dict[str, Any]) -> list[str]:
        spec = svc["spec"]
        policy = spec.get("ipFamilyPolicy") or "SingleStack"
        requested = list(spec.get("ipFamilies") or [])
        if not requested and spec.get("clusterIPs") and spec["clusterIPs"][0] != "None":
            requested = [family_of(ipaddress.ip_network(ip)) for ip in spec["clusterIPs"]]
        for fam in requested:
            if fam not in self.nets:
                raise self._fail(svc, "spec.ipFamilies", f"{fam} is not configured on this cluster")
        if policy == "SingleStack":
            return requested[:1] or self.families[:1]
        if policy == "RequireDualStack" and len(self.families) < 2:
            raise self._fail(svc, "spec.ipFamilyPolicy",
                             "RequireDualStack: this cluster is not configured for dual-stack services")
        if policy not in ("PreferDualStack", "RequireDualStack"):
            raise self._fail(svc, "spec.ipFamilyPolicy",
                             f"unsupported value {policy!r}: SingleStack, PreferDualStack, RequireDualStack")
        return requested + [f for f in self.families if f not in requested]

    def _take(self, svc: dict[str, Any], family: str, wanted: str | None) -> str:
        net, used = self.nets[family], self._used[family]
        if wanted:
            addr = ipaddress.ip_address(wanted)
            if addr not in net:
                raise self._fail(svc, "spec.clusterIPs", f"{wanted}: not in the service CIDR {net}")
            if wanted in used:
                raise self._fail(svc, "spec.clusterIPs", f"{wanted}: provided IP is already allocated")
            used.add(wanted)
            return wanted
        for offset in range(1, min(net.num_addresses - 1, 1 << 20)):
            ip = str(net.network_address + offset)
            if ip not in used:
                used.add(ip)
                return ip
        raise ApiError(500, "InternalError", f"service CIDR {net} is exhausted")

    def assign(self, svc: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Fill spec.clusterIP(s), ipFamilies, ipFamilyPolicy and nodePorts of a new or updated Service."""
        spec = svc.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName":
            spec.setdefault("sessionAffinity", "None")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if old is not None:
            ospec = old.get("spec", {})
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if key in ospec and not spec.get(key):
                    spec[key] = ospec[key]
            if spec.get("clusterIPs") != ospec.get("clusterIPs"):
                raise self._fail(svc, "spec.clusterIPs", "field is immutable")
        elif spec["type"] != "ExternalName":
            wanted = list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []))
            families = self._families(svc)
            if wanted[:1] == ["None"]:
                spec["clusterIPs"] = ["None"]
            else:
                taken: list[str] = []
                try:
                    for i, fam in enumerate(families):
                        taken.append(self._take(svc, fam, wanted[i] if i < len(wanted) else None))
                except ApiError:
                    self.release_ips(taken)
                    raise
                spec["clusterIPs"] = taken
            spec["clusterIP"] = spec["clusterIPs"][0]
            spec["ipFamilies"] = families
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        self._node_ports(svc, old)

    def _node_ports(self, svc: dict[str, Any], old: dict[str, Any] | None) -> None:
        spec = svc["spec"]
        old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in (old or {}).get("spec", {}).get("ports") or []}
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] not in ("NodePort", "LoadBalancer"):
                continue
            if not port.get("nodePort"):
                port["nodePort"] = old_ports.get((port.get("port"), port["protocol"])) or self._free_port()
            self._ports.add(int(port["nodePort"]))

    def _free_port(self) -> int:
        port = next((p for p in NODE_PORTS if p not in self._ports), None)
        if port is None:
            raise ApiError(500, "InternalError", "node port range is exhausted")
        return port

    def release_ips(self, ips: list[str]) -> None:
        for ip in ips:
            if ip == "None":
                continue
            fam = "IPv4" if ipaddress.ip_address(ip).version == 4 else "IPv6"
            self._used.get(fam, set()).discard(ip)

    def release(self, svc: dict[str, Any]) -> None:
        spec = svc.get("spec", {})
        self.release_ips(list(spec.get("clusterIPs") or []))
        for port in spec.get("ports") or []:
            self._ports.discard(int(port.get("nodePort") or 0))

    def restore(self, svc: dict[str, Any]) -> None:
        """Mark a loaded Service's addresses and ports as taken."""
        spec = svc.get("spec", {})
        for ip in spec.get("clusterIPs") or []:
            if ip != "None":
                fam = "IPv4" if ipaddress.ip_address(ip).version == 4 else "IPv6"
                self._used.setdefault(fam, set()).add(ip)
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                self._ports.add(int(port["nodePort"]))
