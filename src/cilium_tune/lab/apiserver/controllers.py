"""The built-in controllers: Deployment, ReplicaSet, DaemonSet, scheduler, EndpointSlices, pod GC,
auto-ready, and the status of PodDisruptionBudgets (disruption.py).

They react to store events through one deduplicating work queue, drained by an asyncio task on the
server's loop in batches (so a 10,000-pod burst coalesces and HTTP requests keep being served). All
writes go through `Api`, like a client's would. A Deployment's rollout is kept simple: its new
ReplicaSet gets every replica at once and old ones drop to zero. A DaemonSet follows its
`updateStrategy` as the real controller does (see `_daemonset`), since the Cilium agent's rollout is
what cilium-tune must get right. Status is computed from the pods' Ready
condition so that helm 3's and helm 4's `--wait` finish exactly when the pods are Ready.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import ipaddress
import json
import logging
from collections import Counter
from typing import Any

from .api import NODES, PODS, SERVICES, Api
from .defaults import now
from .discovery import ResourceType
from .disruption import BUDGETS, budget_status
from .errors import ApiError
from .scheduling import DAEMON_TOLERATIONS, daemon_eligible, pod_ready, schedulable
from .selectors import match_label_selector
from .store import Event

log = logging.getLogger(__name__)

DEPLOYMENTS, REPLICASETS, DAEMONSETS = "apps/deployments", "apps/replicasets", "apps/daemonsets"
SLICES = "discovery.k8s.io/endpointslices"
REVISION = "deployment.kubernetes.io/revision"
BATCH = 200
Item = tuple[str, ...]


def template_hash(template: dict[str, Any]) -> str:
    """A stable label-safe hash of a pod template (pod-template-hash / controller-revision-hash)."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _owner(obj: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def _owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _condition(kind: str, ok: bool, reason: str, message: str, old: list[dict[str, Any]]) -> dict[str, Any]:
    """A status condition that keeps its lastTransitionTime while its status does not change."""
    status = "True" if ok else "False"
    prev = next((c for c in old if c.get("type") == kind), None)
    since = prev["lastTransitionTime"] if prev and prev.get("status") == status else now()
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": since, "lastUpdateTime": since}


def _revision(pod: dict[str, Any]) -> str | None:
    value = pod["metadata"].get("labels", {}).get("controller-revision-hash")
    return str(value) if value is not None else None


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        pct = int(value[:-1]) * total
        return -(-pct // 100) if round_up else pct // 100
    return int(value or 0)


class Controllers:
    """Reconcilers fed by store events; `run()` is the task that drains the queue."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.store = api.store
        self._queue: dict[Item, None] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[tuple[str, str]] = set()
        self._placement: dict[str, list[dict[str, Any]]] = {}
        self._per_node: Counter[str] = Counter()
        self._ips: set[str] | None = None  # pod IPs in use (auto-ready allocation), built on first use
        self.store.add_listener(self._on_event)

    def _rt(self, group: str, kind: str) -> ResourceType:
        rt = self.api.registry.by_kind(group, kind)
        assert rt is not None, kind
        return rt

    # --- queue ----------------------------------------------------------------------------------------

    def _enqueue(self, item: Item) -> None:
        if item in self._queue:
            return
        self._queue[item] = None
        if self._loop is not None and self._wake is not None and len(self._queue) == 1:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _on_event(self, ev: Event) -> None:
        obj, meta = ev.obj, ev.obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        if ev.resource == DEPLOYMENTS:
            self._enqueue(("deploy", ns, name))
        elif ev.resource == REPLICASETS:
            self._enqueue(("rs", ns, name))
            owner = _owner(obj)
            if owner and owner.get("kind") == "Deployment":
                self._enqueue(("deploy", ns, owner["name"]))
        elif ev.resource == DAEMONSETS:
            self._enqueue(("ds", ns, name))
        elif ev.resource == PODS:
            self._on_pod(ev, ns, name)
        elif ev.resource == SERVICES:
            self._enqueue(("eps", ns, name))
        elif ev.resource == BUDGETS and ev.type != "DELETED":
            self._enqueue(("pdb", ns, name))
        elif ev.resource == NODES:
            self._placement.clear()
            self._enqueue(("nodes",))
            if ev.type == "DELETED":
                self._enqueue(("node-gone", name))

    def _on_pod(self, ev: Event, ns: str, name: str) -> None:
        obj = ev.obj
        old_node = (ev.old or {}).get("spec", {}).get("nodeName")
        new_node = obj.get("spec", {}).get("nodeName") if ev.type != "DELETED" else None
        if old_node != new_node:
            if old_node:
                self._per_node[old_node] -= 1
            if new_node:
                self._per_node[new_node] += 1
        if ev.type == "DELETED" and self._ips is not None:
            for ip in obj.get("status", {}).get("podIPs") or []:
                self._ips.discard(ip.get("ip"))
        if ev.type == "DELETED" or new_node:
            self._pending.discard((ns, name))
        elif not obj["metadata"].get("deletionTimestamp"):
            self._pending.add((ns, name))
        owner = _owner(obj)
        if owner and owner.get("kind") == "ReplicaSet":
            self._enqueue(("rs", ns, owner["name"]))
        elif owner and owner.get("kind") == "DaemonSet":
            self._enqueue(("ds", ns, owner["name"]))
        if ev.type != "DELETED":
            self._enqueue(("pod", ns, name))
        labels = [obj["metadata"].get("labels") or {}, ((ev.old or {}).get("metadata") or {}).get("labels") or {}]
        for svc in self.store.objects(SERVICES, ns):
            selector = svc.get("spec", {}).get("selector")
            if selector and any(all(lb.get(k) == v for k, v in selector.items()) for lb in labels):
                self._enqueue(("eps", ns, svc["metadata"]["name"]))
        for budget in self.store.objects(BUDGETS, ns):
            selector = (budget.get("spec") or {}).get("selector")
            if selector is not None and any(match_label_selector(selector, lb) for lb in labels):
                self._enqueue(("pdb", ns, budget["metadata"]["name"]))

    async def run(self) -> None:
        """Drain the work queue forever (cancelled when the server stops)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self._queue:
            self._wake.set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                with self.store.lock:
                    batch = list(self._queue)[:BATCH]
                    for item in batch:
                        del self._queue[item]
                        try:
                            self.reconcile(item)
                        except ApiError as exc:
                            log.debug("reconcile %s: %s", item, exc.message)
                        except Exception:
                            log.exception("reconcile %s failed", item)
                await asyncio.sleep(0)

    def resync(self) -> None:
        """Queue every workload, service and pod (after a snapshot load)."""
        for dep in self.store.objects(DEPLOYMENTS):
            self._enqueue(("deploy", dep["metadata"]["namespace"], dep["metadata"]["name"]))
        for svc in self.store.objects(SERVICES):
            self._enqueue(("eps", svc["metadata"]["namespace"], svc["metadata"]["name"]))
        for pod in self.store.objects(PODS):
            node = pod.get("spec", {}).get("nodeName")
            if node:
                self._per_node[node] += 1
            elif not pod["metadata"].get("deletionTimestamp"):
                self._pending.add((pod["metadata"]["namespace"], pod["metadata"]["name"]))
        self._enqueue(("nodes",))

    def reconcile(self, item: Item) -> None:
        kind = item[0]
        if kind == "deploy":
            self._deployment(item[1], item[2])
        elif kind == "rs":
            self._replicaset(item[1], item[2])
        elif kind == "ds":
            self._daemonset(item[1], item[2])
        elif kind == "pod":
            self._pod(item[1], item[2])
        elif kind == "eps":
            self._endpoint_slices(item[1], item[2])
        elif kind == "pdb":
            budget = self.store.get(BUDGETS, item[1], item[2])
            if budget is not None:
                self._set_status("policy", budget, budget_status(self.api, budget))
        elif kind == "node-gone":
            self._orphaned_pods(item[1])
        elif kind == "nodes":
            for ds in self.store.objects(DAEMONSETS):
                self._enqueue(("ds", ds["metadata"]["namespace"], ds["metadata"]["name"]))
            for ns, name in sorted(self._pending):
                self._enqueue(("pod", ns, name))
            if self.api.auto_ready:
                for pod in self.store.objects(PODS):
                    if pod["status"].get("phase") == "Pending" and pod["spec"].get("nodeName"):
                        self._enqueue(("pod", pod["metadata"]["namespace"], pod["metadata"]["name"]))

    def _orphaned_pods(self, node: str) -> None:
        """Pod garbage collection: pods bound to a deleted Node are removed at once."""
        if self.store.get(NODES, "", node) is not None:
            return
        pod_rt = self._rt("", "Pod")
        for pod in self.store.objects(PODS):
            if pod["spec"].get("nodeName") == node:
                self.api.delete(pod_rt, pod["metadata"]["namespace"], pod["metadata"]["name"],
                                {"gracePeriodSeconds": 0})

    def _owned(self, owner: dict[str, Any], resource: str) -> list[dict[str, Any]]:
        out = []
        for res, ns, name in self.store.dependents(owner["metadata"]["uid"]):
            obj = self.store.get(res, ns, name) if res == resource else None
            if obj is not None and (_owner(obj) or {}).get("uid") == owner["metadata"]["uid"]:
                out.append(obj)
        return out

    def _set_status(self, group: str, obj: dict[str, Any], status: dict[str, Any]) -> None:
        if obj.get("status") == status:
            return
        new = {**obj, "status": status}
        self.api.update(self._rt(group, obj["kind"]), obj["metadata"].get("namespace", ""),
                        obj["metadata"]["name"], new, sub="status")

    # --- Deployment -> ReplicaSet -----------------------------------------------------------------------

    def _deployment(self, ns: str, name: str) -> None:
        dep = self.store.get(DEPLOYMENTS, ns, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        spec = dep["spec"]
        desired = int(spec.get("replicas", 1))
        h = template_hash(spec["template"])
        rses = self._owned(dep, REPLICASETS)
        new_rs = next((r for r in rses if r["metadata"].get("labels", {}).get("pod-template-hash") == h), None)
        revisions = [int(r["metadata"].get("annotations", {}).get(REVISION, "0")) for r in rses]
        rs_rt = self._rt("apps", "ReplicaSet")
        if new_rs is None:
            revision = str(max(revisions, default=0) + 1)
            template = copy.deepcopy(spec["template"])
            template["metadata"].setdefault("labels", {})["pod-template-hash"] = h
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = h
            body = {"metadata": {"name": f"{name}-{h}", "namespace": ns, "labels": template["metadata"]["labels"],
                                 "annotations": {REVISION: revision,
                                                 "deployment.kubernetes.io/desired-replicas": str(desired)},
                                 "ownerReferences": [_owner_ref(dep)]},
                    "spec": {"replicas": desired, "selector": selector, "template": template,
                             "minReadySeconds": spec.get("minReadySeconds", 0)}}
            new_rs = self.api.create(rs_rt, ns, body)
            rses.append(new_rs)
        else:
            top = max(revisions, default=0)
            current = int(new_rs["metadata"].get("annotations", {}).get(REVISION, "0"))
            if new_rs["spec"].get("replicas") != desired or (current < top and new_rs["spec"].get("replicas") == 0):
                # a rollback to an old template re-uses its ReplicaSet, which becomes the newest revision
                annotations = {**new_rs["metadata"].get("annotations", {}),
                               REVISION: str(top + 1 if current < top else current)}
                new_rs = self.api.update(rs_rt, ns, new_rs["metadata"]["name"], {
                    **new_rs, "metadata": {**new_rs["metadata"], "annotations": annotations},
                    "spec": {**new_rs["spec"], "replicas": desired}})
        for rs in rses:
            if rs is not new_rs and rs["metadata"]["name"] != new_rs["metadata"]["name"] \
                    and rs["spec"].get("replicas", 0) != 0:
                self.api.update(rs_rt, ns, rs["metadata"]["name"], {**rs, "spec": {**rs["spec"], "replicas": 0}})
        revision = new_rs["metadata"].get("annotations", {}).get(REVISION, "1")
        if dep["metadata"].get("annotations", {}).get(REVISION) != revision:
            meta = {**dep["metadata"], "annotations": {**dep["metadata"].get("annotations", {}), REVISION: revision}}
            dep = self.api.update(self._rt("apps", "Deployment"), ns, name, {**dep, "metadata": meta})
        self._deployment_status(dep, new_rs, rses)

    def _deployment_status(self, dep: dict[str, Any], new_rs: dict[str, Any], rses: list[dict[str, Any]]) -> None:
        desired = int(dep["spec"].get("replicas", 1))
        current = [self.store.get(REPLICASETS, r["metadata"]["namespace"], r["metadata"]["name"]) or r for r in rses]
        new_now = next(r for r in current if r["metadata"]["name"] == new_rs["metadata"]["name"])

        def total(field: str) -> int:
            return sum(int(r.get("status", {}).get(field, 0)) for r in current)

        replicas, ready, available = total("replicas"), total("readyReplicas"), total("availableReplicas")
        updated = int(new_now.get("status", {}).get("replicas", 0))
        strategy = dep["spec"].get("strategy", {})
        max_unavailable = _scaled(strategy.get("rollingUpdate", {}).get("maxUnavailable", 0), desired, False) \
            if strategy.get("type") == "RollingUpdate" else 0
        old = dep.get("status", {}).get("conditions") or []
        complete = updated == desired == replicas and int(new_now.get("status", {}).get("availableReplicas", 0)) \
            == desired
        rs_name = new_rs["metadata"]["name"]
        conditions = [
            _condition("Available", available >= desired - max_unavailable,
                       "MinimumReplicasAvailable" if available >= desired - max_unavailable
                       else "MinimumReplicasUnavailable", "Deployment has minimum availability.", old),
            _condition("Progressing", True, "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                       f'ReplicaSet "{rs_name}" has successfully progressed.' if complete
                       else f'ReplicaSet "{rs_name}" is progressing.', old),
        ]
        status: dict[str, Any] = {"observedGeneration": dep["metadata"]["generation"], "replicas": replicas,
                                  "updatedReplicas": updated, "readyReplicas": ready,
                                  "availableReplicas": available,
                                  "unavailableReplicas": max(desired - available, 0), "conditions": conditions}
        self._set_status("apps", dep, {k: v for k, v in status.items() if v != 0 or k in (
            "observedGeneration", "replicas")})

    # --- ReplicaSet -> Pods -----------------------------------------------------------------------------

    def _new_pod(self, owner: dict[str, Any], template: dict[str, Any], extra_labels: dict[str, str],
                 node: str | None = None) -> dict[str, Any]:
        meta = template.get("metadata", {})
        spec = copy.deepcopy(template.get("spec", {}))
        if node is not None:
            spec["nodeName"] = node
            spec["tolerations"] = [*(spec.get("tolerations") or []),
                                   *(t for t in DAEMON_TOLERATIONS if t not in (spec.get("tolerations") or []))]
        body = {"metadata": {"generateName": owner["metadata"]["name"] + "-",
                             "labels": {**(meta.get("labels") or {}), **extra_labels},
                             "annotations": dict(meta.get("annotations") or {}),
                             "ownerReferences": [_owner_ref(owner)]},
                "spec": spec}
        ns = owner["metadata"]["namespace"]
        return self.api.create(self._rt("", "Pod"), ns, body)

    def _replicaset(self, ns: str, name: str) -> None:
        rs = self.store.get(REPLICASETS, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        pods = self._owned(rs, PODS)
        active = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        desired = int(rs["spec"].get("replicas", 1))
        pod_rt = self._rt("", "Pod")
        for _ in range(desired - len(active)):
            active.append(self._new_pod(rs, rs["spec"]["template"], {}))
        if len(active) > desired:
            active.sort(key=lambda p: (pod_ready(p), bool(p["spec"].get("nodeName")),
                                       p["metadata"]["creationTimestamp"]))
            for pod in active[:len(active) - desired]:
                self.api.delete(pod_rt, ns, pod["metadata"]["name"])
            active = active[len(active) - desired:]
        ready = sum(1 for p in active if pod_ready(p))
        status: dict[str, Any] = {"replicas": len(active), "fullyLabeledReplicas": len(active),
                                  "readyReplicas": ready, "availableReplicas": ready,
                                  "observedGeneration": rs["metadata"]["generation"]}
        self._set_status("apps", rs, {k: v for k, v in status.items() if v != 0 or k in (
            "replicas", "observedGeneration")})

    # --- DaemonSet -> one Pod per eligible Node --------------------------------------------------------

    def _daemonset(self, ns: str, name: str) -> None:
        """One pod per eligible node; template changes roll out by the strategy, as the real controller does.

        `RollingUpdate` (maxSurge 0): an old pod that is not Ready is replaced at once; Ready old pods
        are deleted only while fewer than `maxUnavailable` nodes are unavailable (no pod, a terminating
        pod, or a new pod not yet Ready), so with `maxUnavailable: 2` on three nodes two agents restart,
        then the third once both are Ready. `OnDelete`: nothing is replaced; a pod that is deleted
        comes back with the current template. One difference, on purpose: the replacement is created
        when the old pod is gone, not while it terminates, since the lab runs a node's agents in the
        same namespace and two at once would fight over the node.
        """
        ds = self.store.get(DAEMONSETS, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        template = ds["spec"]["template"]
        h = template_hash(template)
        pod_rt = self._rt("", "Pod")
        eligible = {n["metadata"]["name"] for n in self.store.objects(NODES)
                    if daemon_eligible(template.get("spec", {}), n)}
        by_node: dict[str, list[dict[str, Any]]] = {}
        for pod in sorted(self._owned(ds, PODS), key=lambda p: p["metadata"]["creationTimestamp"]):
            by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod)

        def live(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [p for p in pods if not p["metadata"].get("deletionTimestamp")]

        for node, pods in by_node.items():  # pods on nodes that no longer qualify, and duplicates
            active = live(pods)
            for pod in active if node not in eligible else active[1:]:
                self.api.delete(pod_rt, ns, pod["metadata"]["name"])
        for node in sorted(eligible - by_node.keys()):
            by_node[node] = [self._new_pod(ds, template, {
                "controller-revision-hash": h, "pod-template-generation": str(ds["metadata"]["generation"])}, node)]
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            budget = _scaled((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1), len(eligible), True)
            for pod in self._rolling_update_victims({n: live(by_node[n]) for n in sorted(eligible)}, h, budget):
                self.api.delete(pod_rt, ns, pod["metadata"]["name"])
        self._daemonset_status(ds, h, eligible, by_node)

    @staticmethod
    def _rolling_update_victims(pods_by_node: dict[str, list[dict[str, Any]]], h: str,
                                budget: int) -> list[dict[str, Any]]:
        """Old pods to delete now: every unready one, and Ready ones while the unavailable budget lasts."""
        unavailable = 0
        unready_old: list[dict[str, Any]] = []
        candidates: list[dict[str, Any]] = []
        for pods in pods_by_node.values():
            new = next((p for p in pods if _revision(p) == h), None)
            old = next((p for p in pods if _revision(p) != h), None)
            if new is None and old is None:
                unavailable += 1  # nothing running (or only a terminating pod): counts against the budget
            elif new is not None:
                unavailable += not pod_ready(new)
            elif old is not None and not pod_ready(old):
                unready_old.append(old)
            elif old is not None:
                candidates.append(old)
        return unready_old + candidates[:max(budget - unavailable, 0)]

    def _daemonset_status(self, ds: dict[str, Any], h: str, eligible: set[str],
                          by_node: dict[str, list[dict[str, Any]]]) -> None:
        """The status fields `kubectl rollout status` and helm's waiters read, counted per node from its
        oldest pod (terminating ones included), as the real controller counts them."""
        current = updated = ready = misscheduled = 0
        for node, pods in by_node.items():
            if node not in eligible:
                misscheduled += bool(pods)
                continue
            if not pods:
                continue
            current += 1
            ready += pod_ready(pods[0])
            updated += _revision(pods[0]) == h
        desired = len(eligible)
        status: dict[str, Any] = {
            "currentNumberScheduled": current, "desiredNumberScheduled": desired,
            "numberMisscheduled": misscheduled, "numberReady": ready, "updatedNumberScheduled": updated,
            "numberAvailable": ready, "numberUnavailable": desired - ready,
            "observedGeneration": ds["metadata"]["generation"]}
        self._set_status("apps", ds, {k: v for k, v in status.items() if v != 0 or k in (
            "currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady",
            "observedGeneration")})

    # --- scheduler and auto-ready -----------------------------------------------------------------------

    def _pod(self, ns: str, name: str) -> None:
        pod = self.store.get(PODS, ns, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        pod_rt = self._rt("", "Pod")
        spec = pod["spec"]
        if not spec.get("nodeName"):
            if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                return
            nodes = self._candidates(spec)
            conds = [c for c in pod["status"].get("conditions") or [] if c.get("type") != "PodScheduled"]
            if not nodes:
                msg = f"0/{len(self.store.objects(NODES))} nodes are available: no schedulable Ready node matches."
                cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg,
                        "lastTransitionTime": now()}
                old = next((c for c in pod["status"].get("conditions") or [] if c.get("type") == "PodScheduled"),
                           None)
                if old is None or old.get("message") != msg:
                    self._set_status("", pod, {**pod["status"], "conditions": [*conds, cond]})
                return
            node = min(nodes, key=lambda n: (self._per_node[n["metadata"]["name"]], n["metadata"]["name"]))
            pod = self.api.update(pod_rt, ns, name, {**pod, "spec": {**spec, "nodeName": node["metadata"]["name"]}})
            cond = {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}
            self._set_status("", pod, {**pod["status"], "conditions": [*conds, cond]})
            pod = self.store.get(PODS, ns, name) or pod
        if self.api.auto_ready and pod["status"].get("phase") == "Pending":
            self._mark_running(pod)

    def _candidates(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """Nodes this pod spec may be bound to; cached per placement constraints until a Node changes."""
        key = json.dumps([spec.get(k) for k in ("nodeSelector", "affinity", "tolerations")], sort_keys=True)
        if key not in self._placement:
            self._placement[key] = [n for n in self.store.objects(NODES) if schedulable(spec, n)]
        return self._placement[key]

    def _mark_running(self, pod: dict[str, Any]) -> None:
        """What a kubelet would report once the containers run (only with --auto-ready)."""
        node = self.store.get(NODES, "", pod["spec"]["nodeName"])
        if node is None:
            return
        ips = self._pod_ips(pod, node)
        t = now()
        conds = [{"type": k, "status": "True", "lastTransitionTime": t}
                 for k in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
        status: dict[str, Any] = {
            "phase": "Running", "conditions": conds, "startTime": t, "qosClass": "BestEffort",
            "hostIP": ips[1][0] if ips[1] else "", "hostIPs": [{"ip": ip} for ip in ips[1]],
            "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True,
                                   "started": True, "restartCount": 0, "state": {"running": {"startedAt": t}}}
                                  for c in pod["spec"].get("containers") or []]}
        if ips[0]:
            status.update(podIP=ips[0][0], podIPs=[{"ip": ip} for ip in ips[0]])
        self._set_status("", pod, status)

    def _pod_ips(self, pod: dict[str, Any], node: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(pod IPs, host IPs): host network pods share the node's; others take the next free in podCIDRs."""
        host = [a["address"] for a in node.get("status", {}).get("addresses") or [] if a.get("type") == "InternalIP"]
        if pod["spec"].get("hostNetwork"):
            return host, host
        out = []
        nspec = node.get("spec", {})
        for cidr in nspec.get("podCIDRs") or ([nspec["podCIDR"]] if nspec.get("podCIDR") else []):
            if self._ips is None:
                self._ips = {ip["ip"] for p in self.store.objects(PODS)
                             for ip in p.get("status", {}).get("podIPs") or []}
            used = self._ips
            net = ipaddress.ip_network(cidr)
            for offset in range(10, min(net.num_addresses - 1, 65536)):
                ip = str(net.network_address + offset)
                if ip not in used:
                    used.add(ip)
                    out.append(ip)
                    break
        return out, host

    # --- Service -> EndpointSlices -------------------------------------------------------------------

    def _endpoint_slices(self, ns: str, name: str) -> None:
        slice_rt = self._rt("discovery.k8s.io", "EndpointSlice")
        svc = self.store.get(SERVICES, ns, name)
        existing = {s["metadata"]["name"]: s for s in self.store.objects(SLICES, ns)
                    if s["metadata"].get("labels", {}).get("kubernetes.io/service-name") == name}
        if svc is not None and not svc["spec"].get("selector"):
            return
        wanted: dict[str, dict[str, Any]] = {}
        if svc is not None:
            selector = svc["spec"]["selector"]
            pods = [p for p in self.store.objects(PODS, ns)
                    if match_label_selector({"matchLabels": selector}, p["metadata"].get("labels") or {})
                    and p["status"].get("phase") not in ("Succeeded", "Failed")]
            for family in svc["spec"].get("ipFamilies") or ["IPv4"]:
                version = 4 if family == "IPv4" else 6
                wanted[f"{name}-{family.lower()}"] = self._slice(svc, family, version, pods)
        for sname, body in wanted.items():
            old = existing.pop(sname, None)
            if old is None:
                self.api.create(slice_rt, ns, body)
            elif any(old.get(k) != body.get(k) for k in ("endpoints", "ports", "addressType")) or \
                    old["metadata"].get("labels") != body["metadata"]["labels"]:
                self.api.update(slice_rt, ns, sname, {**old, **{k: body[k] for k in ("endpoints", "ports")},
                                                      "metadata": {**old["metadata"],
                                                                   "labels": body["metadata"]["labels"]}})
        for sname, old in existing.items():
            if old["metadata"].get("labels", {}).get("endpointslice.kubernetes.io/managed-by", "").startswith(
                    "endpointslice-controller"):
                self.api.delete(slice_rt, ns, sname)

    def _slice(self, svc: dict[str, Any], family: str, version: int, pods: list[dict[str, Any]]) -> dict[str, Any]:
        endpoints = []
        for pod in pods:
            addrs = [ip["ip"] for ip in pod["status"].get("podIPs") or []
                     if ipaddress.ip_address(ip["ip"]).version == version]
            if not addrs:
                continue
            ready = pod_ready(pod)
            terminating = bool(pod["metadata"].get("deletionTimestamp"))
            ep: dict[str, Any] = {"addresses": addrs[:1],
                                  "conditions": {"ready": ready and not terminating, "serving": ready,
                                                 "terminating": terminating},
                                  "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"],
                                                "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}
            if pod["spec"].get("nodeName"):
                ep["nodeName"] = pod["spec"]["nodeName"]
            endpoints.append(ep)
        endpoints.sort(key=lambda e: e["addresses"][0])
        ports = []
        for port in svc["spec"].get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if isinstance(target, str) and not target.isdigit():
                target = next((cp.get("containerPort") for p in pods for c in p["spec"].get("containers") or []
                               for cp in c.get("ports") or [] if cp.get("name") == target), None)
            if target is not None:
                ports.append({"name": port.get("name", ""), "port": int(target),
                              "protocol": port.get("protocol", "TCP")})
        name = svc["metadata"]["name"]
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": f"{name}-{family.lower()}", "namespace": svc["metadata"]["namespace"],
                             "labels": {"kubernetes.io/service-name": name,
                                        "endpointslice.kubernetes.io/managed-by":
                                            "endpointslice-controller.k8s.io"},
                             "ownerReferences": [_owner_ref(svc)]},
                "addressType": family, "endpoints": endpoints, "ports": ports}
