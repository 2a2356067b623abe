"""The four PATCH flavours, as pure functions over JSON-like data.

- JSON merge patch (RFC 7386): maps merge, `null` deletes, lists replace.
- Strategic merge (approximation): like merge patch, but lists of maps that carry a merge key (`name`,
  `containerPort`, `port`, `type`, `mountPath`, `ip`...) merge element by element, and `$patch: delete`
  removes an element. Real Kubernetes takes the merge key per field from the type's schema; taking it
  from the data is close enough for the objects helm and kubectl patch.
- JSON patch (RFC 6902): add, remove, replace, move, copy, test.
- Server-side apply merges the applied configuration as a strategic merge does; field ownership,
  conflicts and the removal of fields a manager stopped applying are managed.py's.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, bad_request

MERGE_KEYS = ("name", "containerPort", "mountPath", "devicePath", "ip", "type", "port", "key", "topologyKey")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 merge patch; returns a new value and leaves both inputs untouched."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def merge_key(items: list[Any]) -> str | None:
    """The key that identifies elements of a list of maps, or None for an atomic list."""
    maps = [i for i in items if isinstance(i, dict)]
    if not maps or len(maps) != len(items):
        return None
    return next((key for key in MERGE_KEYS if all(key in m for m in maps)), None)


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch approximation (see the module docstring)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = strategic_merge(result.get(key), value)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(current: list[Any], patch: list[Any]) -> list[Any]:
    key = merge_key(patch) if patch else None
    if key is None or (current and merge_key(current) != key):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and i.get("$patch"))]
    out = [copy.deepcopy(i) for i in current]
    for item in patch:
        idx = next((n for n, c in enumerate(out) if c.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
        elif idx is None:
            out.append(copy.deepcopy(item))
        else:
            out[idx] = strategic_merge(out[idx], item)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"json patch: path {path!r} must start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for part in parts:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise ApiError(422, "Invalid", f"json patch: path {path!r} does not exist")
    return cur


def _add(doc: Any, path: str, value: Any, replace: bool) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _walk(doc, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise ApiError(422, "Invalid", f"json patch: replace of missing path {path!r}")
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list):
        if last == "-":
            parent.append(copy.deepcopy(value))
        elif last.isdigit() and int(last) <= len(parent):
            if replace:
                parent[int(last)] = copy.deepcopy(value)
            else:
                parent.insert(int(last), copy.deepcopy(value))
        else:
            raise ApiError(422, "Invalid", f"json patch: bad list index in {path!r}")
    else:
        raise ApiError(422, "Invalid", f"json patch: parent of {path!r} is not a container")
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent = _walk(doc, parts[:-1], path)
    _walk(doc, parts, path)
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch; raises a 422 ApiError when an operation does not apply."""
    if not isinstance(ops, list):
        raise bad_request("json patch: the body must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, op.get("value"), replace=False)
        elif kind == "replace":
            doc = _add(doc, path, op.get("value"), replace=True)
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_walk(doc, _pointer(op.get("from", "")), op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, value, replace=False)
        elif kind == "test":
            if _walk(doc, _pointer(path), path) != op.get("value"):
                raise ApiError(422, "Invalid", f"json patch: test failed at {path!r}")
        else:
            raise bad_request(f"json patch: unknown op {kind!r}")
    return doc
