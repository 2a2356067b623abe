"""Which Cilium chart keys exist, so a misspelled key is reported instead of silently doing nothing.

The Cilium chart's values.schema.json has no `additionalProperties: false` anywhere, so Helm accepts
`socketLb.enabled` or `bpf.datapathmode` and the setting just never takes effect. This module keeps
a catalog of key paths and answers "which keys in these values are unknown, and what was meant?".

Three sources:
- the catalog of a Cilium chart version (`catalogs.catalog_for_version("1.19.0-rc.1")`), generated
  from every released chart by scripts/gen_catalogs.py: values.yaml keys, commented-out example keys
  and keys only the templates read, each valid from its first to its last version, plus the history of
  keys other versions had, so a removed option says when it went.
- the built-in catalog, for when no chart version is known: every key some supported chart version
  reads (the union of the generated catalogs), plus the keys cilium-tune reasons about (with their
  expected type). Only subtrees whose children are all listed are *closed*; in an *open* subtree only
  near-misses of a listed key (case or one-letter slips) are reported.
- a real chart (`KeyCatalog.from_chart`): its values.yaml gives the complete key tree, every
  mapping closed. Many valid keys exist in values.yaml only as commented-out examples under their
  parent (`  # hostNamespaceOnly: false` below `socketLB:`); those lines are read too, and so are the
  keys its templates read (`.Values.nodePort.directRoutingDevice`, `hostServices`).

Free-form maps (nodeSelector, annotations, resources, extraEnv...) hold user-chosen keys and are
never checked. Paths are tuples of keys (`values.paths.KeyPath`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import yaml

from cilium_tune.errors import InputError
from cilium_tune.inputs import read_text
from cilium_tune.values.paths import KeyPath, format_path

if TYPE_CHECKING:
    from cilium_tune.chart_files import ChartFiles

# Keys whose value is a map of user-chosen keys (Kubernetes pod fields, labels, extra config).
FREE_FORM_NAMES = frozenset(
    {
        "affinity",
        "annotations",
        "commonLabels",
        "dnsConfig",
        "extraArgs",
        "extraConfig",
        "extraEnv",
        "extraHostPathMounts",
        "extraInitContainers",
        "extraContainers",
        "extraVolumeMounts",
        "extraVolumes",
        "initResources",
        "labels",
        "matchExpressions",
        "matchLabels",
        "nodeSelector",
        "podAnnotations",
        "podLabels",
        "podSecurityContext",
        "resources",
        "securityContext",
        "startupProbe",
        "livenessProbe",
        "readinessProbe",
        "tolerations",
        "topologySpreadConstraints",
        "updateStrategy",
        "sysctls",
    }
)

# Type names used in the catalog (what a YAML value of that key should be).
BOOL, INT, STRING, LIST, MAP = "bool", "int", "string", "list", "map"

# The keys cilium-tune reads or writes, with the type the 1.19 chart expects. Written for this tool
# from the chart's documented interface; "string|bool" marks keys the chart accepts either way.
_TOOL_KEYS: dict[str, str] = {
    "routingMode": STRING,
    "tunnelProtocol": STRING,
    "tunnelPort": INT,
    "autoDirectNodeRoutes": BOOL,
    "directRoutingSkipUnreachable": BOOL,
    "ipv4NativeRoutingCIDR": STRING,
    "ipv6NativeRoutingCIDR": STRING,
    "cni.confPath": STRING,
    "cni.binPath": STRING,
    "cni.exclusive": BOOL,
    "cni.chainingMode": STRING,
    "cni.customConf": BOOL,
    "cni.install": BOOL,
    "socketLB.enabled": BOOL,
    "socketLB.hostNamespaceOnly": BOOL,
    "socketLB.terminatePodConnections": BOOL,
    "socketLB.tracing": BOOL,
    "enableIPv4BIGTCP": BOOL,
    "enableIPv6BIGTCP": BOOL,
    "l2NeighDiscovery.enabled": BOOL,
    "l2NeighDiscovery.refreshPeriod": STRING,
    "bpf.datapathMode": STRING,
    "bpf.masquerade": BOOL,
    "bpf.hostLegacyRouting": BOOL,
    "bpf.tproxy": BOOL,
    "bpf.enableTCX": BOOL,
    "bpf.preallocateMaps": BOOL,
    "bpf.mapDynamicSizeRatio": "float",
    "bpf.lbExternalClusterIP": BOOL,
    "bpf.distributedLRU.enabled": BOOL,
    "bpf.vlanBypass": LIST,
    "kubeProxyReplacement": "string|bool",
    "kubeProxyReplacementHealthzBindAddr": STRING,
    "k8sServiceHost": STRING,
    "k8sServicePort": "string|int",
    "ipv4.enabled": BOOL,
    "ipv6.enabled": BOOL,
    "ipam.mode": STRING,
    "ipam.operator.clusterPoolIPv4PodCIDRList": LIST,
    "ipam.operator.clusterPoolIPv4MaskSize": INT,
    "ipam.operator.clusterPoolIPv6PodCIDRList": LIST,
    "ipam.operator.clusterPoolIPv6MaskSize": INT,
    "gatewayAPI.enabled": BOOL,
    "gatewayAPI.hostNetwork.enabled": BOOL,
    "gatewayAPI.hostNetwork.nodes.matchLabels": MAP,
    "gatewayAPI.enableAlpn": BOOL,
    "gatewayAPI.enableAppProtocol": BOOL,
    "gatewayAPI.enableProxyProtocol": BOOL,
    "envoy.enabled": BOOL,
    "envoy.securityContext.capabilities.keepCapNetBindService": BOOL,
    "envoy.securityContext.capabilities.envoy": LIST,
    "l7Proxy": BOOL,
    "nodePort.enabled": BOOL,
    "cleanState": BOOL,
    "cleanBpfState": BOOL,
    "enableIPv4Masquerade": BOOL,
    "enableIPv6Masquerade": BOOL,
    "k8s.requireIPv4PodCIDR": BOOL,
    "k8s.requireIPv6PodCIDR": BOOL,
    "rollOutCiliumPods": BOOL,
    "operator.rollOutPods": BOOL,
    "operator.replicas": INT,
    "encryption.enabled": BOOL,
    "encryption.type": STRING,
    "loadBalancer.mode": STRING,
    "loadBalancer.acceleration": STRING,
    "loadBalancer.algorithm": STRING,
    "devices": "string|list",
    "MTU": INT,
    "bandwidthManager.enabled": BOOL,
    "bandwidthManager.bbr": BOOL,
    "endpointRoutes.enabled": BOOL,
    "hubble.enabled": BOOL,
    # Image digests: upstream charts have them, some redistributions (RKE2's) drop them from values.yaml.
    "image.digest": STRING,
    "image.useDigest": BOOL,
    "operator.image.genericDigest": STRING,
    "operator.image.useDigest": BOOL,
}

# Keys the chart used to read and now refuses or ignores, with what replaced them.
# (the release that removed it, what to set instead); a version catalog's history says the former too.
_REPLACED: dict[KeyPath, tuple[str, str]] = {
    ("tunnel",): ("1.15", "set routingMode (native|tunnel) and tunnelProtocol instead"),
    ("enableCiliumEndpointSlice",): ("1.18", "set ciliumEndpointSlice.enabled instead"),
}

# Top-level keys of the 1.18/1.19 charts besides the ones above, including keys that appear only
# commented out or only in templates. All top-level keys are listed, so the root is closed.
_TOP_LEVEL: list[str] = [
    "affinity",
    "agent",
    "agentNotReadyTaintKey",
    "aksbyocni",
    "alibabacloud",
    "annotateK8sNode",
    "annotations",
    "apiRateLimit",
    "authentication",
    "azure",
    "bgpControlPlane",
    "bpfClockProbe",
    "certgen",
    "cgroup",
    "ciliumEndpointSlice",
    "cluster",
    "clustermesh",
    "commonLabels",
    "config",
    "configDriftDetection",
    "conntrackGCInterval",
    "conntrackGCMaxInterval",
    "connectivityProbeFrequencyRatio",
    "crdWaitTimeout",
    "customCalls",
    "daemon",
    "dashboards",
    "debug",
    "defaultLBServiceIPAM",
    "disableEndpointCRD",
    "disableEnvoyVersionCheck",
    "disableIptablesFeederRules",
    "dnsPolicy",
    "dnsPolicyUnloadOnShutdown",
    "dnsProxy",
    "egressGateway",
    "egressMasqueradeInterfaces",
    "enableCriticalPriorityClass",
    "enableIdentityMark",
    "enableInternalTrafficPolicy",
    "enableLBIPAM",
    "enableMasqueradeRouteSource",
    "enableNoServiceEndpointsRoutable",
    "enableNonDefaultDenyPolicies",
    "enableRuntimeDeviceDetection",
    "enableXTSocketFallback",
    "endpointHealthChecking",
    "endpointLockdownOnMapOverflow",
    "endpointPolicyUpdateTimeoutDuration",
    "eni",
    "envoyConfig",
    "etcd",
    "externalIPs",
    "extraArgs",
    "extraConfig",
    "extraContainers",
    "extraEnv",
    "extraHostPathMounts",
    "extraInitContainers",
    "extraVolumeMounts",
    "extraVolumes",
    "forceDeviceDetection",
    "fragmentTracking",
    "gke",
    "global",
    "healthCheckICMPFailureThreshold",
    "healthChecking",
    "healthPort",
    "highScaleIPcache",
    "hostFirewall",
    "hostPort",
    "identityAllocationMode",
    "identityChangeGracePeriod",
    "identityManagementMode",
    "image",
    "imagePullSecrets",
    "ingressController",
    "initResources",
    "installNoConntrackIptablesRules",
    "ipMasqAgent",
    "iptablesLockTimeout",
    "iptablesRandomFully",
    "k8sClientExponentialBackoff",
    "k8sClientRateLimit",
    "k8sNetworkPolicy",
    "k8sServiceHostRef",
    "k8sServiceLookupConfigMapName",
    "k8sServiceLookupNamespace",
    "keepDeprecatedLabels",
    "keepDeprecatedProbes",
    "kubeConfigPath",
    "l2announcements",
    "l2podAnnouncements",
    "labels",
    "livenessProbe",
    "loadBalancer",
    "localRedirectPolicies",
    "localRedirectPolicy",
    "logOptions",
    "logSystemLoad",
    "maglev",
    "monitor",
    "name",
    "namespaceOverride",
    "nat",
    "nat46x64Gateway",
    "nodeIPAM",
    "nodeLabels",
    "nodeSelector",
    "nodeSelectorLabels",
    "nodeinit",
    "operator",
    "pmtuDiscovery",
    "podAnnotations",
    "podLabels",
    "podSecurityContext",
    "policyAuditMode",
    "policyCIDRMatchMode",
    "policyDenyResponse",
    "policyEnforcementMode",
    "portmapPlugin",
    "pprof",
    "preflight",
    "priorityClassName",
    "prometheus",
    "rbac",
    "readinessProbe",
    "resourceQuotas",
    "resources",
    "scheduling",
    "sctp",
    "secretsNamespaceAnnotations",
    "secretsNamespaceLabels",
    "securityContext",
    "serviceAccounts",
    "serviceNoBackendResponse",
    "sleepAfterInit",
    "standaloneDnsProxy",
    "startupProbe",
    "svcSourceRangeCheck",
    "synchronizeK8sNodes",
    "sysctlfix",
    "terminationGracePeriodSeconds",
    "tls",
    "tmpVolume",
    "tolerations",
    "tunnelSourcePortRange",
    "underlayProtocol",
    "updateStrategy",
    "upgradeCompatibility",
    "vtep",
    "waitForKubeProxy",
    "wellKnownIdentities",
]

# Built-in subtrees whose children are all listed above (so any other child is unknown).
_CLOSED_BUILTIN: tuple[KeyPath, ...] = ((), ("socketLB",), ("ipv4",), ("ipv6",), ("k8s",))

# Words that start commented-out prose or schema annotations in values.yaml, not keys.
_NOT_KEYS = frozenset(
    {"ref", "Ref", "enum", "type", "minimum", "maximum", "oneOf", "items", "default", "see", "note", "e", "i"}
)
_COMMENTED_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?:\s+(.*))?$")


# Go methods of .Values that templates call; not keys.
_VALUES_METHODS = frozenset({"AsMap", "YAML", "Table", "PathValue", "Encode"})
_TEMPLATE_KEY = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_DIG = re.compile(r"\bdig((?:\s+\"[^\"]*\")+)\s+\.Values\.AsMap")  # dig "a" "b" DEFAULT .Values.AsMap
_QUOTED = re.compile(r'"([^"]*)"')


def template_keys(template: str) -> Iterator[KeyPath]:
    """Key paths a chart template reads: `.Values.a.b` and `dig "a" "b" DEFAULT .Values.AsMap`."""
    for match in _TEMPLATE_KEY.finditer(template):
        path = tuple(match.group(1)[1:].split("."))
        if path[0] not in _VALUES_METHODS:
            yield path
    for match in _DIG.finditer(template):
        keys = _QUOTED.findall(match.group(1))[:-1]  # the last quoted string is dig's default
        if keys:
            yield tuple(keys)


class KeyHistory(msgspec.Struct, frozen=True):
    """When the released charts knew a key: `first`/`last` release, `gone` the release after `last`
    (None while current); `refused` when the chart's validate template makes the install fail on it."""

    first: str
    last: str
    gone: str | None
    refused: bool = False

    def sentence(self, dotted: str, version: str, *, in_line: bool) -> str:
        """`externalIPs.enabled` was removed in Cilium 1.17 (last in 1.16.19): it has no effect in 1.19.

        `version` is the chart version judged; `in_line` says whether some version of its minor line has
        the key (then the exact version is named, else the line).
        """
        target = version if in_line else ".".join(version.split(".")[:2])
        if _newer(self.first, version):
            return f"`{dotted}` was added in Cilium {self.first}: it has no effect in {target}"
        if self.gone is None or not _newer(version, self.last):
            return f"`{dotted}` is not in the Cilium {target} chart (released charts had it from {self.first})"
        went = self.gone.removesuffix(".0")
        effect = f"the {target} chart refuses it (helm fails)" if self.refused else f"it has no effect in {target}"
        return f"`{dotted}` was removed in Cilium {went} (last in {self.last}): {effect}"


def _newer(a: str, b: str) -> bool:
    from cilium_tune.values.chart_versions import ChartVersion

    return ChartVersion.parse(a) > ChartVersion.parse(b)


class UnknownKey(msgspec.Struct, frozen=True):
    """A key in user values that the catalog does not know, what was probably meant, and why.

    `note` explains a known reason (a replaced option, a dotted key Helm does not split); `history` says
    which chart versions had the key (`... was removed in Cilium 1.17 (last in 1.16.19): ...`).
    """

    path: KeyPath
    suggestion: KeyPath | None
    note: str | None = None
    history: str | None = None

    @property
    def dotted(self) -> str:
        return format_path(self.path)

    def message(self) -> str:
        """One line for the user."""
        if self.note:
            hint = f"; {self.note}"
        elif self.suggestion:
            hint = f"; did you mean {format_path(self.suggestion)!r}?"
        else:
            hint = ""
        if self.history:
            return f"{self.history}{hint}"
        return f"unknown key {self.dotted!r}: Helm accepts it but nothing reads it{hint}"


class KeyCatalog(msgspec.Struct):
    """Known key paths, their expected type (None when unknown) and which subtrees are closed."""

    types: dict[KeyPath, str | None] = msgspec.field(default_factory=dict)
    closed: set[KeyPath] = msgspec.field(default_factory=set)
    free_form: set[KeyPath] = msgspec.field(default_factory=set)
    source: str = "built-in"
    version: str | None = None  # the chart version judged, when known
    defaults: dict[KeyPath, Any] = msgspec.field(default_factory=dict)  # chart defaults of scalar and list keys
    history: dict[KeyPath, KeyHistory] = msgspec.field(default_factory=dict)  # keys of other chart versions
    line_keys: frozenset[KeyPath] = frozenset()  # keys some version of `version`'s minor line has
    seen_as: dict[KeyPath, str] = msgspec.field(default_factory=dict)  # v values.yaml, c comment, t template only
    _kids: dict[KeyPath, set[str]] = msgspec.field(default_factory=dict)

    @classmethod
    def builtin(cls) -> KeyCatalog:
        """The catalog for when no chart version is known: every key that some version of a supported line
        reads (so it never flags a key valid in one of them), the keys cilium-tune reasons about, and a few
        keys of redistributed charts (RKE2's `global`, `portmapPlugin`). A fresh copy on every call."""
        from cilium_tune.values.catalogs import union_entries

        cat = cls._tool_keys()
        for path, kind, flags in union_entries():
            cat.add(path, kind)
            cat.seen_as.setdefault(path, flags[0])
            if "k" in flags:
                cat.closed.add(path)
            if "f" in flags:
                cat.free_form.add(path)
        return cat

    @classmethod
    def _tool_keys(cls) -> KeyCatalog:
        """The keys cilium-tune reads or writes and the top-level keys of the 1.18/1.19 charts."""
        cat = cls(source="built-in")
        for dotted, kind in _TOOL_KEYS.items():
            cat.add(tuple(dotted.split(".")), kind)
        for name in _TOP_LEVEL:
            cat.add((name,), MAP if name in FREE_FORM_NAMES else None)
        cat.closed.update(_CLOSED_BUILTIN)
        return cat

    @classmethod
    def from_chart(cls, path: str | Path, *, with_builtin: bool = True) -> KeyCatalog:
        """A chart directory, a packaged chart (.tgz) or a values.yaml file: its complete key tree
        (`from_chart_files` of the chart read once; a lone values file gives its keys only)."""
        from cilium_tune.chart_archive import is_gzip  # tarfile and gzip: only a chart (not the built-in catalog)
        from cilium_tune.chart_files import read_chart

        chart = Path(path)
        if not chart.exists():
            raise InputError(f"chart {path} does not exist", hint="pass a chart directory, a chart .tgz or values.yaml")
        if chart.is_dir() or is_gzip(chart) or chart.name.endswith((".tgz", ".tar.gz", ".tar")):
            return cls.from_chart_files(read_chart(chart), with_builtin=with_builtin)
        return cls._from_text(read_text(chart, "values file"), str(chart), (), None, with_builtin)

    @classmethod
    def from_chart_files(cls, files: ChartFiles, *, with_builtin: bool = True) -> KeyCatalog:
        """The complete key tree of a chart already read (`chart_files.read_chart`).

        The chart's templates are read too (keys they read are valid even when values.yaml only
        mentions them in a comment), and when its Chart.yaml names a Cilium version with a generated
        catalog, that catalog's history says when a removed key went. With `with_builtin` the keys
        cilium-tune itself reads are added as well; without it the catalog is exactly what this chart shows.
        """
        if not files.has_values:
            raise InputError(
                f"{files.path} has no values.yaml", hint="pass a chart directory, a chart .tgz or values.yaml"
            )
        templates = tuple(text for name, text in files.templates if _reads_keys(name))
        return cls._from_text(files.values, files.values_source, templates, files.version, with_builtin)

    @classmethod
    def _from_text(
        cls, values: str, source: str, templates: tuple[str, ...], version: str | None, with_builtin: bool
    ) -> KeyCatalog:
        cat = cls._tool_keys() if with_builtin else cls()
        cat.source = source
        cat.closed = set()
        cat.merge_values_text(values, source)
        for template in templates:
            for key in template_keys(template):
                if not cat.knows(key) and not cat.is_free(key[:-1]):
                    cat.add(key, None)
        cat.closed.add(())
        if version is not None:
            from cilium_tune.values.catalogs import history_for_version

            cat.version = version
            cat.history, cat.line_keys = history_for_version(version)
        return cat

    def add(self, path: KeyPath, kind: str | None) -> None:
        """Know `path` (and its parents, as maps)."""
        for end in range(1, len(path) + 1):
            self._kids.setdefault(path[: end - 1], set()).add(path[end - 1])
            if end < len(path):
                self.types.setdefault(path[:end], MAP)
        if self.types.get(path) is None or kind is not None:
            self.types[path] = kind if kind is not None else self.types.get(path)
        if path[-1] in FREE_FORM_NAMES:
            self.free_form.add(path)

    def merge_values_text(self, text: str, source: str) -> None:
        """Add every key of a chart's values.yaml, including commented-out example keys."""
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise InputError(f"{source}: not valid YAML ({exc})", hint="pass the chart's own values.yaml") from None
        if not isinstance(root, yaml.MappingNode):
            raise InputError(f"{source}: values.yaml is not a mapping", hint="pass the chart's own values.yaml")
        frames: list[_Frame] = []
        _walk(root, (), frames, self, end_line=len(text.splitlines()) + 1, owner_line=-1)
        for path, kind in _commented_keys(text.splitlines(), frames):
            if not self.is_free(path[:-1]):
                self.add(path, kind)

    def is_free(self, path: KeyPath) -> bool:
        """True when `path` or an ancestor holds user-chosen keys."""
        return any(path[:end] in self.free_form for end in range(1, len(path) + 1))

    def children(self, path: KeyPath) -> list[str]:
        """Known child keys of `path`, sorted."""
        return sorted(self._kids.get(path, ()))

    def knows(self, path: KeyPath) -> bool:
        return path in self.types

    def expected_type(self, path: KeyPath) -> str | None:
        """The catalog's type for a key ("bool", "int", "string", "list", "map", "a|b"), or None."""
        return self.types.get(path)


class _Frame(msgspec.Struct):
    """A mapping in values.yaml: where its children sit, so commented keys can be placed in it."""

    path: KeyPath
    column: int | None
    first_line: int
    end_line: int
    owner_column: int = -1


def _walk(
    node: yaml.Node, path: KeyPath, frames: list[_Frame], cat: KeyCatalog, *, end_line: int, owner_line: int
) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    pairs = node.value
    column = pairs[0][0].start_mark.column if pairs else None
    frames.append(_Frame(path, column, owner_line, end_line))
    for i, (key_node, value_node) in enumerate(pairs):
        key = str(key_node.value)
        here = (*path, key)
        cat.add(here, _node_type(value_node))
        if _is_empty_map(value_node):
            cat.free_form.add(here)
        next_line = pairs[i + 1][0].start_mark.line if i + 1 < len(pairs) else end_line
        line = key_node.start_mark.line
        if isinstance(value_node, yaml.MappingNode) and value_node.value:
            _walk(value_node, here, frames, cat, end_line=next_line, owner_line=line)
        elif _is_null(value_node):
            # `nodes:` followed only by commented examples: its children are the comments below it.
            frames.append(_Frame(here, None, line, next_line, key_node.start_mark.column))
    if path:
        cat.closed.add(path)
    else:
        cat.closed.add(())


def _node_type(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        return MAP
    if isinstance(node, yaml.SequenceNode):
        return LIST
    tag = node.tag.rsplit(":", 1)[-1]
    return {"bool": BOOL, "int": INT, "float": "float", "str": STRING}.get(tag)


def _is_empty_map(node: yaml.Node) -> bool:
    return isinstance(node, yaml.MappingNode) and not node.value


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _commented_keys(lines: list[str], frames: list[_Frame]) -> Iterator[tuple[KeyPath, str | None]]:
    """Keys in `# key: value` example lines, placed under the mapping whose children they line up with."""
    in_schema = False
    i = 0
    while i < len(lines):
        raw = lines[i]
        stripped = raw.lstrip()
        i += 1
        if not stripped.startswith("#"):
            continue
        body = stripped[1:]
        if body.strip() == "@schema":
            in_schema = not in_schema
            continue
        if in_schema or body.startswith("  "):
            continue
        match = _COMMENTED_KEY.match(body.strip())
        if match is None or match.group(1) in _NOT_KEYS or (match.group(2) or "").startswith("http"):
            continue
        column = len(raw) - len(stripped)
        frame = _frame_for(frames, i - 1, column)
        if frame is None:
            continue
        key_path = (*frame.path, match.group(1))
        nested, i = _nested_block(lines, i, column)
        value_text = match.group(2)
        if nested is not None:
            yield key_path, MAP
            yield from ((key_path + sub, kind) for sub, kind in _flatten(nested))
        else:
            yield key_path, _value_type(value_text)


def _frame_for(frames: list[_Frame], line: int, column: int) -> _Frame | None:
    best: _Frame | None = None
    for frame in frames:
        if not frame.first_line < line < frame.end_line:
            continue
        if frame.column is None:
            if column > frame.owner_column:
                frame.column = column
            else:
                continue
        if frame.column == column and (best is None or len(frame.path) > len(best.path)):
            best = frame
    return best


def _nested_block(lines: list[str], start: int, column: int) -> tuple[Any, int]:
    """Commented lines indented below a commented key (`#   child: x`), parsed as YAML if they can be."""
    block: list[str] = []
    j = start
    while j < len(lines):
        stripped = lines[j].lstrip()
        if not stripped.startswith("#  ") or len(lines[j]) - len(stripped) != column:
            break
        block.append(stripped[2:])
        j += 1
    if not block:
        return None, start
    try:
        parsed = yaml.safe_load("\n".join(block))
    except yaml.YAMLError:
        return None, j
    return (parsed if isinstance(parsed, dict) else None), j


def _flatten(data: Mapping[str, Any], prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, str | None]]:
    for key, value in data.items():
        here = (*prefix, str(key))
        yield here, _python_type(value)
        if isinstance(value, dict):
            yield from _flatten(value, here)


def _value_type(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return _python_type(yaml.safe_load(text))
    except yaml.YAMLError:
        return None


def _python_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        return LIST
    if isinstance(value, dict):
        return MAP
    return None


def _reads_keys(name: str) -> bool:
    """A template whose `.Values` reads make keys valid: not validate*.yaml, which reads removed keys only
    to fail the install on them."""
    return not name.rsplit("/", 1)[-1].startswith("validate")


def unknown_keys(values: Mapping[str, Any], catalog: KeyCatalog) -> list[UnknownKey]:
    """Keys in `values` the catalog does not know, in document order, each with a did-you-mean."""
    found: list[UnknownKey] = []
    _check(values, (), catalog, found)
    return found


def _check(values: Mapping[str, Any], parent: KeyPath, catalog: KeyCatalog, found: list[UnknownKey]) -> None:
    if catalog.is_free(parent):
        return
    siblings = catalog.children(parent)
    closed = parent in catalog.closed
    for key, value in values.items():
        here = (*parent, str(key))
        if catalog.knows(here):
            if isinstance(value, Mapping) and catalog.expected_type(here) in (MAP, None):
                _check(value, here, catalog, found)
            continue
        sibling = _closest(str(key), siblings, strict=not closed)
        if not closed and sibling is None:
            continue
        suggestion = (*parent, sibling) if sibling else _elsewhere(here, catalog)
        found.append(UnknownKey(here, suggestion, _note(here, catalog), _history(here, catalog)))


def _note(path: KeyPath, catalog: KeyCatalog) -> str | None:
    """Why a key is unknown when that is known: a replaced option or a dotted key Helm does not split."""
    if path in _REPLACED:
        went, advice = _REPLACED[path]
        return advice if path in catalog.history else f"removed in Cilium {went}; {advice}"
    if "." in path[-1]:
        nested = (*path[:-1], *path[-1].split("."))
        if catalog.knows(nested) or nested in catalog.history:
            return f"Helm does not split dotted keys in values files; nest it as {format_path(nested)}"
    return None


def _history(path: KeyPath, catalog: KeyCatalog) -> str | None:
    """When the released charts had this key (or, for a literal dotted key, the nested key it names)."""
    if catalog.version is None:
        return None
    nested = (*path[:-1], *path[-1].split("."))
    for candidate in (path, nested):
        known = catalog.history.get(candidate)
        if known is not None:
            in_line = candidate in catalog.line_keys
            return known.sentence(format_path(candidate), catalog.version, in_line=in_line)
    return None


def _elsewhere(path: KeyPath, catalog: KeyCatalog) -> KeyPath | None:
    """A known key of the same name deeper under the same parent (`bbr` -> `bandwidthManager.bbr`)."""
    name, parent = path[-1].lower(), path[:-1]
    matches = [
        p
        for p in catalog.types
        if len(p) > len(path) and p[: len(parent)] == parent and p[-1].lower() == name and not catalog.is_free(p[:-1])
    ]
    return min(matches, key=lambda p: (len(p), p)) if matches else None


def _closest(key: str, candidates: list[str], *, strict: bool) -> str | None:
    """The known sibling the user most likely meant (case slips first); strict: near-misses only."""
    lowered = {c.lower(): c for c in candidates}
    if key.lower() in lowered:
        return lowered[key.lower()]
    matches = difflib.get_close_matches(key, candidates, n=1, cutoff=0.88 if strict else 0.75)
    return matches[0] if matches else None
