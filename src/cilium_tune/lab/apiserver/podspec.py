"""What a real API server refuses in a pod spec, for the fields the lab's kubelet and scheduler read.

A real server decodes the body into Go types first: a number where a string belongs (`command: [1]`)
is a 400 BadRequest naming the Go field ("cannot unmarshal number into Go struct field
Container.spec.containers.command of type string"). It then validates values: a missing `name` on an env
var, a container without an image, an unknown restart policy are a 422 Invalid whose causes name each
field (`spec.containers[0].env[0].name: Required value`). The lab did neither, stored what it got, and its
kubelet then choked on the object. Pods and the pod templates of workloads are checked the same way.

Only the fields the lab uses are described; the others are left alone, as before.
"""

from __future__ import annotations

import re
from typing import Any

from . import errors

# A field's Go type: "string", "int", "bool", "intstr" (int or string), ("list", T), or a struct name.
_STRUCTS: dict[str, dict[str, Any]] = {
    "PodSpec": {
        "containers": ("list", "Container"),
        "initContainers": ("list", "Container"),
        "nodeName": "string",
        "hostNetwork": "bool",
        "restartPolicy": "string",
        "terminationGracePeriodSeconds": "int",
        "serviceAccountName": "string",
    },
    "Container": {
        "name": "string",
        "image": "string",
        "command": ("list", "string"),
        "args": ("list", "string"),
        "workingDir": "string",
        "env": ("list", "EnvVar"),
        "envFrom": ("list", "EnvFromSource"),
        "ports": ("list", "ContainerPort"),
        "readinessProbe": "Probe",
        "livenessProbe": "Probe",
        "startupProbe": "Probe",
        "terminationMessagePolicy": "string",
    },
    "EnvVar": {"name": "string", "value": "string", "valueFrom": "EnvVarSource"},
    "EnvVarSource": {
        "fieldRef": "ObjectFieldSelector",
        "resourceFieldRef": "ResourceFieldSelector",
        "configMapKeyRef": "ConfigMapKeySelector",
        "secretKeyRef": "SecretKeySelector",
    },
    "ObjectFieldSelector": {"apiVersion": "string", "fieldPath": "string"},
    "ResourceFieldSelector": {"containerName": "string", "resource": "string"},
    "ConfigMapKeySelector": {"name": "string", "key": "string", "optional": "bool"},
    "SecretKeySelector": {"name": "string", "key": "string", "optional": "bool"},
    "EnvFromSource": {"prefix": "string", "configMapRef": "ConfigMapEnvSource", "secretRef": "SecretEnvSource"},
    "ConfigMapEnvSource": {"name": "string", "optional": "bool"},
    "SecretEnvSource": {"name": "string", "optional": "bool"},
    "ContainerPort": {"name": "string", "containerPort": "int", "hostPort": "int", "protocol": "string"},
    "Probe": {
        "exec": "ExecAction",
        "httpGet": "HTTPGetAction",
        "tcpSocket": "TCPSocketAction",
        "initialDelaySeconds": "int",
        "periodSeconds": "int",
        "timeoutSeconds": "int",
        "successThreshold": "int",
        "failureThreshold": "int",
    },
    "ExecAction": {"command": ("list", "string")},
    "HTTPGetAction": {"path": "string", "port": "intstr", "host": "string", "scheme": "string"},
    "TCPSocketAction": {"port": "intstr", "host": "string"},
}
_GO_NAMES = {"string": "string", "int": "int32", "bool": "bool", "intstr": "intstr.IntOrString"}
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RESTART = ("Always", "OnFailure", "Never")
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
_TEMPLATE_KINDS = {"Deployment", "DaemonSet", "ReplicaSet", "StatefulSet", "Job"}


def validate_pod_specs(kind: str, obj: dict[str, Any], group: str = "") -> None:
    """400 or 422, as a real server answers, when the pod spec of a Pod (or of a workload's template) is wrong."""
    if kind == "Pod":
        spec, path = obj.get("spec"), "spec"
    elif kind in _TEMPLATE_KINDS:
        template = (obj.get("spec") or {}).get("template") if isinstance(obj.get("spec"), dict) else None
        spec = template.get("spec") if isinstance(template, dict) else None
        path = "spec.template.spec"
    else:
        return
    if spec is None:
        return
    name = str((obj.get("metadata") or {}).get("name", ""))
    _decode(spec, "PodSpec", path, "Pod" if kind == "Pod" else "PodTemplateSpec", kind, group)
    causes = _causes(spec, path, required=kind == "Pod" or spec != {})
    if causes:
        raise errors.invalid(kind, name, causes, group)


# --- decoding: the types ----------------------------------------------------------------------------


def _decode(value: Any, go_type: Any, path: str, owner: str, kind: str, group: str) -> None:
    """BadRequest at the first value whose JSON type does not fit its Go type (null fits anything).

    `owner` is the Go struct holding the field at `path`, which the real server's message names.
    """
    if value is None:
        return
    if isinstance(go_type, tuple):
        if not isinstance(value, list):
            raise _unmarshal(value, f"[]{_go_name(go_type[1])}", path, owner, kind, group)
        for item in value:
            _decode(item, go_type[1], path, owner, kind, group)
        return
    if go_type in _STRUCTS:
        if not isinstance(value, dict):
            raise _unmarshal(value, f"v1.{go_type}", path, owner, kind, group)
        for key, field_type in _STRUCTS[go_type].items():
            if key in value:
                _decode(value[key], field_type, f"{path}.{key}", go_type, kind, group)
        return
    fits = {
        "string": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "intstr": isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)),
    }[go_type]
    if not fits:
        raise _unmarshal(value, _GO_NAMES[go_type], path, owner, kind, group)


def _go_name(go_type: Any) -> str:
    return f"v1.{go_type}" if go_type in _STRUCTS else _GO_NAMES[go_type]


def _unmarshal(value: Any, go_type: str, path: str, owner: str, kind: str, group: str) -> errors.ApiError:
    json_type = ("bool" if isinstance(value, bool) else "number" if isinstance(value, int | float)
                 else "string" if isinstance(value, str) else "array" if isinstance(value, list) else "object")
    version = f"{group}/v1" if group else "v1"
    return errors.bad_request(
        f'{kind} in version "{version}" cannot be handled as a {kind}: json: cannot unmarshal {json_type} into '
        f"Go struct field {owner}.{path} of type {go_type}"
    )


# --- validation: the values ---------------------------------------------------------------------------


def _causes(spec: dict[str, Any], path: str, *, required: bool) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    containers = spec.get("containers") or []
    if required and not containers:
        causes.append((f"{path}.containers", "Required value"))
    seen: set[str] = set()
    for field in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(field) or []):
            causes += _container(_object(container), f"{path}.{field}[{i}]", seen)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in _RESTART:
        causes.append((f"{path}.restartPolicy", f'Unsupported value: "{policy}": supported values: '
                       + ", ".join(f'"{p}"' for p in _RESTART)))
    return causes


def _object(item: Any) -> dict[str, Any]:
    """A list item as the object Go decodes it to: `null` (the only non-object `_decode` lets through)
    becomes the zero value, so it is refused like an empty item (`...name: Required value`), not a 500."""
    return item if isinstance(item, dict) else {}


def _container(container: dict[str, Any], path: str, seen: set[str]) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    name = container.get("name")
    if not name:
        causes.append((f"{path}.name", "Required value"))
    elif len(name) > 63 or not _LABEL.match(name):
        causes.append((f"{path}.name", f'Invalid value: "{name}": a lowercase RFC 1123 label must consist of lower '
                       "case alphanumeric characters or '-', and must start and end with an alphanumeric character"))
    elif name in seen:
        causes.append((f"{path}.name", f'Duplicate value: "{name}"'))
    else:
        seen.add(name)
    if not container.get("image"):
        causes.append((f"{path}.image", "Required value"))
    for i, env in enumerate(container.get("env") or []):
        causes += _env(_object(env), f"{path}.env[{i}]")
    for i, port in enumerate(map(_object, container.get("ports") or [])):
        number = port.get("containerPort")
        if number is None:
            causes.append((f"{path}.ports[{i}].containerPort", "Required value"))
        elif not 1 <= number <= 65535:
            causes.append((f"{path}.ports[{i}].containerPort",
                           f"Invalid value: {number}: must be between 1 and 65535, inclusive"))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in _PROTOCOLS:
            causes.append((f"{path}.ports[{i}].protocol", f'Unsupported value: "{protocol}": supported values: '
                           + ", ".join(f'"{p}"' for p in _PROTOCOLS)))
    return causes


def _env(env: dict[str, Any], path: str) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    if not env.get("name"):
        causes.append((f"{path}.name", "Required value"))
    source = env.get("valueFrom")
    if source is None:
        return causes
    given = [key for key in _SOURCES if source.get(key) is not None]
    if env.get("value"):
        causes.append((f"{path}.valueFrom", "Invalid value: \"\": may not be specified when `value` is not empty"))
    elif not given:
        causes.append((f"{path}.valueFrom", "Invalid value: \"\": must specify one of: `fieldRef`, "
                       "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
    elif len(given) > 1:
        causes.append((f"{path}.valueFrom", "Invalid value: \"\": may not have more than one field specified at a "
                       "time"))
    for key, required in (("fieldRef", "fieldPath"), ("configMapKeyRef", "key"), ("secretKeyRef", "key"),
                          ("resourceFieldRef", "resource")):
        ref = source.get(key)
        if ref is not None and not ref.get(required):
            causes.append((f"{path}.valueFrom.{key}.{required}", "Required value"))
    return causes
