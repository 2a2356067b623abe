"""CiliumNodeConfig: per-node overrides of cilium-config, resolved as cilium-agent resolves them. Pure.

The real agent's `config` init container (`cilium-dbg build-config`) merges its default sources,
`config-map:cilium-config` then `cilium-node-config`, into the directory the agent reads once at start:
- every CiliumNodeConfig in the agent's namespace whose `spec.nodeSelector` matches the labels of the
  agent's Node applies (a missing selector selects no node, an empty one every node); one without
  `spec.defaults` is ignored;
- matching objects apply in lexicographic order of their names, later ones winning a key set twice;
- their `spec.defaults` override the ConfigMap's keys; keys that are not valid ConfigMap keys are skipped;
- the list of sources used lands in the `config-sources` key.
A later change to a CiliumNodeConfig or to a Node's labels takes effect only when the agent pod
restarts. Cilium 1.19 serves the CRD as `cilium.io/v2` (storage) and, deprecated, `cilium.io/v2alpha1`
(removed in 1.20); the agent lists v2 and falls back to v2alpha1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cilium_tune.lab.apiserver.selectors import match_label_selector

GROUP = "cilium.io"
PLURAL = "ciliumnodeconfigs"
KIND = "CiliumNodeConfig"
VERSIONS = ("v2", "v2alpha1")
"""Served by Cilium 1.19, storage version first."""
CONFIG_SOURCES_KEY = "config-sources"
_CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


@dataclass(frozen=True)
class Resolved:
    """The agent's effective configuration and where it came from."""

    data: dict[str, str]
    sources: tuple[str, ...]
    """`config-map:<ns>/cilium-config` and `cilium-node-config:<ns>/<name>` per object used, sorted."""
    overridden: tuple[str, ...]
    """Keys whose cilium-config value a CiliumNodeConfig replaced (or added), sorted."""
    skipped: tuple[str, ...] = ()
    """`<name>: <key>` for keys that are not valid ConfigMap keys."""


def matching_node_configs(node_configs: Sequence[Mapping[str, Any]],
                          node_labels: Mapping[str, str]) -> list[Mapping[str, Any]]:
    """The objects that apply to a node with these labels, in the order they are merged."""
    matched = []
    for obj in node_configs:
        spec = obj.get("spec") or {}
        selector = spec.get("nodeSelector")
        if not spec.get("defaults") or selector is None:
            continue
        if match_label_selector(selector, dict(node_labels)):
            matched.append(obj)
    return sorted(matched, key=lambda o: str(o["metadata"]["name"]))


def resolve(config_map: Mapping[str, str] | None, namespace: str, node_labels: Mapping[str, str],
            node_configs: Sequence[Mapping[str, Any]], config_map_name: str = "cilium-config") -> Resolved:
    """cilium-config overlaid with the node's CiliumNodeConfigs (the default `build-config` sources)."""
    data = dict(config_map or {})
    sources = [f"config-map:{namespace}/{config_map_name}"] if data else []
    overrides: dict[str, str] = {}
    skipped: list[str] = []
    for obj in matching_node_configs(node_configs, node_labels):
        name = str(obj["metadata"]["name"])
        sources.append(f"cilium-node-config:{namespace}/{name}")
        for key, value in (obj["spec"]["defaults"] or {}).items():
            if not _CONFIG_MAP_KEY.match(str(key)):
                skipped.append(f"{name}: {key}")
                continue
            overrides[str(key)] = str(value)
    data.update(overrides)
    data[CONFIG_SOURCES_KEY] = ",".join(sorted(sources))
    return Resolved(data, tuple(sorted(sources)), tuple(sorted(overrides)), tuple(skipped))


def crd() -> dict[str, Any]:
    """The CustomResourceDefinition as Cilium 1.19's operator registers it (schema trimmed to the fields
    the lab validates nothing of; names, scope, versions and the deprecation are the real ones)."""
    schema = {"openAPIV3Schema": {
        "type": "object", "required": ["spec"],
        "properties": {"spec": {
            "type": "object", "required": ["defaults", "nodeSelector"],
            "properties": {
                "defaults": {"type": "object", "additionalProperties": {"type": "string"}},
                "nodeSelector": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            }}}}}
    versions: list[dict[str, Any]] = [{"name": "v2", "served": True, "storage": True, "schema": schema}]
    versions.append({"name": "v2alpha1", "served": True, "storage": False, "schema": schema, "deprecated": True,
                     "deprecationWarning": "cilium.io/v2alpha1 CiliumNodeConfig will be deprecated in cilium "
                                           "v1.16; use cilium.io/v2 CiliumNodeConfig"})
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}", "labels": {"io.cilium/app": "operator"}},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": PLURAL, "singular": KIND.lower(), "kind": KIND, "listKind": f"{KIND}List",
                           "categories": ["cilium"]},
                 "versions": versions},
    }
