"""HTTP routes: URL parsing, content negotiation and Status errors around the `Api` layer.

One catch-all route parses Kubernetes paths itself (core `/api/v1/...`, groups `/apis/<g>/<v>/...`,
namespaced or not, subresources), because CRDs add resources at run time and discovery paths are also
served with a trailing slash. Request bodies may be JSON, YAML or (for helm's release storage) protobuf;
responses are always JSON.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from cilium_tune.lab import podlogs

from . import discovery, disruption, errors, openapi, patch, protobuf, streaming, table
from .api import Api
from .discovery import ResourceType
from .selectors import combine, field_selector, label_selector
from .store import dumps
from .watch import serve_watch

log = logging.getLogger(__name__)
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_TYPE = "application/json"


def _json(doc: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(doc), status=status, content_type=JSON_TYPE)


def _success(details: dict[str, Any], code: int = 200) -> web.Response:
    return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                  "details": details, "code": code}, code)


class Routes:
    """The aiohttp application's single handler and what it dispatches to."""

    def __init__(self, api: Api, closing: asyncio.Event, state_dir: Path | None) -> None:
        self.api = api
        self.closing = closing
        self.state_dir = state_dir

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except errors.ApiError as exc:
            return _json(exc.status(), exc.code)
        except Exception as exc:  # a bug here must still answer as an API server would
            log.exception("internal error on %s %s", request.method, request.path)
            return _json(errors.ApiError(500, "InternalError", f"internal error: {exc}").status(), 500)

    # --- non-resource paths ---------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        segs = [s for s in request.path.split("/") if s]
        reg = self.api.registry
        if not segs:
            return _json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version", "/healthz"]})
        head = segs[0]
        if head == "version" and len(segs) == 1:
            return _json(discovery.version_info())
        if head in ("healthz", "readyz", "livez"):
            return web.Response(text="ok")
        if head == "openapi":
            return self._openapi(segs)
        if head == "api" and len(segs) == 1:
            return _json(discovery.api_versions(request.host))
        if head == "apis" and len(segs) == 1:
            return _json(discovery.api_group_list(reg))
        if head == "api" and len(segs) == 2:
            if segs[1] != "v1":
                raise errors.not_found("", request.path)
            return _json(discovery.resource_list(reg, "", "v1"))
        if head == "apis" and len(segs) == 2:
            doc = discovery.api_group(reg, segs[1])
            if doc is None:
                raise _no_resource()
            return _json(doc)
        if head == "apis" and len(segs) == 3:
            doc = discovery.resource_list(reg, segs[1], segs[2])
            if not doc["resources"]:
                raise _no_resource()
            return _json(doc)
        if head == "api" and len(segs) > 2:
            return await self._resource(request, "", segs[1], segs[2:])
        if head == "apis" and len(segs) > 3:
            return await self._resource(request, segs[1], segs[2], segs[3:])
        raise _no_resource()

    def _openapi(self, segs: list[str]) -> web.Response:
        if segs[1:2] != ["v3"]:
            raise _no_resource()
        if len(segs) == 2:
            return _json(openapi.index(self.api.registry))
        rest = segs[2:]
        group, version = ("", rest[1]) if rest[0] == "api" and len(rest) == 2 else \
            (rest[1], rest[2]) if rest[0] == "apis" and len(rest) == 3 else ("", "")
        doc = openapi.group_version_doc(self.api.registry, group, version) if version else None
        if doc is None:
            raise _no_resource()
        return _json(doc)

    # --- resources --------------------------------------------------------------------------------------

    async def _resource(self, request: web.Request, group: str, version: str,
                        rest: list[str]) -> web.StreamResponse:
        ns: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise _no_resource()
        plural, name, sub = rest[0], rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None
        rt = self.api.registry.lookup(group, version, plural)
        if rt is None or (ns is not None and not rt.namespaced) or (rt.namespaced and ns is None and name):
            raise _no_resource()
        if sub is not None and sub not in rt.subresources:
            raise _no_resource()
        if sub in ("exec", "attach") and name is not None:
            return await streaming.serve(request, self.api.get(rt, ns or "", name), sub, self.state_dir)
        if sub == "proxy":
            raise errors.ApiError(501, "NotImplemented", f"{rt.plural}/{sub} is not served by the lab API")
        q = request.query
        dry_run = q.get("dryRun") == "All"
        method = request.method
        manager = _manager(request)
        if method == "GET":
            if name is None:
                return await self._list_or_watch(request, rt, ns, q)
            if sub == "log":
                return await self._log(request, rt, ns or "", name, q)
            if sub == "scale":
                return _json(_scale(self.api.get(rt, ns or "", name)))
            obj = _as_version(rt, self.api.get(rt, ns or "", name))
            if table.wants_table(request.headers.get("Accept", "")):
                return _json(table.table(rt.kind, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]}))
            return _json(obj)
        if method == "POST":
            body = await _body(request)
            if name is None:
                return _json(self.api.create(rt, ns or "", body, dry_run=dry_run, manager=manager), 201)
            if sub == "eviction":
                return self._evict(rt, ns or "", name, body)
            if sub == "binding":
                return self._bind(rt, ns or "", name, body)
            raise errors.method_not_allowed(f"POST is not supported on {request.path}")
        if name is None:
            if method == "DELETE":
                return self._delete_collection(rt, ns, q, await _body(request), dry_run)
            raise errors.method_not_allowed(f"{method} needs an object name: {request.path}")
        if method == "PUT":
            body = await _body(request)
            if sub == "scale":
                return self._update_scale(rt, ns or "", name, body, dry_run)
            return _json(self.api.update(rt, ns or "", name, body, sub=sub, dry_run=dry_run, manager=manager))
        if method == "PATCH":
            raw = await request.read()
            if sub == "scale":
                return self._patch_scale(rt, ns or "", name, request.headers.get("Content-Type", ""), raw, dry_run)
            ctype = request.headers.get("Content-Type", "")
            obj, created = self.api.patch(rt, ns or "", name, ctype, raw, sub=sub, dry_run=dry_run,
                                          manager=q.get("fieldManager", "") if "apply-patch" in ctype else manager,
                                          force=q.get("force") in ("true", "1"))
            return _json(obj, 201 if created else 200)
        if method == "DELETE":
            opts = await _body(request) or {}
            for key in ("gracePeriodSeconds", "propagationPolicy"):
                if key in q:
                    opts[key] = int(q[key]) if key == "gracePeriodSeconds" else q[key]
            return _json(self.api.delete(rt, ns or "", name, opts, dry_run=dry_run))
        raise errors.method_not_allowed(f"method {method} is not supported")

    async def _list_or_watch(self, request: web.Request, rt: ResourceType, ns: str | None,
                             q: Mapping[str, str]) -> web.StreamResponse:
        pred = combine(label_selector(q.get("labelSelector")), field_selector(q.get("fieldSelector")))
        if q.get("watch") in ("true", "1"):
            as_table = table.wants_table(request.headers.get("Accept", ""))
            return await serve_watch(request, self.api.store, rt, ns, pred, q, self.closing, as_table)
        store = self.api.store
        with store.lock:
            items = store.items(rt.key, ns)
            rv = store.resource_version
        start: list[str] | None = None
        if q.get("continue"):
            try:
                token = json.loads(base64.urlsafe_b64decode(q["continue"]))
                start, rv = token["start"], int(token["rv"])
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise errors.bad_request(f"invalid continue token: {exc}") from exc
        if start is not None:
            key = tuple(start)
            items = [s for s in items if (s.obj["metadata"].get("namespace", ""), s.obj["metadata"]["name"]) > key]
        if pred is not None:
            items = [s for s in items if pred(s.obj)]
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        limit = int(q.get("limit") or 0)
        if 0 < limit < len(items):
            last = items[limit - 1].obj["metadata"]
            token = {"rv": rv, "start": [last.get("namespace", ""), last["name"]]}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if table.wants_table(request.headers.get("Accept", "")):
            return _json(table.table(rt.kind, [s.obj for s in items], meta))
        head = dumps({"kind": f"{rt.kind}List", "apiVersion": rt.group_version, "metadata": meta})
        raws = [s.raw if s.obj.get("apiVersion") == rt.group_version else dumps(_as_version(rt, s.obj))
                for s in items]
        body = head[:-1] + b',"items":[' + b",".join(raws) + b"]}"
        return web.Response(body=body, content_type=JSON_TYPE)

    def _delete_collection(self, rt: ResourceType, ns: str | None, q: Mapping[str, str], opts: Any,
                           dry_run: bool) -> web.Response:
        pred = combine(label_selector(q.get("labelSelector")), field_selector(q.get("fieldSelector")))
        deleted = []
        with self.api.store.lock:
            for obj in self.api.store.objects(rt.key, ns):
                if pred is None or pred(obj):
                    deleted.append(self.api.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"],
                                                   opts or {}, dry_run=dry_run))
        return _json({"kind": f"{rt.kind}List", "apiVersion": rt.group_version,
                      "metadata": {"resourceVersion": str(self.api.store.resource_version)}, "items": deleted})

    # --- subresources ---------------------------------------------------------------------------------

    def _evict(self, rt: ResourceType, ns: str, name: str, body: Any) -> web.Response:
        """Eviction = deletion with the Eviction's DeleteOptions, unless a PodDisruptionBudget forbids it."""
        disruption.evict(self.api, rt, ns, name, (body or {}).get("deleteOptions") or {})
        return _success({"name": name, "kind": "pods"}, 201)

    def _bind(self, rt: ResourceType, ns: str, name: str, body: Any) -> web.Response:
        target = ((body or {}).get("target") or {}).get("name")
        if not target:
            raise errors.invalid("Binding", name, [("target.name", "Required value")])
        with self.api.store.lock:
            pod = self.api.get(rt, ns, name)
            if pod["spec"].get("nodeName"):
                raise errors.conflict("pods", name, f"pod {name} is already assigned to node "
                                      f"\"{pod['spec']['nodeName']}\"")
            self.api.update(rt, ns, name, {**pod, "spec": {**pod["spec"], "nodeName": target}})
        return _success({"name": name, "kind": "pods"}, 201)

    def _update_scale(self, rt: ResourceType, ns: str, name: str, body: Any, dry_run: bool) -> web.Response:
        replicas = ((body or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid("Scale", name, [("spec.replicas", "must be a non-negative integer")])
        with self.api.store.lock:
            obj = self.api.get(rt, ns, name)
            new = self.api.update(rt, ns, name, {**obj, "spec": {**obj.get("spec", {}), "replicas": replicas}},
                                  dry_run=dry_run)
        return _json(_scale(new))

    def _patch_scale(self, rt: ResourceType, ns: str, name: str, ctype: str, raw: bytes,
                     dry_run: bool) -> web.Response:
        doc = json.loads(raw or b"{}")
        current = _scale(self.api.get(rt, ns, name))
        kind = ctype.split(";")[0].strip()
        new = patch.json_patch(current, doc) if kind == "application/json-patch+json" \
            else patch.strategic_merge(current, doc)
        return self._update_scale(rt, ns, name, new, dry_run)

    async def _log(self, request: web.Request, rt: ResourceType, ns: str, name: str,
                   q: Mapping[str, str]) -> web.StreamResponse:
        """Serve a container run's log as the kubelet wrote it (podlogs.py), optionally following it.

        The run is the one the pod's status names (`previous=true`: the last terminated one); a follow
        ends when that run is no longer running and its log is read to the end, or the pod is gone.
        """
        pod = self.api.get(rt, ns, name)
        names = [c["name"] for c in pod["spec"].get("containers") or []]
        names += [c["name"] for c in pod["spec"].get("initContainers") or []]
        container = q.get("container")
        if not container:
            if len(pod["spec"].get("containers") or []) != 1:
                raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                         f"[{' '.join(names)}]")
            container = names[0]
        elif container not in names:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        try:
            choice = podlogs.choose(pod, container, q.get("previous") in ("true", "1"))
        except podlogs.NoLog as exc:
            raise errors.bad_request(str(exc)) from None
        if choice is None or self.state_dir is None:
            return web.Response(body=b"", content_type="text/plain")
        uid = pod["metadata"]["uid"]
        path = podlogs.log_path(self.state_dir / "logs", ns, name, uid, container, choice.run)
        data = await asyncio.to_thread(_read, path)
        if q.get("tailLines"):
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-int(q["tailLines"]):]) if int(q["tailLines"]) > 0 else b""
        if q.get("follow") != "true" or not choice.running:
            return web.Response(body=data, content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        offset = path.stat().st_size if path.exists() else 0
        await resp.write(data)
        try:
            while not self.closing.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                current = self.api.store.get("/pods", ns, name)
                size = path.stat().st_size if path.exists() else 0
                if size > offset:
                    chunk = await asyncio.to_thread(_read, path, offset)
                    offset += len(chunk)
                    await resp.write(chunk)
                elif current is None or current["metadata"]["uid"] != uid or not _runs(current, container, choice):
                    break
                else:
                    await asyncio.sleep(0.2)
        except ConnectionResetError:
            pass
        return resp


def _runs(pod: dict[str, Any], container: str, choice: podlogs.LogChoice) -> bool:
    """Whether the pod's status still shows the followed run running."""
    try:
        return podlogs.choose(pod, container, False) == choice
    except podlogs.NoLog:
        return False


def _read(path: Path, offset: int = 0) -> bytes:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return b""


def _manager(request: web.Request) -> str:
    """The request's field manager: `fieldManager`, else the User-Agent's product (as kube-apiserver does)."""
    return request.query.get("fieldManager") or request.headers.get("User-Agent", "").split("/")[0][:128] or "unknown"


def _scale(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    selector = (obj.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
            "status": {"replicas": obj.get("status", {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}}


def _as_version(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """An object of a multi-version CRD read through another served version (conversion strategy None)."""
    if obj.get("apiVersion") == rt.group_version:
        return obj
    return {**obj, "apiVersion": rt.group_version}


def _no_resource() -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    ctype = request.content_type
    if ctype == PROTOBUF:
        return protobuf.decode(raw)
    try:
        if ctype in ("application/yaml", "application/x-yaml"):
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the request body is not valid {ctype or 'JSON'}: {exc}") from exc
