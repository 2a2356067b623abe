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

Obj = dict[str, Any]
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


class NotServed(ClusterError):
    """The API does not serve this resource type (e.g. the CRD is not installed)."""


class Forbidden(ClusterError):
    """The credentials may not do this (RBAC)."""


class NotFound(ClusterError):
    """The named object does not exist."""


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
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise InputError(f"kubeconfig {path}: cannot read it ({type(exc).__name__})") from None
        if not isinstance(doc, dict):
            raise InputError(f"kubeconfig {path}: not a kubeconfig mapping")
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

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kw)
        except self._errors as exc:
            raise ClusterError(
                f"cannot reach the API server {self._server} (context {self._config.context_name}): "
                f"{type(exc).__name__}: {exc}",
                hint="check that the cluster is up and the kubeconfig/context are right",
            ) from None
        return resp

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
            self._version = str(resp.json().get("gitVersion") or "")
        return ServerInfo(self._config.context_name, self._server, self._version or None)

    def get(self, res: Resource, name: str, namespace: str | None = None) -> Obj:
        path = res.path(namespace, name)
        resp = self._request("GET", path)
        if resp.status_code == 404 and "could not find the requested resource" not in _status_message(resp):
            raise NotFound(f"{res} {namespace + '/' if namespace else ''}{name} not found")
        self._check(resp, f"GET {path}")
        return dict(resp.json())

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
            body = json.loads(resp.content)
            yield from body.get("items") or []
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


def _status_message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return str(resp.text)[:200]
    return str(body.get("message") or "") if isinstance(body, dict) else ""


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

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None) -> str:
        with self._lock:
            self.calls.append(("logs", f"{namespace}/{name}"))
            if (namespace, name) not in self._logs:
                raise UnseededRead(f"FakeKube: logs of {namespace}/{name} were read but not seeded")
            text = self._logs[(namespace, name)]
            return text if tail_lines is None else "".join(text.splitlines(keepends=True)[-tail_lines:])


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
