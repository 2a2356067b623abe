"""`profile init`: a valid starter profile, commented from the model's own field descriptions.

The comments come from the model, so the starter can never drift from what the loader accepts; a
test loads the starter back. The addresses are documentation ranges (192.0.2.0/24, 2001:db8::/32)
and k3s's defaults, so nothing in it can be mistaken for a real cluster.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import fields

from cilium_tune.profile import commented_yaml
from cilium_tune.profile.fields import Strict, description, nested_struct
from cilium_tune.profile.model import Profile

STARTER: dict[str, Any] = {
    "description": "My k3s cluster (edit every value below; addresses are documentation examples)",
    "cluster": {"name": "my-cluster", "kube_context": None, "kubeconfig": None},
    "release": {
        "namespace": "kube-system",
        "name": "cilium",
        "chart": "cilium/cilium",
        "repository": None,
        "version": "1.19.0",
    },
    "distribution": {
        "kind": "k3s",
        "cni_conf_dir": "/var/lib/rancher/k3s/agent/etc/cni/net.d",
        "cluster_cidrs": {"ipv4": "10.42.0.0/16", "ipv6": "2001:db8:42::/56"},
        "service_cidrs": {"ipv4": "10.43.0.0/16", "ipv6": "2001:db8:43::/112"},
        "kube_proxy_disabled": True,
    },
    "nodes": [{"name": f"node-{i}", "ipv4": f"192.0.2.{10 + i}", "ipv6": f"2001:db8::{10 + i}"} for i in (1, 2, 3)],
    "ingress": {"hostnames": ["app.example.com"]},
    "tuning": {
        "routing_mode": "native",
        "auto_direct_node_routes": True,
        "native_routing_cidrs": {"ipv4": "10.42.0.0/16", "ipv6": "2001:db8:42::/104"},
        "datapath_mode": "veth",
        "big_tcp": {"ipv4": False, "ipv6": False},
        "socket_lb": {"enabled": True, "host_namespace_only": None},
        "l2_neigh_discovery": True,
        "kube_proxy_replacement": {"enabled": True, "api_server_host": "192.0.2.11", "api_server_port": 6443},
        "bpf_masquerade": True,
        "ipam": {
            "ipv4": {"cidr": "10.42.0.0/16", "mask_size": 24},
            "ipv6": {"cidr": "2001:db8:42::/104", "mask_size": 120},
        },
        "gateway_api": {"enabled": False, "host_network": False, "privileged_ports": True},
        "vm_workloads": False,
    },
}

HEADER = (
    "cilium-tune profile: one k3s cluster and the Cilium tuning wanted on it.\n"
    "Check it with `cilium-tune profile show FILE`; the full schema: `cilium-tune profile schema`."
)


def field_descriptions(model: type[Strict] = Profile, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Every field's description by path (list items share their list's path)."""
    out: dict[tuple[str, ...], str] = {}
    for field in fields(model):
        here = (*path, field.name)
        text = description(field.type)
        if text:
            out[here] = text
        nested = nested_struct(field.type)
        if nested is not None:
            out.update(field_descriptions(nested, here))
    return out


def starter_text() -> str:
    """The commented starter profile `profile init` writes."""
    return commented_yaml.dump(STARTER, field_descriptions(), header=HEADER, sort_keys=False)
