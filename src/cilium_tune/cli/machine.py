"""Machine output: one document per command, as JSON or YAML (`-o json|yaml`), named by its `schema`.

Every document is an object whose first key `schema` is `cilium-tune/<name>/v<N>`; N changes only on an
incompatible change (docs/machine-output.md lists them). A list (profiles, runs) goes under `items`.
Values JSON lacks (IP addresses, datetimes) become strings, the same in both formats.
"""

from __future__ import annotations

import json
from typing import Any

import click
import yaml

MACHINE = ("json", "yaml")


def document(body: Any, schema: str) -> dict[str, Any]:
    """`body` (an object, a list, or JSON text) as a document named `schema` (kept when it has one)."""
    if isinstance(body, str):
        body = json.loads(body)
    plain = json.loads(json.dumps(body, default=str))
    if isinstance(plain, dict):
        return plain if "schema" in plain else {"schema": schema, **plain}
    return {"schema": schema, "items": plain}


def echo_document(body: Any, output: str, schema: str) -> None:
    """Print the document in the chosen format (`json` or `yaml`)."""
    doc = document(body, schema)
    if output == "yaml":
        click.echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000), nl=False)
    else:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
