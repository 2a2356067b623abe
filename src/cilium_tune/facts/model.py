"""The facts snapshot: one typed, frozen, JSON-serialisable picture of a cluster.

Rules, plan and checks read only this model, so `--facts snapshot.json` works offline and tests need no
cluster. Parsers in `facts/<area>.py` build each part from raw Kubernetes objects; `facts/collect.py` is
the only place that talks to the cluster.

Unknown is not false. Two conventions keep them apart:

* A whole area (a top-level field of `Snapshot`) that could not be collected is named in
  `Snapshot.unknown` with the reason (RBAC forbidden, CRD group not served, `--probe-nodes` not given).
  When an area is *not* listed there, an empty tuple means "collected, none exist" and `None` for
  `helm_release` / `cilium_config` / `kube_proxy` means "collected, not present in the cluster".
  Use `Snapshot.is_known(area)` before concluding anything from absence.
* Inside a model, a scalar typed `X | None` is `None` when the cluster did not say (a node without a
  kernel version, a flag that was not given). `False` always means "known to be false".

The JSON form is versioned by `schema_version`; `docs/facts-schema.json` is generated from this module
(`cilium_tune.facts.io.schema_json`) and a test keeps it current. Changes are additive only.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import total_ordering
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cilium_tune import names

# Re-exported for callers that import them from here (they live in facts.k3s_defaults, free of pydantic).
from cilium_tune.facts.k3s_defaults import K3S_DEFAULT_CLUSTER_CIDR as K3S_DEFAULT_CLUSTER_CIDR
from cilium_tune.facts.k3s_defaults import K3S_DEFAULT_SERVICE_CIDR as K3S_DEFAULT_SERVICE_CIDR

SCHEMA_VERSION = 1

# Names and versions that end up in printed commands, checked as they are loaded (see cilium_tune.names).
NodeName = Annotated[str, AfterValidator(names.node_name)]
Namespace = Annotated[str, AfterValidator(names.namespace)]
ReleaseName = Annotated[str, AfterValidator(names.release_name)]
ChartVersion = Annotated[str, AfterValidator(names.chart_version)]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


class Frozen(BaseModel):
    """Base of every fact model: immutable, unknown keys refused, so a typo in a facts file is an error.

    `defer_build`: a model's validator is built when first used, not at import. Commands that read no
    facts (`plan` offline, `render`) then skip most of the cost, and those that do pay only for the models
    they touch.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


# ---------------------------------------------------------------- nodes


_KERNEL = re.compile(r"^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$")


@total_ordering
class KernelVersion(Frozen):
    """A Linux kernel release (`uname -r`), comparable by (major, minor, patch).

    `KernelVersion(6, 8) <= node.kernel` reads as "at least 6.8". The distribution suffix
    (`-45-generic`, `+deb13-amd64`) is kept in `raw` for evidence but ignored when comparing.
    """

    major: int = Field(ge=0)
    minor: int = Field(default=0, ge=0)
    patch: int = Field(default=0, ge=0)
    raw: str = Field(default="", description="The release string as reported, e.g. '6.8.0-45-generic'.")

    def __init__(self, major: int | None = None, minor: int = 0, patch: int = 0, /, **data: Any) -> None:
        if major is not None:
            data.setdefault("major", major)
            data.setdefault("minor", minor)
            data.setdefault("patch", patch)
        super().__init__(**data)

    @classmethod
    def parse(cls, release: str) -> KernelVersion | None:
        """Parse a `uname -r` style string; None when it does not start with a number."""
        m = _KERNEL.match(release)
        if m is None:
            return None
        return cls(
            major=int(m.group(1)),
            minor=int(m.group(2) or 0),
            patch=int(m.group(3) or 0),
            raw=release.strip(),
        )

    @property
    def key(self) -> tuple[int, int, int]:
        """The tuple that orders versions."""
        return (self.major, self.minor, self.patch)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KernelVersion):
            return self.key == other.key
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, KernelVersion):
            return self.key < other.key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return self.raw or f"{self.major}.{self.minor}.{self.patch}"


class Taint(Frozen):
    """One node taint (spec.taints[])."""

    key: str
    value: str | None = None
    effect: str = Field(description="NoSchedule, PreferNoSchedule or NoExecute.")


class K3sArgs(Frozen):
    """The k3s command line of a node, from its `k3s.io/node-args` annotation (a JSON list of argv).

    Only flags that were given are set; `None` means "not on this node's command line" (then k3s's
    default applies on a server: `K3S_DEFAULT_CLUSTER_CIDR`, `K3S_DEFAULT_SERVICE_CIDR`, flannel vxlan).
    Values k3s redacts (tokens) stay redacted in `argv`.
    """

    role: Literal["server", "agent"] | None = Field(
        default=None, description="The k3s subcommand (first argv element); None if absent."
    )
    argv: tuple[str, ...] = Field(default=(), description="The annotation's list, verbatim.")
    flags: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Every --flag (without dashes) with its values in order; boolean flags map to ('true',).",
    )
    cluster_cidr: tuple[IPNetwork, ...] | None = Field(default=None, description="--cluster-cidr, split on ','.")
    service_cidr: tuple[IPNetwork, ...] | None = Field(default=None, description="--service-cidr, split on ','.")
    cluster_dns: tuple[IPAddress, ...] | None = Field(default=None, description="--cluster-dns, split on ','.")
    node_ip: tuple[IPAddress, ...] | None = Field(default=None, description="--node-ip, split on ','.")
    flannel_backend: str | None = Field(default=None, description="--flannel-backend (e.g. 'none', 'vxlan').")
    disable: tuple[str, ...] = Field(
        default=(),
        description="Components from every --disable (traefik, servicelb, ...), comma lists split.",
    )
    disable_kube_proxy: bool = Field(default=False, description="--disable-kube-proxy was given.")
    disable_network_policy: bool = Field(default=False, description="--disable-network-policy was given.")


class NodeFacts(Frozen):
    """One Kubernetes Node as the rules need it."""

    name: NodeName
    internal_ipv4: tuple[IPv4Address, ...] = Field(default=(), description="status.addresses InternalIP, v4.")
    internal_ipv6: tuple[IPv6Address, ...] = Field(default=(), description="status.addresses InternalIP, v6.")
    pod_cidrs: tuple[IPNetwork, ...] = Field(default=(), description="spec.podCIDRs (or spec.podCIDR).")
    kernel: KernelVersion | None = Field(default=None, description="status.nodeInfo.kernelVersion.")
    os_image: str | None = Field(default=None, description="status.nodeInfo.osImage.")
    operating_system: str | None = Field(default=None, description="status.nodeInfo.operatingSystem.")
    architecture: str | None = Field(default=None, description="status.nodeInfo.architecture.")
    kubelet_version: str | None = Field(default=None, description="status.nodeInfo.kubeletVersion.")
    container_runtime: str | None = Field(default=None, description="status.nodeInfo.containerRuntimeVersion.")
    roles: tuple[str, ...] = Field(default=(), description="From node-role.kubernetes.io/<role> labels, sorted.")
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = Field(default=False, description="spec.unschedulable (cordoned).")
    ready: bool | None = Field(
        default=None, description="The Ready condition; None when not reported or 'Unknown' (node unreachable)."
    )
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    k3s: K3sArgs | None = Field(default=None, description="None when the node has no k3s.io/node-args.")


# ---------------------------------------------------------------- cilium


class ReleaseRevision(Frozen):
    """One stored revision of a Helm release (from its release Secret's labels and body)."""

    revision: int = Field(gt=0, description="Helm revisions count from 1.")
    status: str = Field(description="deployed, superseded, failed, pending-upgrade, ...")
    chart_version: ChartVersion | None = None
    updated: datetime | None = None


class HelmRelease(Frozen):
    """The Cilium Helm release, read from Helm's storage Secret (no helm binary needed).

    `revision` is the latest *deployed* revision when one exists, else the newest revision.
    """

    name: ReleaseName
    namespace: Namespace
    revision: int = Field(gt=0, description="Helm revisions count from 1 (`helm rollback R 0` means 'previous').")
    status: str = Field(description="Status of that revision: deployed, failed, pending-upgrade, ...")
    chart_name: str | None = None
    chart_version: ChartVersion | None = None
    app_version: str | None = None
    updated: datetime | None = Field(default=None, description="info.last_deployed of that revision.")
    user_values: dict[str, Any] = Field(
        default_factory=dict, description="The values the user supplied (helm get values)."
    )
    computed_values: dict[str, Any] = Field(
        default_factory=dict,
        description="Chart defaults coalesced with the user values (helm get values --all).",
    )
    history: tuple[ReleaseRevision, ...] = Field(default=(), description="Every stored revision, oldest first.")


class CiliumConfig(Frozen):
    """The cilium-config ConfigMap: keys as the agent reads them, values verbatim strings."""

    namespace: str
    data: dict[str, str] = Field(default_factory=dict)

    def get(self, key: str) -> str | None:
        """The value of a key, None when the key is absent (the agent's default then applies)."""
        return self.data.get(key)

    def flag(self, key: str) -> bool | None:
        """A boolean key: True/False when set to 'true'/'false' (any case), None when absent or other."""
        value = self.data.get(key)
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        return None


class TerminationState(Frozen):
    """A container's last termination (status.containerStatuses[].lastState.terminated)."""

    exit_code: int | None = None
    reason: str | None = None
    message: str | None = Field(default=None, description="The termination message, verbatim.")
    finished_at: datetime | None = None


class AgentPod(Frozen):
    """One cilium-agent pod (label k8s-app=cilium) and the node it runs on."""

    name: str
    namespace: str
    node: str | None = Field(description="spec.nodeName; None while unscheduled.")
    phase: str | None = None
    ready: bool = Field(description="The pod's Ready condition is True.")
    terminating: bool = Field(
        default=False, description="metadata.deletionTimestamp is set: the pod is on its way out (a restart)."
    )
    restarts: int = Field(default=0, description="Sum of restartCount over the pod's containers.")
    image: str | None = Field(default=None, description="Image of the cilium-agent container.")
    last_termination: TerminationState | None = Field(
        default=None, description="The most recent termination of any container, None if none restarted."
    )


# ---------------------------------------------------------------- CRDs and Gateway API


class Crd(Frozen):
    """A CustomResourceDefinition and what it serves."""

    name: str = Field(description="<plural>.<group>")
    group: str
    kind: str
    served_versions: tuple[str, ...] = Field(description="Versions with served: true, in CRD order.")
    storage_version: str | None = None
    bundle_version: str | None = Field(
        default=None, description="gateway.networking.k8s.io/bundle-version annotation (Gateway API)."
    )
    channel: str | None = Field(
        default=None, description="gateway.networking.k8s.io/channel annotation: standard or experimental."
    )


class Condition(Frozen):
    """A status condition (metav1.Condition)."""

    type: str
    status: str = Field(description="'True', 'False' or 'Unknown', as the API gives it.")
    reason: str | None = None
    message: str | None = None
    observed_generation: int | None = None


class GatewayClass(Frozen):
    """A GatewayClass and its acceptance."""

    name: str
    controller_name: str
    conditions: tuple[Condition, ...] = ()


class Listener(Frozen):
    """One Gateway listener (spec) joined with its status conditions."""

    name: str
    port: int
    protocol: str
    hostname: str | None = None
    conditions: tuple[Condition, ...] = ()


class Gateway(Frozen):
    """A Gateway, its listeners and status."""

    namespace: str
    name: str
    gateway_class: str
    listeners: tuple[Listener, ...] = ()
    addresses: tuple[str, ...] = Field(default=(), description="status.addresses[].value.")
    conditions: tuple[Condition, ...] = ()


# ---------------------------------------------------------------- workloads and services


class PodIPSummary(Frozen):
    """How the pods on one node are addressed, so a stray CNI (flannel's 10.42/16) shows.

    `by_cidr` maps a CIDR to the number of pod IPs in it. The CIDR is the most specific cluster pool that
    holds the address (Cilium cluster-pool CIDRs, k3s cluster-cidr, and k3s's default 10.42.0.0/16 so a
    stale flannel shows by name), else the node's own podCIDR, else the address's /16 (IPv4) or /64 (IPv6).
    """

    node: str
    pods: int = Field(description="Pods bound to the node (all phases except Succeeded/Failed).")
    host_network: int = Field(description="Of those, pods with hostNetwork (they carry the node's IP).")
    without_ip: int = Field(description="Non-hostNetwork pods that have no IP yet.")
    by_cidr: dict[str, int] = Field(default_factory=dict)


class ServiceFacts(Frozen):
    """A Service's addressing: the IP families it was given."""

    namespace: str
    name: str
    type: str = Field(description="ClusterIP, NodePort, LoadBalancer or ExternalName.")
    cluster_ips: tuple[str, ...] = Field(default=(), description="spec.clusterIPs ('None' for headless).")
    ip_families: tuple[str, ...] = Field(default=(), description="spec.ipFamilies: IPv4 / IPv6.")
    ip_family_policy: str | None = Field(default=None, description="SingleStack, PreferDualStack, ...")


class VmWorkload(Frozen):
    """Something that runs a VM guest, whose traffic socket-LB in the pod namespace would break."""

    kind: str = Field(description="VirtualMachineInstance, VirtualMachine or Pod.")
    namespace: str
    name: str
    node: str | None = None
    reasons: tuple[str, ...] = Field(
        description="Why it counts, e.g. 'kubevirt', 'image:vrnetlab/...', 'device:/dev/kvm', "
        "'resource:devices.kubevirt.io/kvm'."
    )


class KubeProxy(Frozen):
    """Whether kube-proxy runs, from the API side (node probes add the iptables view).

    k3s embeds kube-proxy in its own process (no pods), so there the k3s args decide.
    """

    daemonset: str | None = Field(default=None, description="'<namespace>/<name>' of a kube-proxy DaemonSet.")
    daemonset_ready: int | None = Field(default=None, description="Its status.numberReady.")
    pods: int = Field(default=0, description="Pods labelled k8s-app=kube-proxy (static or DaemonSet).")
    k3s_nodes_disabled: tuple[str, ...] = Field(default=(), description="k3s nodes with --disable-kube-proxy.")
    k3s_nodes_enabled: tuple[str, ...] = Field(
        default=(),
        description="k3s server/agent nodes without --disable-kube-proxy (embedded kube-proxy runs).",
    )


# ---------------------------------------------------------------- node probes


class IptablesSummary(Frozen):
    """A summary of `iptables-save` / `ip6tables-save` on a node."""

    family: Literal["ipv4", "ipv6"]
    chains: int = Field(description="Chains declared across all tables.")
    rules: int = Field(description="-A lines across all tables.")
    kube_svc_chains: int = Field(description="KUBE-SVC-* chains: kube-proxy's service rules are present.")
    kube_sep_chains: int = Field(description="KUBE-SEP-* chains (service endpoints).")
    cilium_chains: int = Field(description="CILIUM_* chains.")
    old_cilium_chains: int = Field(description="OLD_CILIUM_* chains left behind by an upgrade.")
    default_policies: dict[str, str] = Field(
        default_factory=dict,
        description="'<table>/<builtin chain>' -> policy (ACCEPT/DROP) of the filter table.",
    )


class ContainerdCni(Frozen):
    """CNI locations containerd uses, from its config.toml (k3s: the agent's generated config)."""

    config_path: str
    conf_dir: str | None = None
    bin_dir: str | None = Field(default=None, description="bin_dir, or the first of bin_dirs.")


class NodeProbe(Frozen):
    """What a short-lived privileged pod saw on one node."""

    node: str
    ok: bool = Field(description="The probe pod ran to completion and its output parsed.")
    error: str | None = Field(default=None, description="Why not, when ok is False.")
    kernel_release: str | None = None
    kernel_config_source: str | None = Field(
        default=None, description="/proc/config.gz or /boot/config-<release>; None when neither existed."
    )
    kernel_config: dict[str, str] | None = Field(
        default=None,
        description="Selected CONFIG_* options -> 'y', 'm' or 'n' (n = '# ... is not set' or absent). "
        "None when no kernel config was readable (unknown).",
    )
    iptables: tuple[IptablesSummary, ...] | None = Field(
        default=None, description="One per family that iptables-save could read; None when not available."
    )
    cni_conf_dirs: dict[str, tuple[str, ...]] | None = Field(
        default=None, description="Directory -> file names in it (dirs that exist)."
    )
    cni_bin_dirs: dict[str, tuple[str, ...]] | None = Field(
        default=None, description="Directory -> plugin binaries in it (dirs that exist)."
    )
    containerd: ContainerdCni | None = Field(default=None, description="None when no containerd config was found.")
    addresses: tuple[str, ...] | None = Field(
        default=None,
        description="The node's interface addresses with their prefix length (`ip -o addr`), e.g. "
        "198.18.0.11/24: the L2 segments the Node API does not show. None when `ip` was not available.",
    )


# ---------------------------------------------------------------- the snapshot


class Source(Frozen):
    """Where a snapshot came from. Never holds credentials."""

    context: str | None = Field(default=None, description="kubeconfig context name.")
    server: str | None = Field(default=None, description="API server URL.")
    server_version: str | None = Field(default=None, description="/version gitVersion.")
    tool_version: str | None = Field(default=None, description="cilium-tune version that collected it.")


AREAS: tuple[str, ...] = (
    "nodes",
    "helm_release",
    "cilium_config",
    "agents",
    "crds",
    "gateway_classes",
    "gateways",
    "pod_ips",
    "services",
    "vm_workloads",
    "kube_proxy",
    "probes",
)


class Snapshot(Frozen):
    """Everything known about one cluster at one moment. See the module docstring for unknown vs absent."""

    schema_version: Literal[1] = Field(default=1, description="Bumped only on an incompatible change.")
    collected_at: datetime
    source: Source = Field(default_factory=Source)
    cilium_namespace: Namespace = Field(default="kube-system", description="Where the release and agents live.")
    unknown: dict[str, str] = Field(
        default_factory=dict, description="Area (a field name below) -> why it could not be collected."
    )
    nodes: tuple[NodeFacts, ...] = ()
    helm_release: HelmRelease | None = Field(default=None, description="None: no Cilium release found.")
    cilium_config: CiliumConfig | None = Field(default=None, description="None: no cilium-config ConfigMap.")
    agents: tuple[AgentPod, ...] = ()
    crds: tuple[Crd, ...] = ()
    gateway_classes: tuple[GatewayClass, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    pod_ips: tuple[PodIPSummary, ...] = Field(default=(), description="One per node that has pods.")
    services: tuple[ServiceFacts, ...] = ()
    vm_workloads: tuple[VmWorkload, ...] = ()
    kube_proxy: KubeProxy | None = Field(default=None, description="None only when unknown (see `unknown`).")
    probes: tuple[NodeProbe, ...] = Field(
        default=(), description="One per node with --probe-nodes; otherwise empty and 'probes' is in `unknown`."
    )

    def is_known(self, area: str) -> bool:
        """True when `area` was collected, so an empty/None value there means absent, not unknown."""
        if area not in AREAS:
            raise KeyError(f"unknown facts area {area!r}; known: {', '.join(AREAS)}")
        return area not in self.unknown

    def node(self, name: str) -> NodeFacts | None:
        """The node called `name`, or None."""
        return next((n for n in self.nodes if n.name == name), None)

    def crd(self, name: str) -> Crd | None:
        """The CRD called `name` (`<plural>.<group>`), or None."""
        return next((c for c in self.crds if c.name == name), None)

    def probe(self, node: str) -> NodeProbe | None:
        """The probe result for `node`, or None when it was not probed."""
        return next((p for p in self.probes if p.node == node), None)
