"""CustomResourceDefinitions: turning a stored CRD into served resource types, and its status.

A CRD applied (e.g. the Gateway API CRDs) makes its resources appear in discovery and under
/apis/<group>/<version>/...; deleting it removes the types and every object of them.
"""

from __future__ import annotations

from typing import Any

from .discovery import ResourceType


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of the CRD."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subs = tuple(s for s in ("status", "scale") if s in (version.get("subresources") or {}))
        out.append(ResourceType(
            group=spec.get("group", ""), version=version["name"], plural=names.get("plural", ""),
            kind=names.get("kind", ""), namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), subresources=subs,
            categories=tuple(names.get("categories") or ()), crd=True))
    return out


def crd_status(crd: dict[str, Any], when: str) -> dict[str, Any]:
    """Established and NamesAccepted, as a real server reports once the names are free."""
    spec = crd.get("spec", {})
    names = dict(spec.get("names", {}))
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]

    def cond(kind: str, reason: str, msg: str) -> dict[str, Any]:
        return {"type": kind, "status": "True", "reason": reason, "message": msg, "lastTransitionTime": when}

    return {"acceptedNames": names, "storedVersions": stored,
            "conditions": [cond("NamesAccepted", "NoConflicts", "no conflicts found"),
                           cond("Established", "InitialNamesAccepted", "the initial names have been accepted")]}
