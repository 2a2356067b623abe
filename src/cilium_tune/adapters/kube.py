"""The Kubernetes API as a small protocol, a live implementation and an in-memory fake.

Objects cross this boundary as plain dicts, exactly as the API serves them: the pure parsers in
`facts/` take those, and nothing downstream depends on a client library's model classes.

The live client takes kubeconfig handling (contexts, TLS, tokens, client certs, exec plugins) from
lightkube and sends plain REST requests through lightkube's configured HTTP client, decoding JSON
itself: no per-object model conversion, so listing 1,000 nodes costs one JSON decode per page.

Kubeconfig selection follows kubectl: `--kubeconfig` first, else `$KUBECONFIG` (a `:`-separated list,
merged first-wins like kubectl), else `~/.kube/config`; `--context` else the current context.
Credentials never appear in messages: only the context name and the server URL.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from cilium_tune.errors import ClusterError, InputError
from cilium_tune.inputs import check_yaml, read_text
from cilium_tune.values import redact

Obj = dict[str, Any]
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_PAGE_SIZE = 500


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """REST path of the collection (all namespaces when `namespace` is None) or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
PODS = Resource("", "v1", "pods", "Pod", namespaced=True)
SERVICES = Resource("", "v1", "services", "Service", namespaced=True)
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", namespaced=True)
SECRETS = Resource("", "v1", "secrets", "Secret", namespaced=True)
DAEMONSETS = Resource("apps", "v1", "daemonsets", "DaemonSet", namespaced=True)
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False)
GATEWAY_CLASSES = Resource("gateway.networking.k8s.io", "v1", "gatewayclasses", "GatewayClass", False)
GATEWAYS = Resource("gateway.networking.k8s.io", "v1", "gateways", "Gateway", True)
VMIS = Resource("kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance", True)
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
ENDPOINT_SLICES = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", namespaced=True)
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", namespaced=True)
PDBS = Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", namespaced=True)
MERGE_PATCH = "application/merge-patch+json"


class NotServed(ClusterError):
    """The API does not serve this resource type (e.g. the CRD is not installed)."""


class Forbidden(ClusterError):
    """The credentials may not do this (RBAC)."""


class NotFound(ClusterError):
    """The named object does not exist."""


class EvictionBlocked(ClusterError):
    """The API refused an eviction for now (HTTP 429): a PodDisruptionBudget allows no disruption."""


@dataclass(frozen=True)
class ServerInfo:
    """Where the client talks to: never credentials."""

    context: str | None
    server: str | None
    version: str | None


class KubeAPI(Protocol):
    """What the tool needs from a Kubernetes API. Objects are dicts as the API serves them."""

    def server_info(self) -> ServerInfo:
        """Context, server URL and /version gitVersion."""
        ...

    def get(self, res: Resource, name: str, namespace: str | None = None) -> Obj:
        """One object; raises NotFound."""
        ...

    def list(
        self,
        res: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> list[Obj]:
        """Every matching object, following `continue` tokens page by page."""
        ...

    def create(self, res: Resource, obj: Mapping[str, Any], namespace: str | None = None) -> Obj:
        """Create and return the stored object."""
        ...

    def delete(self, res: Resource, name: str, namespace: str | None = None) -> bool:
        """Delete (background propagation); False when it was already gone."""
        ...

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None) -> str:
        """A pod container's log text (its last `tail_lines` lines when given)."""
        ...

    def patch(self, res: Resource, name: str, body: Mapping[str, Any], namespace: str | None = None) -> Obj:
        """JSON merge patch (RFC 7386); returns the stored object; raises NotFound."""
        ...

    def evict(self, name: str, namespace: str) -> bool:
        """Evict a pod through the Eviction API; False when it was already gone; EvictionBlocked on 429."""
        ...


# ---------------------------------------------------------------- live (lightkube)


def load_kubeconfig(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """The selected lightkube SingleConfig, following kubectl's rules; InputError when unusable."""
    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.core.exceptions import ConfigError

    paths = [kubeconfig] if kubeconfig else _env_paths()
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    seen: dict[str, set[str]] = {k: set() for k in merged}
    first: Path | None = None
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_file():
            if kubeconfig:
                raise InputError(f"kubeconfig {path} not found", hint="pass an existing file to --kubeconfig")
            continue
        text = read_text(path, "kubeconfig")
        check_yaml(text, str(path))
        try:
            doc = yaml.load(text, Loader=_SafeLoader) or {}
        except (ValueError, yaml.YAMLError) as exc:
            raise InputError(
                f"kubeconfig {path}: cannot read it ({type(exc).__name__})", hint="check it with `kubectl config view`"
            ) from None
        if not isinstance(doc, dict):
            raise InputError(f"kubeconfig {path}: not a kubeconfig mapping", hint="check it with `kubectl config view`")
        for user in doc.get("users") or []:
            if isinstance(user, dict) and isinstance(user.get("user"), dict):
                credentials = user["user"]
                redact.SECRETS.remember({k: credentials.get(k) for k in ("token", "password")})
                redact.SECRETS.remember({"key": credentials.get("client-key-data")})
        first = first or path
        if merged.get("current-context") is None:
            merged["current-context"] = doc.get("current-context")
        for key in ("clusters", "contexts", "users"):
            for entry in doc.get(key) or []:
                if isinstance(entry, dict) and entry.get("name") not in seen[key]:
                    seen[key].add(str(entry.get("name")))
                    merged[key].append(entry)
    if first is None:
        raise InputError(
            "no kubeconfig found (looked at " + (", ".join(paths) or "~/.kube/config") + ")",
            hint="set KUBECONFIG or pass --kubeconfig FILE (or use --facts FILE to work offline)",
        )
    try:
        config = KubeConfig.from_dict(merged, fname=first)
        return config.get(context)
    except ConfigError as exc:
        names = ", ".join(sorted(seen["contexts"])) or "none"
        raise InputError(f"kubeconfig {first}: {exc}", hint=f"contexts available: {names}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"kubeconfig {first}: malformed ({type(exc).__name__}: {exc})") from None


def _env_paths() -> list[str]:
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [str(Path("~/.kube/config").expanduser())]


class LightkubeAPI:
    """KubeAPI over a real (or lab) API server. Thread-safe: httpx clients may be shared by threads."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        timeout: float = 15.0,
        transport: Any = None,
    ) -> None:
        """`transport` (an httpx2 transport) replaces the network, as lightkube's own parameter does."""
        import httpx2
        from lightkube.config.client_adapter import Client, ConnectionParams
        from lightkube.core.exceptions import ConfigError

        self._config = load_kubeconfig(kubeconfig, context)
        self._server = str(self._config.cluster.server)
        self._errors: tuple[type[Exception], ...] = (httpx2.HTTPError,)
        try:
            self._http = Client(
                self._config,
                ConnectionParams(
                    timeout=httpx2.Timeout(timeout),
                    transport=transport or httpx2.HTTPTransport(retries=1, limits=httpx2.Limits(max_connections=32)),
                ),
            )
        except (ConfigError, OSError) as exc:
            raise InputError(f"context {self._config.context_name}: {exc}") from None
        self._version: str | None = None
        self._timeout = timeout

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        import httpx2
        from lightkube.core.exceptions import ConfigError

        try:
            resp = self._http.request(method, path, **kw)
        except httpx2.TimeoutException:
            raise ClusterError(
                f"{method} {path}: no answer from the API server {self._server} within {self._timeout:g} s "
                f"(context {self._config.context_name})",
                hint="check that the cluster is up and reachable, or give it longer with --timeout SECONDS",
            ) from None
        except self._errors as exc:
            raise ClusterError(
                f"cannot reach the API server {self._server} (context {self._config.context_name}): "
                f"{type(exc).__name__}: {exc}",
                hint="check that the cluster is up and the kubeconfig/context are right",
            ) from None
        except (OSError, ConfigError) as exc:
            # lightkube runs exec credential plugins and reads client certificates lazily, on first use.
            raise ClusterError(
                f"context {self._config.context_name}: cannot authenticate to {self._server}: {exc}",
                hint="check the kubeconfig user (its exec plugin must be installed and on PATH)",
            ) from None
        return resp

    def _body(self, resp: Any, what: str) -> dict[str, Any]:
        """The JSON object an API response holds; a ClusterError when it is HTML, a list, or garbage."""
        try:
            body = json.loads(resp.content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = resp.headers.get("content-type", "unknown content")
            shown = "not JSON" if body is None else f"a JSON {type(body).__name__}"
            raise ClusterError(
                f"{what}: {self._server} answered {shown} ({kind}), not a Kubernetes API object",
                hint="check that the kubeconfig's server is a Kubernetes API server, not a web page or proxy",
            )
        return body

    def _check(self, resp: Any, what: str) -> None:
        code = resp.status_code
        if code < 400:
            return
        message = _status_message(resp)
        if code == 404:
            # A missing collection means the type is not served; a missing object is plain NotFound.
            if "the server could not find the requested resource" in message or not message:
                raise NotServed(f"{what}: not served by {self._server}")
            raise NotFound(f"{what}: {message}")
        if code in (401, 403):
            raise Forbidden(f"{what}: {message or 'forbidden'} (context {self._config.context_name})")
        raise ClusterError(f"{what}: HTTP {code}: {message}")

    def server_info(self) -> ServerInfo:
        if self._version is None:
            resp = self._request("GET", "/version")
            self._check(resp, "GET /version")
            self._version = str(self._body(resp, "GET /version").get("gitVersion") or "")
        return ServerInfo(self._config.context_name, self._server, self._version or None)

    def get(self, res: Resource, name: str, namespace: str | None = None) -> Obj:
        path = res.path(namespace, name)
        resp = self._request("GET", path)
        if resp.status_code == 404 and "could not find the requested resource" not in _status_message(resp):
            raise NotFound(f"{res} {namespace + '/' if namespace else ''}{name} not found")
        self._check(resp, f"GET {path}")
        return self._body(resp, f"GET {path}")

    def list(
        self,
        res: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> list[Obj]:
        return list(self._pages(res, namespace, label_selector, field_selector, page_size))

    def _pages(
        self,
        res: Resource,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        page_size: int,
    ) -> Iterator[Obj]:
        path = res.path(namespace)
        params: dict[str, Any] = {"limit": page_size}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        while True:
            resp = self._request("GET", path, params=params)
            self._check(resp, f"list {res}")
            body = self._body(resp, f"list {res}")
            items = body.get("items") or []
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise ClusterError(
                    f"list {res}: {self._server} answered items that are not Kubernetes objects",
                    hint="check that the kubeconfig's server is a Kubernetes API server, not a proxy",
                )
            yield from items
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return
            params["continue"] = token

    def create(self, res: Resource, obj: Mapping[str, Any], namespace: str | None = None) -> Obj:
        path = res.path(namespace)
        resp = self._request("POST", path, json=dict(obj))
        self._check(resp, f"create {res}")
        return dict(resp.json())

    def delete(self, res: Resource, name: str, namespace: str | None = None) -> bool:
        path = res.path(namespace, name)
        resp = self._request(
            "DELETE",
            path,
            json={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        )
        if resp.status_code == 404:
            return False
        self._check(resp, f"delete {res} {name}")
        return True

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None) -> str:
        path = PODS.path(namespace, name) + "/log"
        params: dict[str, Any] = {}
        if container:
            params["container"] = container
        if tail_lines is not None:
            params["tailLines"] = tail_lines
        resp = self._request("GET", path, params=params or None)
        self._check(resp, f"logs of pod {namespace}/{name}")
        return str(resp.text)

    def patch(self, res: Resource, name: str, body: Mapping[str, Any], namespace: str | None = None) -> Obj:
        path = res.path(namespace, name)
        resp = self._request("PATCH", path, content=json.dumps(body), headers={"Content-Type": MERGE_PATCH})
        if resp.status_code == 404:
            raise NotFound(f"{res} {namespace + '/' if namespace else ''}{name} not found")
        self._check(resp, f"patch {res} {name}")
        return dict(resp.json())

    def evict(self, name: str, namespace: str) -> bool:
        path = PODS.path(namespace, name) + "/eviction"
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        resp = self._request("POST", path, json=body)
        if resp.status_code == 404:
            return False
        if resp.status_code == 429:
            raise EvictionBlocked(f"eviction of pod {namespace}/{name}: {_status_message(resp, causes=True)}")
        self._check(resp, f"evict pod {namespace}/{name}")
        return True


def _status_message(resp: Any, *, causes: bool = False) -> str:
    """A Status's message; with `causes`, each cause's message after it (a 429 names the disruption budget
    and how many healthy pods it needs there)."""
    try:
        body = resp.json()
    except ValueError:
        return str(resp.text)[:200]
    if not isinstance(body, dict):
        return ""
    message = str(body.get("message") or "")
    details = body.get("details") if causes else None
    found = details.get("causes") if isinstance(details, dict) else None
    extra = [str(c["message"]) for c in found or [] if isinstance(c, dict) and c.get("message")]
    return " ".join([message.rstrip(".") + ":", *extra]) if extra else message


# ---------------------------------------------------------------- in-memory fake


class UnseededRead(AssertionError):
    """A test read something it did not seed: seed it, or it is a bug in the code under test."""


@dataclass
class FakeKube:
    """KubeAPI from recorded objects. Any read of a resource that was not seeded raises UnseededRead.

    `seed` maps a Resource to its objects, or to an exception raised on every read (e.g. `Forbidden`,
    `NotServed`). Created pods go through `on_create_pod(pod) -> (phase, log text)`, which plays the
    kubelet; `calls` records every call for assertions.
    """

    seed: dict[Resource, list[Obj] | Exception] = field(default_factory=dict)
    info: ServerInfo = ServerInfo("fake", "https://fake.invalid", "v1.33.0+k3s1")
    on_create_pod: Callable[[Obj], tuple[str, str]] | None = None
    calls: list[tuple[str, str]] = field(default_factory=list)
    _logs: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _objects(self, res: Resource) -> list[Obj]:
        if res not in self.seed:
            raise UnseededRead(f"FakeKube: {res} was read but not seeded")
        value = self.seed[res]
        if isinstance(value, Exception):
            raise value
        return value

    def server_info(self) -> ServerInfo:
        return self.info

    def get(self, res: Resource, name: str, namespace: str | None = None) -> Obj:
        with self._lock:
            self.calls.append(("get", f"{res}/{namespace}/{name}"))
            for obj in self._objects(res):
                meta = obj.get("metadata") or {}
                if meta.get("name") == name and (not res.namespaced or meta.get("namespace") == namespace):
                    return obj
        raise NotFound(f"{res} {name} not found")

    def list(
        self,
        res: Resource,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> list[Obj]:
        with self._lock:
            self.calls.append(("list", str(res)))
            objs = self._objects(res)
            return [
                o
                for o in objs
                if (namespace is None or (o.get("metadata") or {}).get("namespace") == namespace)
                and _labels_match(o, label_selector)
                and _fields_match(o, field_selector)
            ]

    def create(self, res: Resource, obj: Mapping[str, Any], namespace: str | None = None) -> Obj:
        stored: Obj = json.loads(json.dumps(obj))
        meta = stored.setdefault("metadata", {})
        meta.setdefault("namespace", namespace)
        if res == PODS and self.on_create_pod is not None:
            phase, log = self.on_create_pod(stored)
            stored["status"] = {"phase": phase}
            self._logs[(str(meta.get("namespace")), str(meta.get("name")))] = log
        with self._lock:
            self.calls.append(("create", f"{res}/{meta.get('name')}"))
            objs = self.seed.setdefault(res, [])
            if isinstance(objs, Exception):
                raise objs
            objs.append(stored)
        return stored

    def delete(self, res: Resource, name: str, namespace: str | None = None) -> bool:
        with self._lock:
            self.calls.append(("delete", f"{res}/{name}"))
            objs = self._objects(res)
            for i, o in enumerate(objs):
                meta = o.get("metadata") or {}
                if meta.get("name") == name and (not res.namespaced or meta.get("namespace") == namespace):
                    del objs[i]
                    return True
        return False

    def patch(self, res: Resource, name: str, body: Mapping[str, Any], namespace: str | None = None) -> Obj:
        with self._lock:
            self.calls.append(("patch", f"{res}/{name}"))
            objs = self._objects(res)
            for i, o in enumerate(objs):
                meta = o.get("metadata") or {}
                if meta.get("name") == name and (not res.namespaced or meta.get("namespace") == namespace):
                    objs[i] = _merge_patch(o, json.loads(json.dumps(body)))
                    return objs[i]
        raise NotFound(f"{res} {name} not found")

    def evict(self, name: str, namespace: str) -> bool:
        return self.delete(PODS, name, namespace)

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None) -> str:
        with self._lock:
            self.calls.append(("logs", f"{namespace}/{name}"))
            if (namespace, name) not in self._logs:
                raise UnseededRead(f"FakeKube: logs of {namespace}/{name} were read but not seeded")
            text = self._logs[(namespace, name)]
            return text if tail_lines is None else "".join(text.splitlines(keepends=True)[-tail_lines:])


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _fields_match(obj: Mapping[str, Any], selector: str | None) -> bool:
    """Equality field selectors (`spec.nodeName=n1`), as the fake needs them."""
    for term in (selector or "").split(","):
        if not term:
            continue
        path, _, value = term.partition("=")
        current: Any = obj
        for part in path.strip().split("."):
            current = current.get(part) if isinstance(current, Mapping) else None
        if str(current if current is not None else "") != value.strip():
            return False
    return True


def _labels_match(obj: Mapping[str, Any], selector: str | None) -> bool:
    """Equality-based selectors only (`a=b,c=d`, `a`), which is all this tool sends."""
    if not selector:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if value:
            if labels.get(key.strip()) != value.strip():
                return False
        elif key.strip() not in labels:
            return False
    return True


# ---------------------------------------------------------------- node and pod operations (over any KubeAPI)


def pod_uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def pod_ready(pod: Mapping[str, Any]) -> bool:
    status = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp") or status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def cordon(kube: KubeAPI, node: str, unschedulable: bool = True) -> None:
    """`kubectl cordon` / `uncordon`: spec.unschedulable (null removes it, as kubectl does)."""
    kube.patch(NODES, node, {"spec": {"unschedulable": True if unschedulable else None}})


def label_node(kube: KubeAPI, node: str, key: str, value: str | None) -> None:
    """Set a node label, or remove it with value None (absent already is fine)."""
    kube.patch(NODES, node, {"metadata": {"labels": {key: value}}})


def node_pods(kube: KubeAPI, node: str) -> list[Obj]:
    """Every pod bound to `node`, in every namespace, that is not already terminating."""
    pods = kube.list(PODS, field_selector=f"spec.nodeName={node}")
    return [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]


def owner_kind(pod: Mapping[str, Any]) -> str | None:
    refs = (pod.get("metadata") or {}).get("ownerReferences") or []
    return next((str(r.get("kind")) for r in refs if r.get("controller")), None)


def is_mirror(pod: Mapping[str, Any]) -> bool:
    return "kubernetes.io/config.mirror" in ((pod.get("metadata") or {}).get("annotations") or {})


def evict_workloads(
    kube: KubeAPI, node: str, *, timeout: float, poll: float = 1.0, clock: Callable[[], float] | None = None
) -> list[str]:
    """Evict the node's pods that `kubectl drain --ignore-daemonsets` evicts (not DaemonSet or mirror pods)
    and wait until they are gone. A PodDisruptionBudget that blocks an eviction (HTTP 429) is retried every
    `poll` seconds until `timeout`, then the step fails naming the pods it could not evict."""
    import time

    now = clock or time.monotonic
    deadline = now() + timeout
    evicted: list[str] = []
    while True:
        left = [p for p in node_pods(kube, node) if owner_kind(p) != "DaemonSet" and not is_mirror(p)]
        if not left:
            return evicted
        blocked = []
        for pod in left:
            meta = pod.get("metadata") or {}
            name, ns = str(meta.get("name")), str(meta.get("namespace"))
            try:
                if kube.evict(name, ns) and f"{ns}/{name}" not in evicted:
                    evicted.append(f"{ns}/{name}")
            except EvictionBlocked as exc:
                blocked.append(exc.message)
        if now() > deadline:
            names = ", ".join(
                f"{(p.get('metadata') or {}).get('namespace')}/{(p.get('metadata') or {}).get('name')}" for p in left
            )
            raise ClusterError(
                f"node {node}: pods not evicted within {timeout:.0f} s: {names}"
                + (f" ({blocked[0]})" if blocked else ""),
                hint="check the PodDisruptionBudgets of these pods, then `cilium-tune rollout resume`",
            )
        time.sleep(poll)


def delete_pod_network_daemon_pods(kube: KubeAPI, node: str, *, timeout: float, poll: float = 0.5) -> list[str]:
    """Delete the node's DaemonSet pods that use the pod network (not hostNetwork) and wait until they are
    gone. Their replacements are created by the DaemonSet controller."""
    import time

    victims = [
        p
        for p in node_pods(kube, node)
        if owner_kind(p) == "DaemonSet" and not (p.get("spec") or {}).get("hostNetwork")
    ]
    uids = {pod_uid(p) for p in victims}
    names = []
    for pod in victims:
        meta = pod.get("metadata") or {}
        kube.delete(PODS, str(meta.get("name")), str(meta.get("namespace")))
        names.append(f"{meta.get('namespace')}/{meta.get('name')}")
    deadline = time.monotonic() + timeout
    while uids & {pod_uid(p) for p in kube.list(PODS, field_selector=f"spec.nodeName={node}")}:
        if time.monotonic() > deadline:
            raise ClusterError(f"node {node}: DaemonSet pods still terminating after {timeout:.0f} s")
        time.sleep(poll)
    return names


def node_pod(kube: KubeAPI, namespace: str, selector: str, node: str) -> Obj | None:
    """The newest non-terminating pod matching `selector` on `node` (e.g. the node's agent)."""
    pods = [
        p
        for p in kube.list(PODS, namespace, label_selector=selector, field_selector=f"spec.nodeName={node}")
        if not (p.get("metadata") or {}).get("deletionTimestamp")
    ]
    pods.sort(key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""))
    return pods[-1] if pods else None


class PodFailed(ClusterError):
    """A pod the tool waits for keeps failing (its container restarted, or it ended)."""


def wait_new_pod_ready(
    kube: KubeAPI,
    namespace: str,
    selector: str,
    node: str,
    old_uids: set[str],
    *,
    timeout: float,
    poll: float = 0.5,
) -> Obj:
    """Wait until a pod matching `selector` on `node` whose UID is not in `old_uids` is Ready. A container
    that restarted (CrashLoopBackOff) fails at once with its termination message instead of a timeout."""
    import time

    deadline = time.monotonic() + timeout
    last: Obj | None = None
    while True:
        pod = node_pod(kube, namespace, selector, node)
        if pod is not None and pod_uid(pod) not in old_uids:
            last = pod
            if pod_ready(pod):
                return pod
            failure = _container_failure(pod)
            if failure:
                raise PodFailed(f"node {node}: pod {namespace}/{pod['metadata']['name']} fails: {failure}")
        if time.monotonic() > deadline:
            where = f"pod {last['metadata']['name']} not Ready" if last else "no new pod"
            raise ClusterError(f"node {node}: {where} within {timeout:.0f} s ({selector} in {namespace})")
        time.sleep(poll)


# A container whose last exit says one of these will not get better by restarting: fail at once.
REFUSALS = ("Cannot start cilium-agent", "netkit devices need kernel")
RESTARTS_BEFORE_FAILING = 3  # otherwise a transient crash or two is waited out


def _container_failure(pod: Mapping[str, Any]) -> str | None:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (cs.get("lastState") or {}).get("terminated") or (cs.get("state") or {}).get("terminated")
        restarts = int(cs.get("restartCount") or 0)
        if restarts < 1 or not terminated:
            continue
        message = str(terminated.get("message") or terminated.get("reason") or "").strip()
        refusal = next((line for line in message.splitlines() if any(r in line for r in REFUSALS)), None)
        if refusal or restarts >= RESTARTS_BEFORE_FAILING:
            last = message.splitlines()[-1] if message else f"exit code {terminated.get('exitCode')}"
            return refusal or f"{last} (restarted {restarts} times)"
    return None
