"""`cilium-tune profile list/show/init/schema` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import yaml

from cilium_tune.profile import load_profile, parse_profile
from cilium_tune.profile.schema import schema_text
from cilium_tune.profile.starter import field_descriptions, starter_text

ROOT = Path(__file__).resolve().parents[2]


def test_list_shows_every_builtin(cli: Any) -> None:
    result = cli("profile", "list")
    assert result.code == 0
    assert result.out.splitlines()[0].split() == ["NAME", "NODES", "DESCRIPTION"]
    assert [line.split()[0] for line in result.out.splitlines()[1:]] == ["lab", "skyforge-dev"]
    listing = json.loads(cli("profile", "list", "-o", "json").out)
    assert listing["schema"] == "cilium-tune/profiles/v1"
    rows = listing["items"]
    assert {r["name"]: r["nodes"] for r in rows} == {"lab": 3, "skyforge-dev": 3}


def test_show_prints_yaml_that_loads_back_to_the_same_profile(cli: Any, tmp_path: Path) -> None:
    result = cli("profile", "show", "skyforge-dev")
    assert result.code == 0
    assert result.out.startswith("# profile skyforge-dev (from builtin:skyforge-dev)\n")
    path = tmp_path / "copy.yaml"
    path.write_text(result.out)
    assert load_profile(str(path)) == load_profile("skyforge-dev")


def test_show_defaults_to_skyforge_dev_and_offers_json_and_source(cli: Any) -> None:
    data = json.loads(cli("profile", "show", "-o", "json").out)
    assert data["cluster"]["name"] == "skyforge-dev"
    source = cli("profile", "show", "lab", "-o", "source").out
    assert "# lab: the local stand-in cluster" in source


def test_init_writes_a_commented_starter_that_validates(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    result = cli("profile", "init", str(path))
    assert result.code == 0
    text = path.read_text()
    assert text == starter_text()
    assert "# kubeconfig context to use" in text
    assert parse_profile(text, "starter").cluster.name == "my-cluster"
    assert cli("profile", "show", str(path)).code == 0


def test_init_refuses_to_overwrite_without_force(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("keep me\n")
    result = cli("profile", "init", str(path))
    assert result.code == 2
    assert "already exists" in result.err and "--force" in result.err
    assert path.read_text() == "keep me\n"
    assert cli("profile", "init", str(path), "--force").code == 0
    assert path.read_text() == starter_text()


def test_starter_carries_every_field_description_as_a_comment() -> None:
    text = starter_text()
    for path, description in field_descriptions().items():
        assert f"# {description[:40]}" in text, path


def test_schema_is_valid_json_and_forbids_unknown_fields(cli: Any) -> None:
    schema = json.loads(cli("profile", "schema").out)
    assert schema["additionalProperties"] is False
    models = [d for d in schema["$defs"].values() if d.get("properties")]
    assert all(d.get("additionalProperties") is False for d in models)
    assert "routing_mode" in schema["$defs"]["Tuning"]["properties"]


def test_committed_schema_doc_is_current(cli: Any) -> None:
    doc = ROOT / "docs" / "profile-schema.json"
    assert doc.read_text() == schema_text(), "run: cilium-tune profile schema --out docs/profile-schema.json"
    assert cli("profile", "schema", "--out", str(doc), "--check").code == 0


def test_schema_check_mode_reports_a_stale_file_and_writes_nothing(cli: Any, tmp_path: Path) -> None:
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")
    result = cli("profile", "schema", "--out", str(stale), "--check")
    assert result.code == 1
    assert "out of date" in result.err
    assert stale.read_text() == "{}\n"
    assert cli("profile", "schema", "--out", str(stale)).out.endswith("written\n")
    assert cli("profile", "schema", "--out", str(stale)).out.endswith("unchanged\n")


def test_builtin_profile_files_are_plain_yaml_with_the_same_data() -> None:
    from cilium_tune.profile import builtin_profile_text

    for name in ("lab", "skyforge-dev"):
        data = yaml.safe_load(builtin_profile_text(name))
        assert msgspec.to_builtins(load_profile(name))["nodes"] == data["nodes"]
