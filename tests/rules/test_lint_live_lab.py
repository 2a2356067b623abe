"""`lint --facts live` against a lab cluster finds exactly what `lint` finds on a saved snapshot of it.

Needs root (network namespaces); skipped elsewhere with the reason, required in CI.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cilium_tune.cli.main import main
from cilium_tune.rules import registry

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def kubeconfig(root: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from cilium_tune.lab import cluster, topology

    name = "tl" + secrets.token_hex(3)
    state = tmp_path_factory.mktemp("lintlab")
    instance = cluster.up(name, nodes=2, base_dir=state)
    try:
        yield instance.kubeconfig
    finally:
        cluster.down(name, base_dir=state)
        assert topology.lab_namespaces(name) == []


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def test_live_facts_equal_a_saved_snapshot(
    kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "lab.json"
    main(["facts", "--kubeconfig", str(kubeconfig), "--out", str(saved), "-o", "json"])
    capsys.readouterr()
    live_code, live = run_json(
        capsys, "lint", "--profile", "lab", "--facts", "live", "--kubeconfig", str(kubeconfig), "-o", "json"
    )
    file_code, offline = run_json(capsys, "lint", "--profile", "lab", "--facts", str(saved), "-o", "json")
    assert live_code == file_code
    assert live["findings"] == offline["findings"]
    assert live["summary"] == offline["summary"]
    assert live["summary"]["rules_run"] == len(registry)  # type: ignore[index]


def test_the_lab_comes_with_the_paired_gateway_api_crds(kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, live = run_json(
        capsys, "lint", "--profile", "lab", "--facts", "live", "--kubeconfig", str(kubeconfig), "-o", "json"
    )
    fired = {finding["rule_id"] for finding in live["findings"]}  # type: ignore[attr-defined]
    assert not fired & {"CT701", "CT702", "CT703"}, "lab up installs the v1.4 experimental bundle"
