"""Lab fixtures: a bare topology, and a whole `lab up` cluster, each under its own instance name.

Every fixture uses a fresh random instance name, so test runs never touch another engineer's (or
another run's) namespaces, and each checks on the way out that nothing of its instance is left.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cilium_tune.lab import cluster, topology
from cilium_tune.lab.cluster import LabInstance

_USED: set[str] = set()


def unique_name() -> str:
    name = "t" + secrets.token_hex(4)
    _USED.add(name)
    return name


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """After the last lab test: no namespace or process of any instance these tests made is left."""
    yield
    left = {name: topology.lab_namespaces(name) for name in sorted(_USED)}
    strays = [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and any(
        f"/{name}".encode() in _cmdline(p) for name in _USED)]
    assert {k: v for k, v in left.items() if v} == {}, "lab namespaces left behind"
    assert strays == [], f"lab processes left behind: {strays}"
    assert cluster.DEFAULT_NAME not in _USED


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


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
def lab(root: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabInstance]:
    """A `lab up` cluster of 2 nodes; `lab down` afterwards must leave nothing behind."""
    state = Path(tmp_path_factory.mktemp("lab"))
    instance = cluster.up(unique_name(), nodes=2, base_dir=state)
    try:
        yield instance
    finally:
        cluster.down(instance.name, base_dir=state)
        assert cluster.leftovers(instance.name, base_dir=state) == []
