"""Field managers (`metadata.managedFields`) and server-side apply's ownership rules, as pure functions.

Kubernetes records, per manager, the set of fields it owns, and server-side apply decides with it:
- an update (create, PUT, any non-apply PATCH) gives its manager the fields whose value it changed
  and takes them from every other manager, as `kubectl patch` takes a field from helm;
- an apply gives its manager exactly the fields of its configuration. Where that changes the value of
  a field another manager owns, the apply is refused with 409 and the conflict list, unless forced
  (`force=true`, helm's `--force-conflicts`, kubectl's `--force-conflicts`), which moves the field;
- a field its manager applied before and applies no more is removed, unless another manager owns it.

Sets are kept in the real FieldsV1 notation (`f:<field>`, `k:<key JSON>` for an element of a keyed
list, `.` for an element owned as a whole), so kubectl shows and sends the same managedFields as on a
cluster. What the lab simplifies: without the types' schemas, a list of maps is keyed by the first
merge key its elements all carry (patch.MERGE_KEYS), other lists are atomic, and maps and structs
alike are tracked by their leaves. Only requests that come over HTTP are recorded: the built-in
controllers write without a manager, which keeps bulk controller work (10,000 pods) as cheap as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .patch import merge_key, strategic_merge

Path = tuple[str, ...]
APPLY, UPDATE = "Apply", "Update"
_MISSING = object()
# Bookkeeping the server owns: never part of a manager's set.
_IGNORED_META = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                           "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"})


@dataclass
class Entry:
    """One managedFields entry."""

    manager: str
    operation: str
    api_version: str
    subresource: str = ""
    time: str = ""
    fields: set[Path] = field(default_factory=set)

    def same_manager(self, manager: str, operation: str, api_version: str, subresource: str) -> bool:
        """Appliers are one manager across API versions; updaters are one per version (as Kubernetes keys them)."""
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource) and (
            operation == APPLY or self.api_version == api_version)

    def describe(self) -> str:
        """How a conflict names this manager (the API server's printManager)."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        return f"{text} using {self.api_version}" if self.operation == UPDATE else text

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version,
                               "time": self.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(self.fields)}
        if self.subresource:
            doc["subresource"] = self.subresource
        return doc


# --- field sets -----------------------------------------------------------------------------------------

def field_set(obj: dict[str, Any], subresource: str = "") -> set[Path]:
    """The fields an object sets: its leaves and its keyed list elements (status only for the status subresource)."""
    out: set[Path] = set()
    status = subresource == "status"
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status") != status:
            continue
        if key == "metadata" and isinstance(value, dict):
            for mkey, mvalue in value.items():
                if mkey not in _IGNORED_META:
                    _walk(("f:metadata", f"f:{mkey}"), mvalue, out)
        else:
            _walk((f"f:{key}",), value, out)
    return out


def _walk(path: Path, value: Any, out: set[Path]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _walk((*path, f"f:{key}"), item, out)
        return
    key = merge_key(value) if isinstance(value, list) and value else None
    if key is None:
        out.add(path)
        return
    for item in value:
        elem = (*path, "k:" + json.dumps({key: item[key]}, separators=(",", ":")))
        out.add(elem)
        for name, sub in item.items():
            _walk((*elem, f"f:{name}"), sub, out)


def value_at(obj: Any, path: Path) -> Any:
    """The value at a path, or _MISSING."""
    cur = obj
    for elem in path:
        kind, _, rest = elem.partition(":")
        if kind == "f" and isinstance(cur, dict) and rest in cur:
            cur = cur[rest]
        elif kind == "k" and isinstance(cur, list):
            ((key, want),) = json.loads(rest).items()
            cur = next((i for i in cur if isinstance(i, dict) and i.get(key) == want), _MISSING)
            if cur is _MISSING:
                return _MISSING
        else:
            return _MISSING
    return cur


def _differs(old: Any, new: Any, path: Path) -> bool:
    """Whether a field changed: a leaf's value, or a list element's presence."""
    a, b = value_at(old, path), value_at(new, path)
    if path[-1].startswith("k:"):
        return (a is _MISSING) != (b is _MISSING)
    return bool(a != b)


def _remove(obj: dict[str, Any], path: Path) -> None:
    """Delete the field at `path`, then parents the deletion left empty."""
    parent = value_at(obj, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        ((key, want),) = json.loads(rest).items()
        parent[:] = [i for i in parent if not (isinstance(i, dict) and i.get(key) == want)]
    else:
        return
    if not parent and len(path) > 2:
        _remove(obj, path[:-1])


def _is_element_key(path: Path) -> bool:
    """The key field of a keyed list element (`name` of `k:{"name":...}`): it goes only with its element."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    return path[-1][2:] in json.loads(path[-2][2:])


def path_string(path: Path) -> str:
    """`.spec.template.spec.containers[name="agent"].image`, as conflicts print a path."""
    out = []
    for elem in path:
        kind, _, rest = elem.partition(":")
        if kind == "f":
            out.append(f".{rest}")
        else:
            out.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]")
    return "".join(out)


# --- FieldsV1 -------------------------------------------------------------------------------------------

def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """Paths as a FieldsV1 tree: a path that is a member and has members below is marked with `.`."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for elem in path:
            node = node.setdefault(elem, {})
    for path in paths:
        node = tree
        for elem in path:
            node = node[elem]
        if node:
            node["."] = {}
    return tree


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    if not isinstance(tree, dict):
        return out
    for key, sub in tree.items():
        if key == ".":
            out.add(prefix)
        elif isinstance(sub, dict) and any(k != "." for k in sub):
            out |= from_fields_v1(sub, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def entries_of(obj: dict[str, Any]) -> list[Entry]:
    out = []
    for doc in obj.get("metadata", {}).get("managedFields") or []:
        if isinstance(doc, dict) and doc.get("manager") is not None:
            out.append(Entry(str(doc["manager"]), str(doc.get("operation", UPDATE)), str(doc.get("apiVersion", "")),
                             str(doc.get("subresource", "")), str(doc.get("time", "")),
                             from_fields_v1(doc.get("fieldsV1"))))
    return out


def _store(obj: dict[str, Any], entries: list[Entry]) -> None:
    """Write the entries that still own something (an empty list when none do)."""
    obj["metadata"]["managedFields"] = [e.to_dict() for e in entries if e.fields]


def _entry(entries: list[Entry], manager: str, operation: str, api_version: str, subresource: str) -> Entry:
    found = next((e for e in entries if e.same_manager(manager, operation, api_version, subresource)), None)
    if found is None:
        found = Entry(manager, operation, api_version, subresource)
        entries.append(found)
    return found


# --- the two operations ---------------------------------------------------------------------------------

def record_create(obj: dict[str, Any], manager: str, api_version: str, time: str,
                  applied: dict[str, Any] | None = None) -> None:
    """A new object: its creator owns every field it has (defaults included, as on a cluster), or, when it
    was created by an apply, the fields of the applied configuration."""
    if applied is None:
        record_update(None, obj, manager, api_version, "", time)
        return
    _store(obj, [Entry(manager, APPLY, api_version, "", time, field_set(applied))])


def record_update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, api_version: str,
                  subresource: str, time: str) -> None:
    """An update by `manager` (create when `old` is None): it owns what it changed, others lose it."""
    entries = entries_of(old) if old is not None else []
    before = field_set(old, subresource) if old is not None else set()
    after = field_set(new, subresource)
    changed = {p for p in after if old is None or _differs(old, new, p)}
    gone = before - after
    for e in entries:
        e.fields -= changed | gone
    if changed:
        mine = _entry(entries, manager, UPDATE, api_version, subresource)
        mine.fields |= changed
        mine.time = time
    _store(new, entries)


def apply(live: dict[str, Any], applied: dict[str, Any], manager: str, api_version: str, subresource: str,
          time: str, *, force: bool = False) -> dict[str, Any]:
    """The object after `manager` applies configuration `applied` to `live` ({} to create).

    The configuration is merged in (patch.strategic_merge), the fields the manager gave up are removed
    and managedFields recorded; raises the API server's 409 when the apply would change fields other
    managers own and is not forced.
    """
    merged: dict[str, Any] = strategic_merge(live, applied)
    entries = entries_of(live)
    mine = _entry(entries, manager, APPLY, api_version, subresource)
    wanted = field_set(applied, subresource)
    conflicts = [(e, p) for e in entries if e is not mine for p in sorted(e.fields & wanted)
                 if _differs(live, merged, p)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    for e, p in conflicts:
        e.fields.discard(p)
    others = set().union(*(e.fields for e in entries if e is not mine))
    removed: list[Path] = []
    for p in sorted(mine.fields - wanted, key=len):  # a list element goes whole, before its fields
        if any(p[:len(r)] == r for r in removed) or _is_element_key(p):
            continue
        if p not in others and not any(o[:len(p)] == p for o in others):
            _remove(merged, p)
            removed.append(p)
    mine.fields, mine.api_version, mine.time = wanted, api_version, time
    _store(merged, entries)
    return merged


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> errors.ApiError:
    """409 Conflict with one FieldManagerConflict cause per field, worded as the API server words it."""
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {e.describe()}",
               "field": path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        message = f"Apply failed with 1 conflict: {causes[0]['message']}: {causes[0]['field']}"
    else:
        lines = []
        for who in sorted({e.describe() for e, _ in conflicts}):
            lines.append(f"conflicts with {who}:")
            lines += [f"- {path_string(p)}" for e, p in conflicts if e.describe() == who]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, {"causes": causes})
