"""A minimal OpenAPI v3 description: enough for kubectl and helm to use server-side field validation.

kubectl looks up each kind's PATCH operation (by `x-kubernetes-group-version-kind`) and, when it lists
a `fieldValidation` parameter, leaves validation to the server instead of validating against a full
schema. Every schema here preserves unknown fields, so nothing is rejected client-side. PATCH does not
list the strategic-merge content type, so client-side `kubectl apply` computes strategic patches from
its built-in types rather than from these (property-less) schemas.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .discovery import Registry, ResourceType


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _schema_name(rt: ResourceType) -> str:
    group = rt.group or "core"
    return f"io.k8s.api.{group}.{rt.version}.{rt.kind}"


def group_version_doc(reg: Registry, group: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in reg.all() if rt.group == group and rt.version == version]
    if not types:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation")]
    for rt in sorted(types, key=lambda r: r.plural):
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        ref = {"$ref": f"#/components/schemas/{_schema_name(rt)}"}
        schemas[_schema_name(rt)] = {
            "type": "object", "x-kubernetes-group-version-kind": [gvk], "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
        prefix = "/" + _gv_path(rt.group, rt.version)
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        content = {"application/json": {"schema": ref}}
        op = {"x-kubernetes-group-version-kind": gvk, "parameters": params,
              "responses": {"200": {"description": "OK", "content": content}}}
        paths[f"{base}/{{name}}"] = {
            "get": {**op, "x-kubernetes-action": "get", "operationId": f"read{rt.kind}"},
            "put": {**op, "x-kubernetes-action": "put", "operationId": f"replace{rt.kind}",
                    "requestBody": {"content": content}},
            "patch": {**op, "x-kubernetes-action": "patch", "operationId": f"patch{rt.kind}",
                      "requestBody": {"content": {t: {"schema": {"type": "object"}} for t in (
                          "application/apply-patch+yaml", "application/json-patch+json",
                          "application/merge-patch+json")}}},
            "delete": {**op, "x-kubernetes-action": "delete", "operationId": f"delete{rt.kind}"},
        }
        paths[base] = {"post": {**op, "x-kubernetes-action": "post", "operationId": f"create{rt.kind}",
                                "requestBody": {"content": content}},
                       "get": {**op, "x-kubernetes-action": "list", "operationId": f"list{rt.kind}"}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (cilium-tune lab)", "version": "v1.35.0"},
            "paths": paths, "components": {"schemas": schemas}}


def index(reg: Registry) -> dict[str, Any]:
    """/openapi/v3: one entry per group-version, with a hash that changes when its types change."""
    paths: dict[str, Any] = {}
    for group, versions in reg.group_versions().items():
        for version in versions:
            names = sorted(f"{rt.plural}:{rt.kind}:{rt.namespaced}" for rt in reg.all()
                           if rt.group == group and rt.version == version)
            digest = hashlib.sha256(json.dumps(names).encode()).hexdigest()[:16].upper()
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}
