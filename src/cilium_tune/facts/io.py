"""Snapshot files: load with errors that name the field, save atomically, export the JSON Schema."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cilium_tune.errors import InputError
from cilium_tune.facts.model import SCHEMA_VERSION, Snapshot
from cilium_tune.files import write_atomic

SCHEMA_ID = "https://cilium-tune.invalid/facts-schema.json"


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read a snapshot written by `cilium-tune facts -o json` (or `save_snapshot`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"{p}: facts file not found", hint="collect one with `cilium-tune facts -o json > FILE`"
        ) from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read facts file ({exc.strerror})") from None
    return loads_snapshot(text, source=str(p))


def loads_snapshot(text: str, source: str = "<facts>") -> Snapshot:
    """Parse a snapshot from JSON text; `source` names it in errors (a path, or '<stdin>')."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})",
            hint="facts files are the JSON that `cilium-tune facts -o json` prints",
        ) from None
    return parse_snapshot(data, source=source)


def parse_snapshot(data: Any, source: str = "<facts>") -> Snapshot:
    """Validate decoded JSON as a Snapshot; the error names the first bad field by its dotted path."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a facts snapshot is a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{source}: schema_version {version!r} unsupported (this cilium-tune reads {SCHEMA_VERSION})",
            hint="re-collect the snapshot with this version of cilium-tune",
        )
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = _dotted(first["loc"], data)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(
            f"{source}: field {where}: {first['msg']}{more}",
            hint="see docs/facts-schema.json for the expected shape",
        ) from None


def _dotted(loc: tuple[int | str, ...], data: Any) -> str:
    """`('nodes', 0, 'kernel', 'major')` -> `nodes[0](node-a).kernel.major`: index plus name when known."""
    out = ""
    cursor = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            cursor = cursor[part] if isinstance(cursor, list) and part < len(cursor) else None
            if isinstance(cursor, dict) and isinstance(cursor.get("name"), str):
                out += f"({cursor['name']})"
        else:
            out += f".{part}" if out else str(part)
            cursor = cursor.get(part) if isinstance(cursor, dict) else None
    return out


def dump_snapshot(snapshot: Snapshot) -> str:
    """The canonical JSON text of a snapshot (indented, stable key order as the model declares)."""
    return snapshot.model_dump_json(indent=2) + "\n"


def save_snapshot(snapshot: Snapshot, path: str | os.PathLike[str]) -> None:
    """Write atomically, so a reader never sees half a snapshot."""
    write_atomic(path, dump_snapshot(snapshot))


def schema_json() -> str:
    """The JSON Schema of a snapshot file, as committed in docs/facts-schema.json."""
    schema = Snapshot.model_json_schema(mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
