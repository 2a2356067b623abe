"""The profile JSON Schema, as printed by `profile schema` and committed as docs/profile-schema.json."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from cilium_tune.profile.model import Profile

SCHEMA_ID = "https://cilium-tune.dev/schemas/profile.json"
SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "cilium-tune profile"


def schema() -> dict[str, Any]:
    """msgspec's schema with the profile itself at the top (msgspec puts it under `$defs` behind a `$ref`)."""
    generated = msgspec.json.schema(Profile)
    defs: dict[str, Any] = generated["$defs"]
    top = defs.pop(Profile.__name__)
    return {"$id": SCHEMA_ID, "$schema": SCHEMA_DRAFT, **top, "title": TITLE, "$defs": defs}


def schema_text() -> str:
    """The schema as stable JSON text (sorted keys, final newline) so the committed copy can be checked."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"
