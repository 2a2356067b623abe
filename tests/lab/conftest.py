"""Lab fixtures: a bare topology, and a whole `lab up` cluster, each under its own instance name.

Every fixture uses a fresh random instance name, so test runs never touch another engineer's (or
another run's) namespaces, and each checks on the way out that nothing of its instance is left.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cilium_tune.lab import topology


def unique_name() -> str:
    return "t" + secrets.token_hex(4)


def leftovers(name: str) -> list[str]:
    """Namespaces of instance `name` that still exist."""
    return topology.lab_namespaces(name)


@pytest.fixture
def lab_name() -> str:
    """A fresh instance name for a test that builds its own lab pieces."""
    return unique_name()


@pytest.fixture(scope="session")
def topo(root: None) -> Iterator[topology.Topology]:
    """A two-node dual-stack topology without an API server (for the runtime tests)."""
    t = topology.plan_topology(unique_name(), 2)
    topology.build(t)
    try:
        yield t
    finally:
        topology.teardown(t.lab)
        assert leftovers(t.lab) == []


@pytest.fixture(scope="session")
def lab(root: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A `lab up` cluster of 2 nodes; `lab down` afterwards must leave nothing behind."""
    from cilium_tune.lab import cluster

    state = Path(tmp_path_factory.mktemp("lab"))
    instance = cluster.up(unique_name(), nodes=2, base_dir=state)
    try:
        yield instance
    finally:
        cluster.down(instance.name, base_dir=state)
        assert cluster.leftovers(instance.name, base_dir=state) == []
