"""Snapshot files: load with errors that name the field, save atomically, export the JSON Schema."""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import ValidationError

from cilium_tune.errors import InputError
from cilium_tune.facts.model import SCHEMA_VERSION, Snapshot
from cilium_tune.files import write_atomic
from cilium_tune.inputs import loads_json, read_text
from cilium_tune.values.redact import SECRETS

SCHEMA_ID = "https://cilium-tune.invalid/facts-schema.json"


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read a snapshot written by `cilium-tune facts -o json` (or `save_snapshot`); '-' reads stdin."""
    text = read_text(path, "facts file", missing="collect one with `cilium-tune facts -o json > FILE`")
    return loads_snapshot(text, source="<stdin>" if str(path) == "-" else str(path))


DOCUMENT_SCHEMA = "cilium-tune/facts/v1"


def loads_snapshot(text: str, source: str = "<facts>") -> Snapshot:
    """Parse a snapshot from JSON text; `source` names it in errors (a path, or '<stdin>')."""
    return parse_snapshot(loads_json(text, source, "facts file"), source=source, text=text)


def parse_snapshot(data: Any, source: str = "<facts>", text: str | None = None) -> Snapshot:
    """Validate decoded JSON as a Snapshot; the error names the first bad field by its line and dotted path."""
    hint = "collect the snapshot again with `cilium-tune facts -o json > FILE` (see docs/facts-schema.json)"
    if not isinstance(data, dict):
        raise InputError(f"{source}: a facts snapshot is a JSON object, got {type(data).__name__}", hint=hint)
    if data.get("schema", DOCUMENT_SCHEMA) != DOCUMENT_SCHEMA:
        raise InputError(f"{source}: a {data['schema']!r} document, not a facts snapshot ({DOCUMENT_SCHEMA})",
                         hint=hint)
    data = {key: value for key, value in data.items() if key != "schema"}
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{source}: schema_version {version!r} unsupported (this cilium-tune reads {SCHEMA_VERSION})",
            hint="re-collect the snapshot with this version of cilium-tune",
        )
    release = data.get("helm_release")
    if isinstance(release, dict):
        SECRETS.remember([release.get("user_values"), release.get("computed_values")])
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = _dotted(first["loc"], data)
        line = _line_of(text, first["loc"]) if text is not None else None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = str((first.get("ctx") or {}).get("error") or first["msg"])
        raise InputError(
            f"{source}{f':{line}' if line else ''}: field {where}: {message}{more}",
            hint="fix that field, or " + hint,
        ) from None


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """The line of the JSON value at `loc` (JSON is YAML, and libyaml keeps line marks)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


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
    """The canonical JSON text of a snapshot: `schema` first (as every machine document of cilium-tune
    has it), then the model's fields in their declared order, indented."""
    body = snapshot.model_dump_json(indent=2)
    return '{\n  "schema": "' + DOCUMENT_SCHEMA + '",' + body[1:] + "\n"


def save_snapshot(snapshot: Snapshot, path: str | os.PathLike[str]) -> None:
    """Write atomically, so a reader never sees half a snapshot."""
    write_atomic(path, dump_snapshot(snapshot))


def schema_json() -> str:
    """The JSON Schema of a snapshot file, as committed in docs/facts-schema.json."""
    schema = Snapshot.model_json_schema(mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    schema["properties"] = {
        "schema": {"const": DOCUMENT_SCHEMA, "description": "The document's name and version."},
        **schema["properties"],
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
