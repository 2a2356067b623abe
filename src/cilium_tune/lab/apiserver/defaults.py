"""Defaulting and the little validation a real API server does before storing an object.

Clients read back what the server defaulted (helm 3's waiter dereferences `spec.replicas` and the
rolling-update parameters), so the defaults that matter to them are filled here, nothing more.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from typing import Any

from .errors import invalid

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN_KINDS = {"Pod", "ConfigMap", "Secret", "Deployment", "DaemonSet", "ReplicaSet", "StatefulSet",
                    "Node", "ServiceAccount", "Job", "EndpointSlice", "Endpoints"}
_LABEL_KINDS = {"Namespace", "Service"}
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now(offset_seconds: int = 0) -> str:
    t = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def validate_name(kind: str, name: str) -> None:
    """422 for names a real server rejects, with the rule in the message."""
    causes: list[tuple[str, str]] = []
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif name in (".", "..") or "/" in name or "%" in name:
        causes.append(("metadata.name", f"Invalid value: \"{name}\": may not be '.', '..' or contain '/' or '%'"))
    elif kind in _LABEL_KINDS and (len(name) > 63 or not _LABEL.match(name)):
        causes.append(("metadata.name", f"Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of "
                       "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
                       "character"))
    elif kind in _SUBDOMAIN_KINDS and (len(name) > 253 or not _SUBDOMAIN.match(name)):
        causes.append(("metadata.name", f"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist "
                       "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
                       "alphanumeric character"))
    if causes:
        raise invalid(kind, name, causes)


def _int_or_percent(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and re.fullmatch(r"\d+%", value) is not None


def validate_update_strategy(ds: dict[str, Any]) -> None:
    """422 for a DaemonSet `updateStrategy` the real server rejects (after defaulting).

    `OnDelete` may keep a `rollingUpdate` block: the server accepts and ignores it, which is what a
    Helm values override `updateStrategy: {type: OnDelete}` over the Cilium chart's default produces.
    """
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    kind, field = strategy.get("type"), "spec.updateStrategy"
    causes: list[tuple[str, str]] = []
    if kind not in ("RollingUpdate", "OnDelete"):
        causes.append((f"{field}.type",
                       f'Unsupported value: "{kind}": supported values: "RollingUpdate", "OnDelete"'))
    elif kind == "RollingUpdate":
        ru = strategy.get("rollingUpdate") or {}
        for key in ("maxUnavailable", "maxSurge"):
            value = ru.get(key)
            if not _int_or_percent(value):
                causes.append((f"{field}.rollingUpdate.{key}",
                               f'Invalid value: "{value}": a non-negative integer or a percentage such as "10%"'))
        if not causes and {str(ru["maxUnavailable"]).rstrip("%"), str(ru["maxSurge"]).rstrip("%")} == {"0"}:
            causes.append((f"{field}.rollingUpdate.maxUnavailable",
                           "Invalid value: 0: may not be 0 when maxSurge is 0"))
    if causes:
        raise invalid("DaemonSet", ds["metadata"].get("name", ""), causes, "apps")


def _pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in spec.get("containers") or []:
        c.setdefault("imagePullPolicy", "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for port in c.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _template(spec: dict[str, Any]) -> None:
    tmpl = spec.setdefault("template", {})
    tmpl.setdefault("metadata", {})
    _pod_spec(tmpl.setdefault("spec", {}))


def apply_defaults(kind: str, obj: dict[str, Any]) -> None:
    """Fill the defaults of `kind` in place."""
    spec = obj.get("spec")
    if kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.setdefault("type", "RollingUpdate") == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        _template(spec)
    elif kind == "DaemonSet" and isinstance(spec, dict):
        spec.setdefault("revisionHistoryLimit", 10)
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.setdefault("type", "RollingUpdate") == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", 1)
            ru.setdefault("maxSurge", 0)
        _template(spec)
    elif kind in ("ReplicaSet", "StatefulSet") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _template(spec)
    elif kind == "Pod":
        _pod_spec(obj.setdefault("spec", {}))
        if spec is not None:
            spec.setdefault("serviceAccountName", "default")
    elif kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        labels = obj["metadata"].setdefault("labels", {})
        labels.setdefault("kubernetes.io/metadata.name", obj["metadata"]["name"])
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        for key, value in (obj.pop("stringData", None) or {}).items():
            obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()
