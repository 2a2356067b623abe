"""`cilium-tune facts`: offline with --facts FILE, text and JSON output, and exit codes for bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from facts_cluster import fake

from cilium_tune.facts.collect import collect
from cilium_tune.facts.io import save_snapshot


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.json"
    save_snapshot(collect(fake(), now=lambda: datetime(2026, 11, 26, tzinfo=UTC)), path)
    return path


def test_json_output_of_a_saved_snapshot_is_the_snapshot(saved: Path, cli: Callable[..., Any]) -> None:
    code, out, _ = cli("facts", "--facts", str(saved), "-o", "json")
    assert code == 0
    assert json.loads(out) == json.loads(saved.read_text())


def test_text_output_summarises_the_cluster(saved: Path, cli: Callable[..., Any]) -> None:
    code, out, _ = cli("facts", "--facts", str(saved))
    assert code == 0
    assert "nodes: 3" in out
    assert "helm release: kube-system/cilium rev 2 deployed, chart 1.19.0-rc.1" in out
    assert "10.42.0.0/16: 1" in out  # the flannel leftover is visible at a glance
    assert "unknown: probes" in out


def test_out_writes_the_snapshot_atomically(saved: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    copy = tmp_path / "copy.json"
    code, _, _ = cli("facts", "--facts", str(saved), "--out", str(copy))
    assert code == 0 and copy.read_text() == saved.read_text()


def test_bad_facts_file_exits_2_with_the_field(tmp_path: Path, cli: Callable[..., Any]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "collected_at": "yesterday"}))
    code, _, err = cli("facts", "--facts", str(bad))
    assert code == 2
    assert "error: " in err and "collected_at" in err and "Traceback" not in err


def test_no_kubeconfig_exits_2_and_suggests_offline_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    code, _, err = cli("facts")
    assert code == 2 and "hint:" in err and "--facts" in err


def test_snapshot_can_come_from_stdin(
    saved: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(saved.read_text()))
    code, out, _ = cli("facts", "--facts", "-", "-o", "json")
    assert code == 0 and json.loads(out) == json.loads(saved.read_text())


def test_facts_live_collects_from_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """`--facts live` (the spelling offline-by-default commands use) means the kubeconfig, not a file."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    code, _, err = cli("facts", "--facts", "live")
    assert code == 2 and "no kubeconfig found" in err
