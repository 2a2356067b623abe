"""Reading and writing Gateway API objects through lightkube (generic resources, plain dicts out)."""

from __future__ import annotations

import base64
from typing import Any, cast

from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

from cilium_tune.lab.gateway.crds import GROUP

GatewayClass = create_global_resource(GROUP, "v1", "GatewayClass", "gatewayclasses")
Gateway = create_namespaced_resource(GROUP, "v1", "Gateway", "gateways")
HTTPRoute = create_namespaced_resource(GROUP, "v1", "HTTPRoute", "httproutes")
REQUIRED_CRDS = ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants")
OPTIONAL_CRDS = ("tlsroutes",)


def installed_crds(client: Client) -> set[str]:
    """Plural names of the installed Gateway API CRDs."""
    names = set()
    for crd in client.list(CustomResourceDefinition):
        name = crd.metadata.name if crd.metadata and crd.metadata.name else ""
        plural, _, group = name.partition(".")
        if group == GROUP:
            names.add(plural)
    return names


def list_dicts(client: Client, kind: Any) -> list[dict[str, Any]]:
    namespaced = kind is not GatewayClass
    items = client.list(kind, namespace="*") if namespaced else client.list(kind)
    return [obj.to_dict() for obj in items]


def patch_status(client: Client, kind: Any, obj: dict[str, Any], status: dict[str, Any]) -> None:
    meta = obj["metadata"]
    kwargs: dict[str, Any] = {} if kind is GatewayClass else {"namespace": meta.get("namespace", "default")}
    client.patch(kind.Status, meta["name"], {"status": status}, patch_type=PatchType.MERGE, **kwargs)


def read_tls_secret(client: Client, namespace: str, name: str) -> tuple[str, str] | None:
    """(cert PEM, key PEM) of a kubernetes.io/tls Secret, None when absent or incomplete."""
    try:
        secret = client.get(Secret, name, namespace=namespace)
    except ApiError as exc:
        if exc.status.code == 404:
            return None
        raise
    data = secret.data or {}
    if "tls.crt" not in data or "tls.key" not in data:
        return None
    return base64.b64decode(data["tls.crt"]).decode(), base64.b64decode(data["tls.key"]).decode()


def write_tls_secret(client: Client, namespace: str, name: str, cert: str, key: str, ca: str,
                     labels: dict[str, str]) -> None:
    def enc(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    client.create(cast(Secret, Secret.from_dict({
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": enc(cert), "tls.key": enc(key), "ca.crt": enc(ca)},
    })))
