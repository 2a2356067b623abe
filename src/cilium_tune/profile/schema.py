"""The profile JSON Schema, as printed by `profile schema` and committed as docs/profile-schema.json."""

from __future__ import annotations

import json

from cilium_tune.profile.model import Profile

SCHEMA_ID = "https://cilium-tune.dev/schemas/profile.json"


def schema_text() -> str:
    """The schema as stable JSON text (sorted keys, final newline) so the committed copy can be checked."""
    schema = Profile.model_json_schema(mode="validation")
    schema = {"$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
