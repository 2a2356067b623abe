"""Snapshot files: clear errors naming the field, version check, and the committed JSON Schema is current."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cilium_tune.errors import InputError
from cilium_tune.facts.io import dump_snapshot, load_snapshot, schema_json
from cilium_tune.facts.model import KernelVersion, NodeFacts, Snapshot

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "facts-schema.json"


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(data))
    return path


def _minimal() -> dict[str, object]:
    snap = Snapshot(collected_at=datetime(2026, 11, 26, tzinfo=UTC), nodes=(NodeFacts(name="n1"),))
    data: dict[str, object] = json.loads(dump_snapshot(snap))
    return data


def test_bad_field_is_named_with_its_path_and_node(tmp_path: Path) -> None:
    data = _minimal()
    data["nodes"] = [{"name": "n1", "kernel": {"major": "six"}}]
    with pytest.raises(InputError, match=r"field nodes\[0\]\(n1\)\.kernel\.major: .*integer") as err:
        load_snapshot(_write(tmp_path, data))
    assert err.value.hint


def test_unknown_key_is_refused_so_typos_do_not_pass_silently(tmp_path: Path) -> None:
    data = _minimal()
    data["helm_relase"] = None
    with pytest.raises(InputError, match="helm_relase"):
        load_snapshot(_write(tmp_path, data))


def test_other_schema_version_is_refused_with_a_hint(tmp_path: Path) -> None:
    data = _minimal()
    data["schema_version"] = 2
    with pytest.raises(InputError, match="schema_version 2") as err:
        load_snapshot(_write(tmp_path, data))
    assert "re-collect" in (err.value.hint or "")


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text('{\n  "schema_version": 1,\n  oops\n}')
    with pytest.raises(InputError, match=r"facts.json:3:3: not valid JSON"):
        load_snapshot(path)


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found") as err:
        load_snapshot(tmp_path / "nope.json")
    assert "cilium-tune facts" in (err.value.hint or "")


def test_kernel_versions_compare_numerically_and_ignore_the_distro_suffix() -> None:
    assert KernelVersion.parse("6.10.2-arch1") > KernelVersion(6, 8)
    assert KernelVersion.parse("6.8.0-45-generic") == KernelVersion(6, 8)
    assert KernelVersion.parse("5.15") < KernelVersion(6, 7)
    assert KernelVersion.parse("unknown") is None


def test_is_known_rejects_an_area_that_does_not_exist() -> None:
    snap = Snapshot(collected_at=datetime(2026, 11, 26, tzinfo=UTC))
    with pytest.raises(KeyError, match="helm_relase"):
        snap.is_known("helm_relase")


def test_committed_schema_is_current() -> None:
    """Regenerate with CT_UPDATE_DOCS=1 pytest tests/facts/test_io.py."""
    if os.environ.get("CT_UPDATE_DOCS") == "1":
        SCHEMA.write_text(schema_json())
    assert SCHEMA.exists(), "docs/facts-schema.json missing: run with CT_UPDATE_DOCS=1"
    assert SCHEMA.read_text() == schema_json(), "docs/facts-schema.json is stale: run with CT_UPDATE_DOCS=1"
