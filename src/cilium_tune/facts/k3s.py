"""Parse k3s's record of its own command line (the `k3s.io/node-args` node annotation).

k3s writes the effective argv of each node (config-file entries included, secrets redacted) as a JSON
list, e.g. `["server", "--cluster-cidr", "10.42.0.0/16,fd00:42::/56", "--disable", "traefik",
"--disable-kube-proxy"]`. Flags come as `--flag value`, `--flag=value` or a bare boolean `--flag`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from ipaddress import ip_address, ip_network

from cilium_tune.facts.model import IPAddress, IPNetwork, K3sArgs

NODE_ARGS_ANNOTATION = "k3s.io/node-args"

# Flags that never take a separate value, so `--disable-kube-proxy --node-ip x` cannot swallow `--node-ip`
# and a bare boolean followed by a stray word does not eat it.
_BOOLEAN_FLAGS = frozenset(
    {
        "cluster-init",
        "disable-apiserver",
        "disable-cloud-controller",
        "disable-controller-manager",
        "disable-etcd",
        "disable-helm-controller",
        "disable-kube-proxy",
        "disable-network-policy",
        "disable-scheduler",
        "docker",
        "embedded-registry",
        "flannel-ipv6-masq",
        "prefer-bundled-bin",
        "protect-kernel-defaults",
        "rootless",
        "secrets-encryption",
        "selinux",
        "supervisor-metrics",
    }
)


def parse_node_args_annotation(value: str) -> K3sArgs | None:
    """Parse the annotation's JSON text; None when it is not a JSON list of strings (not k3s's format)."""
    try:
        argv = json.loads(value)
    except ValueError:
        return None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return None
    return parse_k3s_args(argv)


def parse_k3s_args(argv: Sequence[str]) -> K3sArgs:
    """Turn a k3s argv into typed facts; unparseable addresses are kept in `flags` only."""
    role = argv[0] if argv and argv[0] in ("server", "agent") else None
    flags: dict[str, list[str]] = {}
    rest = list(argv[1:] if role else argv)
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if not token.startswith("-"):
            continue  # a positional word k3s does not take; ignore rather than guess
        name = token.lstrip("-")
        if "=" in name:
            name, value = name.split("=", 1)
        elif name not in _BOOLEAN_FLAGS and i < len(rest) and not rest[i].startswith("--"):
            value = rest[i]
            i += 1
        else:
            value = "true"
        flags.setdefault(name, []).append(value)

    def last(name: str) -> str | None:
        values = flags.get(name)
        return values[-1] if values else None

    def truthy(name: str) -> bool:
        value = last(name)
        return value is not None and value.lower() not in ("false", "0")

    disable = tuple(part.strip() for v in flags.get("disable", []) for part in v.split(",") if part.strip())
    return K3sArgs(
        role=role,  # type: ignore[arg-type]  # narrowed by the membership test above
        argv=tuple(argv),
        flags={k: tuple(v) for k, v in flags.items()},
        cluster_cidr=_networks(last("cluster-cidr")),
        service_cidr=_networks(last("service-cidr")),
        cluster_dns=_addresses(last("cluster-dns")),
        node_ip=_addresses(last("node-ip")),
        flannel_backend=last("flannel-backend"),
        disable=disable,
        disable_kube_proxy=truthy("disable-kube-proxy"),
        disable_network_policy=truthy("disable-network-policy"),
    )


def _networks(value: str | None) -> tuple[IPNetwork, ...] | None:
    if value is None:
        return None
    try:
        return tuple(ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip())
    except ValueError:
        return None


def _addresses(value: str | None) -> tuple[IPAddress, ...] | None:
    if value is None:
        return None
    try:
        return tuple(ip_address(p.strip()) for p in value.split(",") if p.strip())
    except ValueError:
        return None
