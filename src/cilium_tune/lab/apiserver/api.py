"""The object semantics of the API: create, update, patch, delete with Kubernetes' bookkeeping.

Routes (HTTP) and the built-in controllers both call this layer, so every write gets the same uid,
resourceVersion, generation, timestamps, defaults, Service addresses and CRD registration.

Deletion, kept simple on purpose:
- an object with finalizers gets `deletionTimestamp` and stays until an update removes the last one;
- a Pod bound to an existing node gets `deletionTimestamp` (now + grace) and stays until the kubelet
  deletes it with `gracePeriodSeconds=0`; with `auto_ready` (no kubelet) or grace 0 it goes at once;
- dependents (ownerReferences) are deleted in the background, or orphaned with `propagationPolicy=Orphan`;
- a Namespace is removed at once together with every object in it.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import uuid
from pathlib import Path
from typing import Any

import yaml

from . import errors, managed, patch
from .crds import crd_status, crd_types
from .defaults import apply_defaults, now, random_suffix, validate_name, validate_update_strategy
from .discovery import Registry, ResourceType
from .podspec import validate_pod_specs
from .services import ServiceAllocator
from .store import Store

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"
NODES = "/nodes"
PODS = "/pods"
SERVICES = "/services"
NAMESPACES = "/namespaces"
_RESET_STATUS = {"Pod", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CustomResourceDefinition"}
_TOP = ("apiVersion", "kind", "metadata", "status")


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    """What counts for metadata.generation: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in _TOP}


class Api:
    """Object semantics over a Store; thread-safe through the store's lock."""

    def __init__(self, store: Store, registry: Registry, services: ServiceAllocator, *,
                 auto_ready: bool = False, state_dir: Path | None = None) -> None:
        self.store = store
        self.registry = registry
        self.services = services
        self.auto_ready = auto_ready
        self.state_dir = state_dir

    # --- reads ----------------------------------------------------------------------------------------

    def get(self, rt: ResourceType, ns: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.key, ns if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.plural, name, rt.group)
        return obj

    def _check_namespace(self, ns: str) -> None:
        nsobj = self.store.get(NAMESPACES, "", ns)
        if nsobj is None:
            raise errors.not_found("namespaces", ns)
        if nsobj["metadata"].get("deletionTimestamp"):
            raise errors.ApiError(403, "Forbidden", f"unable to create new content in namespace {ns} because "
                                  "it is being terminated")

    # --- writes ---------------------------------------------------------------------------------------

    def _typed(self, rt: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        obj = copy.deepcopy(body)
        if obj.get("kind") not in (None, rt.kind) or obj.get("apiVersion") not in (None, rt.group_version):
            raise errors.bad_request(f"the API version in the data ({obj.get('apiVersion')}) and kind "
                                     f"({obj.get('kind')}) do not match {rt.group_version} {rt.kind}")
        obj["apiVersion"], obj["kind"] = rt.group_version, rt.kind
        if not isinstance(obj.setdefault("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")
        return obj

    def create(self, rt: ResourceType, ns: str, body: Any, *, dry_run: bool = False, manager: str | None = None,
               applied: bool = False) -> dict[str, Any]:
        """Create; `manager` (an HTTP request's field manager) is recorded as an updater, or as the
        applier of `body` when `applied` (server-side apply of a missing object)."""
        with self.store.lock:
            obj = self._typed(rt, body)
            config = copy.deepcopy(obj) if applied else None
            meta = obj["metadata"]
            if rt.namespaced:
                if meta.get("namespace") not in (None, "", ns):
                    raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                             "sent on the request")
                meta["namespace"] = ns
                self._check_namespace(ns)
            else:
                meta.pop("namespace", None)
            if not meta.get("name") and meta.get("generateName"):
                for _ in range(100):
                    meta["name"] = meta["generateName"] + random_suffix()
                    if self.store.get(rt.key, ns if rt.namespaced else "", meta["name"]) is None:
                        break
            validate_name(rt.kind, meta.get("name", ""))
            if self.store.get(rt.key, meta.get("namespace", ""), meta["name"]) is not None:
                raise errors.already_exists(rt.plural, meta["name"], rt.group)
            for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
                        "managedFields"):
                meta.pop(key, None)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            if rt.kind in _RESET_STATUS:
                obj["status"] = {}
            validate_pod_specs(rt.kind, obj, rt.group)
            self._admit(rt, obj, None)
            if manager is not None:
                managed.record_create(obj, manager, rt.group_version, now(), applied=config)
            if dry_run:
                if rt.key == SERVICES:
                    self.services.release(obj)
                return obj
            return self.store.put(rt.key, obj)

    def update(self, rt: ResourceType, ns: str, name: str, body: Any, *, sub: str | None = None,
               dry_run: bool = False, manager: str | None = None) -> dict[str, Any]:
        """Replace (PUT, or what a patch produced). `manager` (an HTTP request's field manager) is
        recorded as the updater of what changed; without one (controllers, apply) the body's
        managedFields stand, or the stored ones when it has none."""
        with self.store.lock:
            ns = ns if rt.namespaced else ""
            old = self.get(rt, ns, name)
            obj = self._typed(rt, body)
            meta = obj["metadata"]
            fields = meta.get("managedFields") if manager is None else None
            if fields is None:
                fields = old["metadata"].get("managedFields")
            if meta.get("name", name) != name:
                raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name "
                                         f"on the URL ({name})")
            rv = meta.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, name, "the object has been modified; please apply your changes "
                                      "to the latest version and try again", rt.group)
            if sub == "status":
                obj = {**old, "status": obj.get("status", {})}
                obj["metadata"] = dict(old["metadata"])
                meta = obj["metadata"]
            else:
                if "status" in rt.subresources:
                    if "status" in old:
                        obj["status"] = old["status"]
                    else:
                        obj.pop("status", None)
                omd = old["metadata"]
                meta.update(name=name, uid=omd["uid"], creationTimestamp=omd["creationTimestamp"],
                            generation=omd.get("generation", 1))
                if rt.namespaced:
                    meta["namespace"] = ns
                else:
                    meta.pop("namespace", None)
                for key in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                    if key in omd:
                        meta[key] = omd[key]
                    else:
                        meta.pop(key, None)
                validate_pod_specs(rt.kind, obj, rt.group)
                apply_defaults(rt.kind, obj)
                if _spec_part(obj) != _spec_part(old):
                    meta["generation"] = omd.get("generation", 1) + 1
                self._admit(rt, obj, old)
            meta["managedFields"] = fields
            if manager is not None:
                managed.record_update(old, obj, manager, rt.group_version, sub or "", now())
            if not meta.get("managedFields"):
                meta.pop("managedFields", None)
            if dry_run:
                return obj
            if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers") \
                    and rt.key != PODS:
                return self._remove(rt, obj, "Background")
            return self.store.put(rt.key, obj)

    def patch(self, rt: ResourceType, ns: str, name: str, content_type: str, body: bytes, *,
              sub: str | None = None, manager: str = "", force: bool = False,
              dry_run: bool = False) -> tuple[dict[str, Any], bool]:
        """Apply a PATCH by field manager `manager`; returns (object, created).

        Server-side apply needs a manager, creates a missing object, and is refused with 409 where it
        would change fields other managers own, unless `force` (managed.py)."""
        ctype = content_type.split(";")[0].strip()
        try:
            doc = yaml.safe_load(body) if ctype == APPLY else json.loads(body or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"the patch body is not valid {ctype}: {exc}") from exc
        with self.store.lock:
            ns = ns if rt.namespaced else ""
            old = self.store.get(rt.key, ns, name)
            if old is not None and old.get("apiVersion") != rt.group_version:
                old = {**old, "apiVersion": rt.group_version}  # stored through another served version
            if ctype == APPLY:
                if not isinstance(doc, dict):
                    raise errors.bad_request("an apply patch must be an object")
                if not manager:
                    raise errors.ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                          "Required value: is required for apply patch")
                doc = self._typed(rt, doc)
                doc["metadata"].setdefault("name", name)
                if doc["metadata"].get("managedFields") is not None:
                    raise errors.bad_request("metadata.managedFields must be nil")
                if old is None:
                    if sub:
                        raise errors.not_found(rt.plural, name, rt.group)
                    return self.create(rt, ns, doc, dry_run=dry_run, manager=manager, applied=True), True
                new = managed.apply(old, doc, manager, rt.group_version, sub or "", now(), force=force)
                manager = ""
            elif old is None:
                raise errors.not_found(rt.plural, name, rt.group)
            elif ctype == MERGE:
                new = patch.merge_patch(old, doc)
            elif ctype == STRATEGIC:
                new = patch.strategic_merge(old, doc)
            elif ctype == JSON_PATCH:
                new = patch.json_patch(old, doc)
            else:
                raise errors.unsupported_media(content_type)
            if not isinstance(new, dict):
                raise errors.bad_request("the patch did not produce an object")
            new.setdefault("metadata", {})
            if new["metadata"].get("resourceVersion") == old["metadata"].get("resourceVersion"):
                new["metadata"].pop("resourceVersion", None)
            return self.update(rt, ns, name, new, sub=sub, dry_run=dry_run, manager=manager or None), False

    def delete(self, rt: ResourceType, ns: str, name: str, options: dict[str, Any] | None = None, *,
               dry_run: bool = False) -> dict[str, Any]:
        opts = options or {}
        with self.store.lock:
            ns = ns if rt.namespaced else ""
            old = self.get(rt, ns, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise errors.conflict(rt.plural, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                      f"UID in object meta: {old['metadata']['uid']}", rt.group)
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, name, "Precondition failed: resourceVersion", rt.group)
            if dry_run:
                return old
            policy = opts.get("propagationPolicy") or ("Orphan" if opts.get("orphanDependents") else "Background")
            grace = opts.get("gracePeriodSeconds")
            if old["metadata"].get("finalizers"):
                if old["metadata"].get("deletionTimestamp"):
                    return old
                obj = copy.deepcopy(old)
                obj["metadata"]["deletionTimestamp"] = now()
                obj["metadata"]["deletionGracePeriodSeconds"] = 0
                return self.store.put(rt.key, obj)
            if rt.key == PODS and self._graceful(old, grace):
                if old["metadata"].get("deletionTimestamp"):
                    return old
                seconds = int(grace if grace is not None else old["spec"].get("terminationGracePeriodSeconds", 30))
                obj = copy.deepcopy(old)
                obj["metadata"]["deletionTimestamp"] = now(seconds)
                obj["metadata"]["deletionGracePeriodSeconds"] = seconds
                return self.store.put(rt.key, obj)
            return self._remove(rt, old, policy)

    def _graceful(self, pod: dict[str, Any], grace: Any) -> bool:
        """Whether a kubelet must finish this pod's deletion (see the module docstring)."""
        if self.auto_ready or grace == 0:
            return False
        node = pod.get("spec", {}).get("nodeName")
        if not node or self.store.get(NODES, "", node) is None:
            return False
        return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")

    def _remove(self, rt: ResourceType, old: dict[str, Any], policy: str) -> dict[str, Any]:
        meta = old["metadata"]
        gone = self.store.remove(rt.key, meta.get("namespace", ""), meta["name"]) or old
        if rt.key == SERVICES:
            self.services.release(old)
        elif rt.key == CRD_KEY:
            self._drop_crd(old)
        elif rt.key == NAMESPACES:
            self._empty_namespace(meta["name"])
        for res, dns, dname in self.store.dependents(meta["uid"]):
            dep = self.store.get(res, dns, dname)
            drt = self._rt_for(res, dep)
            if dep is None or drt is None:
                continue
            if policy == "Orphan":
                orphan = copy.deepcopy(dep)
                orphan["metadata"]["ownerReferences"] = [
                    r for r in dep["metadata"].get("ownerReferences", []) if r.get("uid") != meta["uid"]]
                self.store.put(res, orphan)
            else:
                self.delete(drt, dns, dname, {"propagationPolicy": policy})
        return gone

    def _rt_for(self, resource: str, obj: dict[str, Any] | None) -> ResourceType | None:
        if obj is None:
            return None
        group = resource.split("/", 1)[0]
        return self.registry.by_kind(group, obj.get("kind", ""))

    def _empty_namespace(self, ns: str) -> None:
        for resource in self.store.resources():
            for obj in self.store.objects(resource, ns):
                if not obj["metadata"].get("namespace"):
                    continue
                self.store.remove(resource, ns, obj["metadata"]["name"])
                if resource == SERVICES:
                    self.services.release(obj)

    # --- admission ------------------------------------------------------------------------------------

    def _admit(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Defaults, Service addresses, CRD types: what the real server's admission chain would do."""
        apply_defaults(rt.kind, obj)
        if rt.key == SERVICES:
            self.services.assign(obj, old)
        elif rt.key == CRD_KEY:
            self._register_crd(obj, old)
        elif rt.key == PODS and old is None:
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif rt.key == NODES:
            self._admit_node(obj)
        elif rt.kind == "DaemonSet" and rt.group == "apps":
            validate_update_strategy(obj)

    def _admit_node(self, node: dict[str, Any]) -> None:
        spec = node.get("spec") or {}
        for field, cidrs in (("spec.podCIDR", [spec.get("podCIDR")]), ("spec.podCIDRs", spec.get("podCIDRs") or [])):
            for cidr in cidrs:
                try:
                    if cidr is not None:
                        ipaddress.ip_network(cidr, strict=True)
                except (ValueError, TypeError):
                    raise errors.invalid("Node", node["metadata"]["name"],
                                         [(field, f'Invalid value: "{cidr}": must be a CIDR such as 198.19.1.0/24')]
                                         ) from None
        if self.auto_ready:
            conds = node.setdefault("status", {}).setdefault("conditions", [])
            if not any(c.get("type") == "Ready" for c in conds):
                conds.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                              "message": "auto-ready (lab API without kubelet)", "lastHeartbeatTime": now(),
                              "lastTransitionTime": now()})

    def _register_crd(self, crd: dict[str, Any], old: dict[str, Any] | None) -> None:
        types = crd_types(crd)
        if not types or not all(t.plural and t.kind and t.group for t in types):
            raise errors.invalid("CustomResourceDefinition", crd["metadata"].get("name", ""),
                                 [("spec", "group, names.plural, names.kind and a served version are required")],
                                 "apiextensions.k8s.io")
        expected = f"{types[0].plural}.{types[0].group}"
        if crd["metadata"].get("name") != expected:
            raise errors.invalid("CustomResourceDefinition", crd["metadata"].get("name", ""),
                                 [("metadata.name", f"must be spec.names.plural+\".\"+spec.group: {expected!r}")],
                                 "apiextensions.k8s.io")
        if old is not None:
            for t in crd_types(old):
                self.registry.remove_group_plural(t.group, t.plural)
        for t in types:
            self.registry.add(t)
        crd["status"] = crd_status(crd, (old or crd)["metadata"].get("creationTimestamp", now()))

    def _drop_crd(self, crd: dict[str, Any]) -> None:
        for t in crd_types(crd):
            self.registry.remove_group_plural(t.group, t.plural)
            for obj in self.store.objects(t.key):
                self.store.remove(t.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])

    def restore(self, resource: str, obj: dict[str, Any]) -> None:
        """Re-derive in-memory side state (CRD types, Service addresses) for a loaded object."""
        if resource == CRD_KEY:
            for t in crd_types(obj):
                self.registry.add(t)
        elif resource == SERVICES:
            self.services.restore(obj)
