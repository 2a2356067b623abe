"""`lint --facts live` against a lab cluster finds exactly what `lint` finds on a saved snapshot of it.

Needs root (network namespaces); skipped elsewhere with the reason, required in CI.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

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


def lint_json(cli: Callable[..., Any], facts: str, *more: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = cli("lint", "--profile", "lab", "--facts", facts, *more, "-o", "json")
    return code, json.loads(out)


def test_live_facts_equal_a_saved_snapshot(kubeconfig: Path, tmp_path: Path, cli: Callable[..., Any]) -> None:
    saved = tmp_path / "lab.json"
    assert cli("facts", "--kubeconfig", str(kubeconfig), "--out", str(saved), "-o", "json").code == 0
    live_code, live = lint_json(cli, "live", "--kubeconfig", str(kubeconfig))
    file_code, offline = lint_json(cli, str(saved))
    assert live_code == file_code
    assert live["findings"] == offline["findings"]
    assert live["summary"] == offline["summary"]
    assert live["summary"]["rules_run"] == len(registry)


def test_the_lab_comes_with_the_paired_gateway_api_crds(kubeconfig: Path, cli: Callable[..., Any]) -> None:
    _, live = lint_json(cli, "live", "--kubeconfig", str(kubeconfig))
    fired = {finding["rule_id"] for finding in live["findings"]}
    assert not fired & {"CT701", "CT702", "CT703"}, "lab up installs the v1.4 experimental bundle"
