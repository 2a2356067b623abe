"""Machine output: every document names its `schema`, `-o yaml` is the same document as `-o json`, a
saved facts document reads back, and the plan carries its findings only under `preflight`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_tune.facts.io import save_snapshot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rules"))
from rule_cases import BASES, read_yaml, snapshot_from

COMMANDS = {
    "cilium-tune/plan/v1": ["plan", "--overlays", "profile", "--facts", "cluster.json"],
    "cilium-tune/lint/v1": ["lint", "--facts", "cluster.json", "-p", "skyforge-dev"],
    "cilium-tune/facts/v1": ["facts", "--facts", "cluster.json"],
    "cilium-tune/rules/v1": ["rules", "list"],
    "cilium-tune/rule/v1": ["rules", "explain", "CT201"],
    "cilium-tune/profiles/v1": ["profile", "list"],
}


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    save_snapshot(snapshot_from(read_yaml(BASES / "facts" / "skyforge-dev.yaml")), str(tmp_path / "cluster.json"))
    return tmp_path


@pytest.mark.parametrize("schema", COMMANDS)
def test_json_and_yaml_are_one_document_named_by_its_schema(
    schema: str, here: Path, cli: Callable[..., Any]
) -> None:
    _, as_json, _ = cli(*COMMANDS[schema], "-o", "json")
    _, as_yaml, _ = cli(*COMMANDS[schema], "-o", "yaml")
    document = json.loads(as_json)
    assert next(iter(document)) == "schema" and document["schema"] == schema
    assert yaml.safe_load(as_yaml) == document


def test_saved_facts_document_reads_back_and_plan_has_no_dead_findings(
    here: Path, cli: Callable[..., Any]
) -> None:
    _, saved, _ = cli("facts", "--facts", "cluster.json", "-o", "json")
    (here / "again.json").write_text(saved)
    code, plan, _ = cli("plan", "--overlays", "profile", "--facts", "again.json", "-o", "json")
    document = json.loads(plan)
    assert "findings" not in document and document["preflight"]["schema"] == "cilium-tune/lint/v1"
    (here / "lint.json").write_text(json.dumps(document["preflight"]))
    code, _, _ = cli("lint", "--facts", "lint.json")
    assert code == 2, "a lint document is refused as facts, naming its schema"


def test_documents_have_the_keys_their_json_schema_requires(here: Path, cli: Callable[..., Any]) -> None:
    spec = json.loads((Path(__file__).resolve().parents[2] / "docs" / "machine-output.schema.json").read_text())
    required = {branch["properties"]["schema"]["const"]: branch["required"] for branch in spec["oneOf"]}
    for schema, args in COMMANDS.items():
        _, out, _ = cli(*args, "-o", "json")
        missing = set(required[schema]) - set(json.loads(out))
        assert not missing, f"{schema}: missing {missing}"
