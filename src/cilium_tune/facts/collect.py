"""Collect a Snapshot from a live cluster: the only facts module that talks to the API (through KubeAPI).

Every list runs at once on a thread pool (each list paginates on its own), then the pure parsers build
the model. An area the credentials may not read becomes `Snapshot.unknown[area]` instead of failing the
whole collection; an unreachable API server fails fast with a ClusterError.

Node probes (`probe_nodes=True`) start one short-lived privileged hostNetwork pod per node (labelled
`app.kubernetes.io/managed-by=cilium-tune`), wait for all of them together, read their logs and parse
them purely. The pods are deleted in a `finally`, so also on failure and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from cilium_tune import __version__
from cilium_tune.adapters.kube import (
    CONFIGMAPS,
    CRDS,
    DAEMONSETS,
    GATEWAY_CLASSES,
    GATEWAYS,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    VMIS,
    Forbidden,
    KubeAPI,
    NotFound,
    NotServed,
    Obj,
    Resource,
)
from cilium_tune.errors import ClusterError
from cilium_tune.facts.cilium import parse_agent_pod, parse_cilium_config
from cilium_tune.facts.gateway import parse_crd, parse_gateway, parse_gateway_class
from cilium_tune.facts.helm_release import ReleaseDecodeError, parse_helm_release
from cilium_tune.facts.model import NodeProbe, Snapshot, Source
from cilium_tune.facts.nodes import parse_node
from cilium_tune.facts.probes import PROBE_SCRIPT, parse_probe_output
from cilium_tune.facts.workloads import (
    find_vm_workloads,
    parse_kube_proxy,
    parse_service,
    pools_from,
    summarise_pod_ips,
)

T = TypeVar("T")

MANAGED_BY = {"app.kubernetes.io/managed-by": "cilium-tune"}
PROBE_RUN_LABEL = "cilium-tune.io/probe-run"
AGENT_SELECTOR = {"k8s-app": "cilium"}
CILIUM_CONFIG = "cilium-config"

# The probe runs the host's own tools: when the pod's mount namespace is not the host's (a real node,
# with hostPID), it enters PID 1's mount namespace; where it cannot (the lab, or nsenter is missing or
# refused), it runs where it is.
_ENTRY = (
    'if [ "$(readlink /proc/1/ns/mnt 2>/dev/null)" != "$(readlink /proc/self/ns/mnt 2>/dev/null)" ] '
    "&& nsenter -t 1 -m -- true >/dev/null 2>&1; "
    'then exec nsenter -t 1 -m -- sh -c "$1"; else exec sh -c "$1"; fi'
)


@dataclass(frozen=True)
class CollectOptions:
    """What to collect and where Cilium lives."""

    namespace: str = "kube-system"
    release: str = "cilium"
    probe_nodes: bool = False
    probe_image: str = "debian:bookworm-slim"
    probe_timeout: float = 120.0
    workers: int = 12


def collect(
    kube: KubeAPI, options: CollectOptions | None = None, *, now: Callable[[], datetime] | None = None
) -> Snapshot:
    """A Snapshot of the cluster behind `kube` (see the module docstring).

    Objects that do not have the shape the API defines (a broken proxy, a fake server, a corrupted
    object) fail the collection as a cluster error naming the problem, not as a crash.
    """
    try:
        return _collect(kube, options or CollectOptions(), now)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        raise ClusterError(
            f"the API server returned objects of an unexpected shape ({type(exc).__name__}: {str(exc)[:200]})",
            hint="check that the kubeconfig points at a Kubernetes API server, not a proxy or another service",
        ) from None


def _collect(kube: KubeAPI, opts: CollectOptions, now: Callable[[], datetime] | None) -> Snapshot:
    info = kube.server_info()  # fails fast (ClusterError) when the API server is unreachable
    unknown: dict[str, str] = {}

    with ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="ct-facts") as pool:
        ns = opts.namespace
        jobs: dict[str, Future[list[Obj]]] = {
            "nodes": pool.submit(kube.list, NODES),
            "pods": pool.submit(kube.list, PODS),
            "services": pool.submit(kube.list, SERVICES),
            "secrets": pool.submit(kube.list, SECRETS, ns, label_selector=f"owner=helm,name={opts.release}"),
            "release_configmaps": pool.submit(
                kube.list, CONFIGMAPS, ns, label_selector=f"owner=helm,name={opts.release}"
            ),
            "crds": pool.submit(kube.list, CRDS),
            "gateway_classes": pool.submit(_list_gateway_api, kube, GATEWAY_CLASSES),
            "gateways": pool.submit(_list_gateway_api, kube, GATEWAYS),
            "vmis": pool.submit(kube.list, VMIS),
            "daemonsets": pool.submit(kube.list, DAEMONSETS, ns),
        }
        config_job = pool.submit(_get_or_none, kube, CONFIGMAPS, CILIUM_CONFIG, ns)

        def result(name: str, area: str, absent_ok: bool = False) -> list[Obj] | None:
            try:
                return jobs[name].result()
            except NotServed as exc:
                if absent_ok:
                    return []
                unknown[area] = str(exc)
            except Forbidden as exc:
                unknown[area] = str(exc)
            return None

        raw_nodes = result("nodes", "nodes")
        nodes = tuple(sorted((parse_node(n) for n in raw_nodes or []), key=lambda n: n.name))
        raw_pods = result("pods", "pods")

        try:
            raw_config = config_job.result()
            cilium_config = parse_cilium_config(raw_config) if raw_config is not None else None
        except Forbidden as exc:
            unknown["cilium_config"] = str(exc)
            cilium_config = None

        helm_release = None
        raw_secrets = result("secrets", "helm_release")
        if raw_secrets is not None:
            try:
                helm_release = parse_helm_release(raw_secrets, opts.release)
                if helm_release is None:  # HELM_DRIVER=configmap keeps releases in ConfigMaps
                    raw_cms = result("release_configmaps", "helm_release")
                    helm_release = parse_helm_release(raw_cms or [], opts.release, storage="configmap")
            except ReleaseDecodeError as exc:
                unknown["helm_release"] = str(exc)

        raw_crds = result("crds", "crds")
        raw_classes = result("gateway_classes", "gateway_classes", absent_ok=True)
        raw_gateways = result("gateways", "gateways", absent_ok=True)
        raw_services = result("services", "services")
        raw_vmis = result("vmis", "vm_workloads", absent_ok=True)
        raw_daemonsets = result("daemonsets", "kube_proxy")

    pods_unknown = unknown.pop("pods", None)
    if pods_unknown is not None:
        for area in ("agents", "pod_ips", "vm_workloads", "kube_proxy"):
            unknown.setdefault(area, pods_unknown)
    if "nodes" in unknown:
        unknown.setdefault("pod_ips", unknown["nodes"])

    pods = raw_pods or []
    agents = tuple(
        sorted(
            (
                parse_agent_pod(p)
                for p in pods
                if (p.get("metadata") or {}).get("namespace") == opts.namespace and _has_labels(p, AGENT_SELECTOR)
            ),
            key=lambda a: (a.node or "", a.name),
        )
    )
    pools = pools_from(cilium_config.data if cilium_config else None, nodes)
    snapshot_probes: tuple[NodeProbe, ...] = ()
    if opts.probe_nodes and raw_nodes is not None:
        snapshot_probes = run_probes(kube, [n.name for n in nodes], opts)
    elif opts.probe_nodes:
        unknown["probes"] = "nodes could not be listed, so none were probed"
    else:
        unknown["probes"] = "not collected (run with --probe-nodes)"

    return Snapshot(
        collected_at=(now or (lambda: datetime.now(UTC)))(),
        source=Source(context=info.context, server=info.server, server_version=info.version, tool_version=__version__),
        cilium_namespace=opts.namespace,
        unknown=dict(sorted(unknown.items())),
        nodes=nodes,
        helm_release=helm_release,
        cilium_config=cilium_config,
        agents=agents,
        crds=tuple(sorted((parse_crd(c) for c in raw_crds or []), key=lambda c: c.name)),
        gateway_classes=tuple(sorted((parse_gateway_class(g) for g in raw_classes or []), key=lambda g: g.name)),
        gateways=tuple(sorted((parse_gateway(g) for g in raw_gateways or []), key=lambda g: (g.namespace, g.name))),
        pod_ips=summarise_pod_ips(pods, pools, {n.name: n.pod_cidrs for n in nodes}),
        services=tuple(sorted((parse_service(s) for s in raw_services or []), key=lambda s: (s.namespace, s.name))),
        vm_workloads=find_vm_workloads(pods, raw_vmis or []),
        kube_proxy=(parse_kube_proxy(raw_daemonsets or [], pods, nodes) if "kube_proxy" not in unknown else None),
        probes=snapshot_probes,
    )


def _list_gateway_api(kube: KubeAPI, res: Resource) -> list[Obj]:
    """Gateway API objects at v1, falling back to v1beta1 for bundles older than v1.0."""
    try:
        return kube.list(res)
    except NotServed:
        return kube.list(Resource(res.group, "v1beta1", res.plural, res.kind, res.namespaced))


def _get_or_none(kube: KubeAPI, res: Resource, name: str, namespace: str) -> Obj | None:
    try:
        return kube.get(res, name, namespace)
    except (NotFound, NotServed):
        return None


def _has_labels(obj: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in wanted.items())


# ---------------------------------------------------------------- node probes


def probe_pod(node: str, name: str, run_id: str, opts: CollectOptions) -> Obj:
    """The manifest of one probe pod: pinned to `node`, host network and PID, privileged, tolerates all."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": opts.namespace,
            "labels": {**MANAGED_BY, PROBE_RUN_LABEL: run_id},
            "annotations": {"cilium-tune.io/probe-node": node},
        },
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "hostPID": True,
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "activeDeadlineSeconds": max(1, int(opts.probe_timeout)),
            "tolerations": [{"operator": "Exists"}],
            "containers": [
                {
                    "name": "probe",
                    "image": opts.probe_image,
                    "command": ["sh", "-c", _ENTRY, "ct-probe", PROBE_SCRIPT],
                    "securityContext": {"privileged": True},
                }
            ],
        },
    }


def run_probes(
    kube: KubeAPI,
    nodes: Sequence[str],
    opts: CollectOptions,
    *,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[NodeProbe, ...]:
    """Probe every node in parallel; always delete the pods, also on error and Ctrl-C."""
    run_id = secrets.token_hex(4)
    names = {node: f"ct-probe-{run_id}-{i}" for i, node in enumerate(nodes)}
    results: dict[str, NodeProbe] = {}
    pool = ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="ct-probe")
    try:
        futures = {
            node: pool.submit(kube.create, PODS, probe_pod(node, name, run_id, opts), opts.namespace)
            for node, name in names.items()
        }
        for node, fut in futures.items():
            try:
                fut.result()
            except ClusterError as exc:
                results[node] = NodeProbe(node=node, ok=False, error=f"probe pod not created: {exc}")

        pending = {n for n in names if n not in results}
        by_name = {v: k for k, v in names.items()}
        deadline = time.monotonic() + opts.probe_timeout
        finished: dict[str, str] = {}
        while pending:
            for pod in kube.list(PODS, opts.namespace, label_selector=f"{PROBE_RUN_LABEL}={run_id}"):
                owner = by_name.get(str((pod.get("metadata") or {}).get("name")))
                phase = str((pod.get("status") or {}).get("phase") or "")
                if owner in pending and phase in ("Succeeded", "Failed"):
                    finished[owner] = phase
                    pending.discard(owner)
            if not pending or time.monotonic() > deadline:
                break
            sleep(poll)
        for node in pending:
            results[node] = NodeProbe(node=node, ok=False, error=f"probe did not finish in {opts.probe_timeout:g}s")

        def read(node: str) -> NodeProbe:
            try:
                text = kube.logs(names[node], opts.namespace)
            except ClusterError as exc:
                return NodeProbe(node=node, ok=False, error=f"cannot read probe logs: {exc}")
            probe = parse_probe_output(node, text)
            if finished[node] == "Failed" and probe.ok:
                return probe.model_copy(update={"ok": False, "error": "probe pod failed"})
            return probe

        for node, probe in zip(finished, pool.map(read, list(finished)), strict=True):
            results[node] = probe
    finally:
        # Let in-flight creates land first, then delete every name: a create that finished after an
        # interrupt still gets cleaned up (deleting a pod that never existed is a no-op).
        pool.shutdown(wait=True, cancel_futures=True)
        with ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="ct-cleanup") as cleaner:
            list(cleaner.map(lambda name: _delete_quietly(kube, name, opts.namespace), names.values()))
    return tuple(results[n] for n in sorted(results))


def _delete_quietly(kube: KubeAPI, name: str, namespace: str) -> None:
    """Deletion is best effort per pod; leftovers carry the managed-by label, so
    `kubectl delete pod -A -l app.kubernetes.io/managed-by=cilium-tune` finds them."""
    with contextlib.suppress(ClusterError):
        kube.delete(PODS, name, namespace)
