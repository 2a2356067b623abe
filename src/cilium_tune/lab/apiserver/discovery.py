"""Which resource types the emulated API serves, and the discovery documents describing them.

Clients (client-go in helm and kubectl, lightkube) build their REST mapping from these documents, so a
kind, plural, scope or verb list that is wrong here breaks them long before any object is read.
CustomResourceDefinitions add and remove types at run time, hence a registry rather than a constant.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    """One served resource: enough to route a URL and to describe it in discovery."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    crd: bool = False

    @property
    def key(self) -> str:
        """Storage key: objects of one group+plural share a key across versions."""
        return f"{self.group}/{self.plural}"

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _rt(gv: str, plural: str, kind: str, namespaced: bool = True, short: tuple[str, ...] = (),
        sub: tuple[str, ...] = (), cat: tuple[str, ...] = ()) -> ResourceType:
    group, _, version = gv.rpartition("/")
    return ResourceType(group, version, plural, kind, namespaced, short, sub, cat)


ALL = ("all",)
BUILTIN: tuple[ResourceType, ...] = (
    _rt("v1", "namespaces", "Namespace", False, ("ns",), ("status", "finalize")),
    _rt("v1", "nodes", "Node", False, ("no",), ("status", "proxy")),
    _rt("v1", "pods", "Pod", True, ("po",), ("status", "log", "eviction", "binding", "exec", "attach"), ALL),
    _rt("v1", "services", "Service", True, ("svc",), ("status",), ALL),
    _rt("v1", "endpoints", "Endpoints", True, ("ep",)),
    _rt("v1", "configmaps", "ConfigMap", True, ("cm",)),
    _rt("v1", "secrets", "Secret"),
    _rt("v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    _rt("v1", "events", "Event", True, ("ev",)),
    _rt("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), ("status",)),
    _rt("v1", "persistentvolumes", "PersistentVolume", False, ("pv",), ("status",)),
    _rt("v1", "resourcequotas", "ResourceQuota", True, ("quota",), ("status",)),
    _rt("v1", "limitranges", "LimitRange", True, ("limits",)),
    _rt("v1", "replicationcontrollers", "ReplicationController", True, ("rc",), ("status", "scale"), ALL),
    _rt("apps/v1", "deployments", "Deployment", True, ("deploy",), ("status", "scale"), ALL),
    _rt("apps/v1", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale"), ALL),
    _rt("apps/v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",), ALL),
    _rt("apps/v1", "statefulsets", "StatefulSet", True, ("sts",), ("status", "scale"), ALL),
    _rt("apps/v1", "controllerrevisions", "ControllerRevision"),
    _rt("batch/v1", "jobs", "Job", True, (), ("status",), ALL),
    _rt("batch/v1", "cronjobs", "CronJob", True, ("cj",), ("status",), ALL),
    _rt("discovery.k8s.io/v1", "endpointslices", "EndpointSlice"),
    _rt("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), ("status",)),
    _rt("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _rt("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _rt("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _rt("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _rt("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False,
        ("crd", "crds"), ("status",)),
    _rt("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
    _rt("networking.k8s.io/v1", "ingresses", "Ingress", True, ("ing",), ("status",)),
    _rt("networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    _rt("coordination.k8s.io/v1", "leases", "Lease"),
    _rt("storage.k8s.io/v1", "storageclasses", "StorageClass", False, ("sc",)),
    _rt("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False, ("pc",)),
    _rt("events.k8s.io/v1", "events", "Event", True, ("ev",)),
    _rt("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration", False),
    _rt("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration", False),
    _rt("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ("hpa",), ("status",),
        ALL),
)

_SUB_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "log": ["get"],
    "eviction": ["create"],
    "binding": ["create"],
    "exec": ["create", "get"],
    "attach": ["create", "get"],
    "proxy": ["create", "delete", "get", "patch", "update"],
    "finalize": ["update"],
}
_SUB_KIND = {"scale": ("autoscaling", "v1", "Scale"), "eviction": ("policy", "v1", "Eviction"),
             "binding": ("", "v1", "Binding"), "log": ("", "v1", "Pod"), "exec": ("", "v1", "PodExecOptions"),
             "attach": ("", "v1", "PodAttachOptions")}


@dataclass
class Registry:
    """Thread-safe set of served types, indexed by (group, version, plural) and by kind."""

    _types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def builtin(cls) -> Registry:
        reg = cls()
        for rt in BUILTIN:
            reg.add(rt)
        return reg

    def add(self, rt: ResourceType) -> None:
        with self._lock:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def remove_group_plural(self, group: str, plural: str) -> None:
        with self._lock:
            for key in [k for k in self._types if k[0] == group and k[2] == plural]:
                del self._types[key]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._types.get((group, version, plural))

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        with self._lock:
            for rt in self._types.values():
                if rt.group == group and rt.kind == kind:
                    return rt
        return None

    def all(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """group -> versions, core group ("") included; preferred version first."""
        out: dict[str, list[str]] = {}
        for rt in self.all():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        for versions in out.values():
            versions.sort(key=_version_rank)
        return out


def _version_rank(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA before beta before alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (9, 0, 0)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0))


def resource_list(reg: Registry, group: str, version: str) -> dict[str, Any]:
    """The APIResourceList for /api/v1 or /apis/<group>/<version>."""
    resources: list[dict[str, Any]] = []
    for rt in sorted((r for r in reg.all() if r.group == group and r.version == version),
                     key=lambda r: r.plural):
        entry: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                                 "kind": rt.kind, "verbs": VERBS}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in rt.subresources:
            sg, sv, skind = _SUB_KIND.get(sub, (rt.group, rt.version, rt.kind))
            sub_entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "",
                                         "namespaced": rt.namespaced, "kind": skind, "verbs": _SUB_VERBS[sub]}
            if sub in _SUB_KIND:
                sub_entry.update(group=sg, version=sv)
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def api_versions(server_address: str) -> dict[str, Any]:
    """The document at /api: the core group's versions."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(reg: Registry) -> dict[str, Any]:
    groups = [_group_doc(g, vs) for g, vs in sorted(reg.group_versions().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(reg: Registry, group: str) -> dict[str, Any] | None:
    versions = reg.group_versions().get(group)
    if not group or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def version_info() -> dict[str, str]:
    """What /version reports: a recent Kubernetes, marked as the lab's emulator."""
    return {"major": "1", "minor": "35", "gitVersion": "v1.35.0+ctlab", "gitCommit": "lab",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
            "compiler": "gc", "platform": "linux/amd64"}
