"""What a rule may read: the profile, the merged Helm values, the facts snapshot and the baseline.

Rules are pure functions of a `RuleContext`; they never talk to a cluster or read files. Each input may
be missing (`None`): a rule that needs an input which is missing or unknown stays quiet rather than
guess (see `Snapshot.is_known`).

`value(path)` answers with the merged user values and falls back to the chart's default for the keys in
`CHART_DEFAULTS`, so a rule reasons about what the chart will render, not only what the user wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from cilium_tune.values.paths import MISSING, get_path

if TYPE_CHECKING:
    from cilium_tune.facts.model import Snapshot
    from cilium_tune.profile.model import Profile
    from cilium_tune.values.catalog import KeyCatalog
    from cilium_tune.values.loader import Origin
    from cilium_tune.values.paths import KeyPath

# Defaults of the Cilium chart (1.19.x values.yaml) for the keys the rules read. `None` marks keys that
# are absent or null in values.yaml, where the chart (or the agent) decides.
CHART_DEFAULTS: Mapping[str, Any] = {
    "routingMode": "",
    "tunnelProtocol": "",
    "autoDirectNodeRoutes": False,
    "ipv4NativeRoutingCIDR": "",
    "ipv6NativeRoutingCIDR": "",
    "cni.confPath": "/etc/cni/net.d",
    "cni.binPath": "/opt/cni/bin",
    "socketLB.enabled": False,
    "socketLB.hostNamespaceOnly": None,
    "enableIPv4BIGTCP": False,
    "enableIPv6BIGTCP": False,
    "bpf.datapathMode": "veth",
    "bpf.masquerade": None,
    "bpf.hostLegacyRouting": None,
    "bpf.tproxy": None,
    "kubeProxyReplacement": "false",
    "k8sServiceHost": "",
    "k8sServicePort": "",
    "ipv4.enabled": True,
    "ipv6.enabled": False,
    "ipam.mode": "cluster-pool",
    "ipam.operator.clusterPoolIPv4PodCIDRList": ["10.0.0.0/8"],
    "ipam.operator.clusterPoolIPv4MaskSize": 24,
    "ipam.operator.clusterPoolIPv6PodCIDRList": ["fd00::/104"],
    "ipam.operator.clusterPoolIPv6MaskSize": 120,
    "gatewayAPI.enabled": False,
    "gatewayAPI.hostNetwork.enabled": False,
    "l7Proxy": True,
    "nodePort.enabled": False,
    "enableIPv4Masquerade": None,
    "enableIPv6Masquerade": True,
    "encryption.enabled": False,
    "encryption.type": "ipsec",
    "k8s.requireIPv4PodCIDR": False,
    "k8s.requireIPv6PodCIDR": False,
    "rollOutCiliumPods": False,
    "envoy.securityContext.capabilities.keepCapNetBindService": False,
    "envoy.securityContext.capabilities.envoy": None,
}


class BaselineInfo(msgspec.Struct, frozen=True):
    """The values captured before tuning (`helm get values --all`), and the chart version they came from.

    `chart_version` is None when the baseline does not record it (a bare values file). `user_values_layered`:
    the change layers the baseline's user-supplied values rather than these (another chart version, see
    `cilium_tune.desired.baseline_layers`), so the old chart's defaults are not pinned.
    """

    values: Mapping[str, Any]
    source: str
    chart_version: str | None = None
    user_values_layered: bool = False


class RuleContext(msgspec.Struct, frozen=True):
    """The inputs of one lint run. Frozen: rules read, never change.

    `catalog` is the chart's key catalog when a chart was given (`--chart`); None means the built-in one.
    `origins` says where each key of `values` was written (`file:line:column`), when the desired state
    knows it, so a finding can point at the line to edit. `target_version` is the desired state's
    (chart version the change installs, evidence path naming where it came from); None when nothing says.
    """

    values: Mapping[str, Any] = msgspec.field(default_factory=dict)
    facts: Snapshot | None = None
    profile: Profile | None = None
    baseline: BaselineInfo | None = None
    catalog: KeyCatalog | None = None
    origins: Mapping[KeyPath, Origin] = msgspec.field(default_factory=dict)
    target_version: tuple[str, str] | None = None

    def origin(self, path: KeyPath) -> Origin | None:
        """Where the key at `path` was written, if known."""
        return self.origins.get(path)

    def value(self, path: str) -> Any:
        """The merged value at `path`, else the chart default (None when neither is known)."""
        found = get_path(self.values, path, MISSING)
        if found is MISSING:
            return CHART_DEFAULTS.get(path)
        return found

    def is_set(self, path: str) -> bool:
        """True when the user's merged values name `path` (even as null)."""
        return get_path(self.values, path, MISSING) is not MISSING

    def flag(self, path: str) -> bool:
        """A boolean value as the chart's templates test it: true or the string "true"."""
        return truthy(self.value(path))

    def known(self, area: str) -> bool:
        """True when there is a snapshot and it collected `area` (so absence there means absent)."""
        return self.facts is not None and self.facts.is_known(area)


def truthy(value: Any) -> bool:
    """Helm values arrive as booleans or as the strings "true"/"false"; both mean the same to the chart."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True
