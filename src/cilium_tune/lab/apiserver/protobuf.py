"""Decode the few Kubernetes protobuf request bodies that real clients send.

helm (3 and 4) stores releases as Secrets or ConfigMaps through client-go's typed clients, which send
`application/vnd.kubernetes.protobuf`; DELETE then carries protobuf DeleteOptions and
`--create-namespace` a protobuf Namespace; `kubectl create service|serviceaccount` send those kinds.
Responses are always JSON (clients accept it), so only these decoders are needed. The wire format:
the magic `k8s\\0`, then a runtime.Unknown message (1: TypeMeta{1: apiVersion, 2: kind},
2: raw bytes of the object's own message).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from .errors import ApiError, bad_request

MAGIC = b"k8s\x00"
Fields = dict[int, list[bytes | int]]


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise bad_request("protobuf body truncated")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield num, value
        elif wire == 2:
            size, pos = _varint(buf, pos)
            yield num, buf[pos:pos + size]
            pos += size
        elif wire == 1:
            yield num, int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wire == 5:
            yield num, int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise bad_request(f"protobuf wire type {wire} not supported")


def _collect(buf: bytes) -> Fields:
    out: Fields = {}
    for num, value in _fields(buf):
        out.setdefault(num, []).append(value)
    return out


def _str(f: Fields, n: int) -> str | None:
    v = f.get(n)
    return bytes(v[-1]).decode() if v and isinstance(v[-1], bytes) else None


def _int(f: Fields, n: int) -> int | None:
    v = f.get(n)
    if not v or not isinstance(v[-1], int):
        return None
    x = v[-1]
    return x - (1 << 64) if x >= 1 << 63 else x


def _bool(f: Fields, n: int) -> bool | None:
    x = _int(f, n)
    return None if x is None else bool(x)


def _map(f: Fields, n: int, binary: bool = False) -> dict[str, str] | None:
    if n not in f:
        return None
    out: dict[str, str] = {}
    for entry in f[n]:
        kv = _collect(bytes(entry)) if isinstance(entry, bytes) else {}
        key = _str(kv, 1) or ""
        raw = kv.get(2, [b""])[-1]
        raw_b = raw if isinstance(raw, bytes) else b""
        out[key] = base64.b64encode(raw_b).decode() if binary else raw_b.decode()
    return out


def _time(f: Fields, n: int) -> str | None:
    if n not in f or not isinstance(f[n][-1], bytes) or not f[n][-1]:
        return None
    t = _collect(bytes(f[n][-1]))
    seconds = _int(t, 1) or 0
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_ref(buf: bytes) -> dict[str, Any]:
    f = _collect(buf)
    ref = {"apiVersion": _str(f, 5), "kind": _str(f, 1), "name": _str(f, 3), "uid": _str(f, 4),
           "controller": _bool(f, 6), "blockOwnerDeletion": _bool(f, 7)}
    return {k: v for k, v in ref.items() if v is not None}


def _object_meta(buf: bytes) -> dict[str, Any]:
    f = _collect(buf)
    meta: dict[str, Any] = {
        "name": _str(f, 1), "generateName": _str(f, 2), "namespace": _str(f, 3), "uid": _str(f, 5),
        "resourceVersion": _str(f, 6), "generation": _int(f, 7), "creationTimestamp": _time(f, 8),
        "deletionTimestamp": _time(f, 9), "deletionGracePeriodSeconds": _int(f, 10),
        "labels": _map(f, 11), "annotations": _map(f, 12),
    }
    if 13 in f:
        meta["ownerReferences"] = [_owner_ref(bytes(b)) for b in f[13] if isinstance(b, bytes)]
    if 14 in f:
        meta["finalizers"] = [bytes(b).decode() for b in f[14] if isinstance(b, bytes)]
    return {k: v for k, v in meta.items() if v not in (None, "")}


def _meta_of(f: Fields) -> dict[str, Any]:
    raw = f.get(1, [b""])[-1]
    return _object_meta(raw if isinstance(raw, bytes) else b"")


def _secret(f: Fields) -> dict[str, Any]:
    obj = {"metadata": _meta_of(f), "data": _map(f, 2, binary=True), "type": _str(f, 3),
           "stringData": _map(f, 4), "immutable": _bool(f, 5)}
    return {k: v for k, v in obj.items() if v is not None}


def _configmap(f: Fields) -> dict[str, Any]:
    obj = {"metadata": _meta_of(f), "data": _map(f, 2), "binaryData": _map(f, 3, binary=True),
           "immutable": _bool(f, 4)}
    return {k: v for k, v in obj.items() if v is not None}


def _namespace(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": _meta_of(f)}
    spec = f.get(2)
    if spec and isinstance(spec[-1], bytes):
        fin = _collect(spec[-1]).get(1, [])
        obj["spec"] = {"finalizers": [bytes(b).decode() for b in fin if isinstance(b, bytes)]}
    return obj


def _delete_options(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {"gracePeriodSeconds": _int(f, 1), "orphanDependents": _bool(f, 3),
                           "propagationPolicy": _str(f, 4)}
    pre = f.get(2)
    if pre and isinstance(pre[-1], bytes):
        p = _collect(pre[-1])
        obj["preconditions"] = {k: v for k, v in (("uid", _str(p, 1)), ("resourceVersion", _str(p, 2))) if v}
    if 5 in f:
        obj["dryRun"] = [bytes(b).decode() for b in f[5] if isinstance(b, bytes)]
    return {k: v for k, v in obj.items() if v is not None}


def _strs(f: Fields, n: int) -> list[str] | None:
    values = [bytes(b).decode() for b in f.get(n, []) if isinstance(b, bytes)]
    return values or None


def _compact(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop unset fields: proto2 optionals arrive as "" / 0 / false when the client left them empty."""
    return {k: v for k, v in obj.items() if v not in (None, "", 0, False, [], {})}


def _service_port(buf: bytes) -> dict[str, Any]:
    f = _collect(buf)
    port = _compact({"name": _str(f, 1), "protocol": _str(f, 2), "port": _int(f, 3), "nodePort": _int(f, 5),
                     "appProtocol": _str(f, 6)})
    raw = f.get(4, [b""])[-1]
    if isinstance(raw, bytes) and raw:
        t = _collect(raw)
        port["targetPort"] = _str(t, 3) if _int(t, 1) == 1 else _int(t, 2)
    return port


def _service(f: Fields) -> dict[str, Any]:
    raw = f.get(2, [b""])[-1]
    sf = _collect(raw if isinstance(raw, bytes) else b"")
    spec = _compact({
        "ports": [_service_port(bytes(b)) for b in sf.get(1, []) if isinstance(b, bytes)],
        "selector": _map(sf, 2), "clusterIP": _str(sf, 3), "type": _str(sf, 4), "externalIPs": _strs(sf, 5),
        "sessionAffinity": _str(sf, 7), "loadBalancerIP": _str(sf, 8), "loadBalancerSourceRanges": _strs(sf, 9),
        "externalName": _str(sf, 10), "externalTrafficPolicy": _str(sf, 11), "healthCheckNodePort": _int(sf, 12),
        "publishNotReadyAddresses": _bool(sf, 13), "ipFamilyPolicy": _str(sf, 17), "clusterIPs": _strs(sf, 18),
        "ipFamilies": _strs(sf, 19), "internalTrafficPolicy": _str(sf, 22)})
    return {"metadata": _meta_of(f), "spec": spec}


def _service_account(f: Fields) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": _meta_of(f)}
    if _bool(f, 4) is not None:
        obj["automountServiceAccountToken"] = _bool(f, 4)
    return obj


_DECODERS: dict[str, Callable[[Fields], dict[str, Any]]] = {
    "Secret": _secret, "ConfigMap": _configmap, "Namespace": _namespace, "DeleteOptions": _delete_options,
    "Service": _service, "ServiceAccount": _service_account,
}


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object as the JSON-shaped dict the rest of the server works with."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf body without the k8s\\0 magic prefix")
    envelope = _collect(body[len(MAGIC):])
    type_raw = envelope.get(1, [b""])[-1]
    type_meta = _collect(type_raw if isinstance(type_raw, bytes) else b"")
    api_version, kind = _str(type_meta, 1) or "", _str(type_meta, 2) or ""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ApiError(415, "UnsupportedMediaType",
                       f"protobuf decoding of kind {kind!r} is not supported by the lab API; send JSON")
    raw = envelope.get(2, [b""])[-1]
    obj = decoder(_collect(raw if isinstance(raw, bytes) else b""))
    return {"apiVersion": api_version or "v1", "kind": kind, **obj}

