"""Shared fixtures: the pinned helm binaries and root detection.

Tests that need root or helm skip with a reason when run elsewhere; CI (`make test`) installs
everything and runs as root, so there they all run. Set CILIUM_TUNE_REQUIRE_ALL=1 to turn such
skips into failures (CI does, so a missing dependency cannot hide behind a skip).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from cilium_tune.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = ROOT / "tools" / "bin"


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read content, not layout: the CLI fits its text to the terminal (80 columns in a pipe), so
    each test sees one unwrapped line per item unless it sets COLUMNS itself (tests/cli/test_terminal.py)."""
    monkeypatch.setenv("COLUMNS", "1000")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked `schedule_first` are collected first, the rest keep their order. `make test` hands
    modules to its workers in collection order (`--no-loadscope-reorder`; xdist's default order, most tests
    first, started the 4-test rollout module last, and it alone then set the suite's wall time)."""
    items.sort(key=lambda item: item.get_closest_marker("schedule_first") is None)


def _need(reason: str) -> None:
    if os.environ.get("CILIUM_TUNE_REQUIRE_ALL") == "1":
        pytest.fail(f"required in this run: {reason}")
    pytest.skip(reason)


def _helm(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        _need(f"{path} missing: run scripts/fetch-tools.sh")
    return path


@pytest.fixture(scope="session")
def helm4() -> Path:
    """The pinned helm 4.1.4 binary."""
    return _helm("helm4")


@pytest.fixture(scope="session")
def helm3() -> Path:
    """The pinned helm 3.18.0 binary."""
    return _helm("helm3")


@pytest.fixture(scope="session", params=["helm4", "helm3"])
def helm_bin(request: pytest.FixtureRequest) -> Path:
    """Each pinned helm major version in turn."""
    return _helm(request.param)


@pytest.fixture(scope="session")
def kubectl_bin() -> Path:
    """The pinned kubectl 1.35 binary."""
    return _helm("kubectl")


REAL_CHART = Path("/work/shared/charts/cilium-1.19.0-rc.1.tgz")


@pytest.fixture(scope="session")
def chart_package() -> Callable[[str], Path]:
    """The real Cilium package of a version (`chart_package("1.19.6")`); missing, the test skips, and fails in CI."""

    def package(version: str) -> Path:
        path = REAL_CHART.with_name(f"cilium-{version}.tgz")
        if not path.is_file():
            _need(f"{path} missing: the real Cilium chart packages are kept in /work/shared/charts")
        return path

    return package


@pytest.fixture(scope="session")
def real_chart() -> Path:
    """The real Cilium 1.19.0-rc.1 package (the runbook's version), read where the team keeps the charts."""
    if not REAL_CHART.is_file():
        _need(f"{REAL_CHART} missing: the real Cilium chart packages are kept in /work/shared/charts")
    return REAL_CHART


@pytest.fixture(scope="session")
def root() -> None:
    """Skip unless running as root with network namespace support."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        _need("needs root and iproute2 (network namespaces)")


class CliResult(NamedTuple):
    """What a run of the CLI left: `code, out, err = cli(...)` or `cli(...).out`."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `cilium-tune ARGS...` in this process; return exit code, stdout and stderr. The CLI never prints
    a traceback (errors are one `error:` line and a `hint:`), so every run checks that."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err, captured.err
        return CliResult(code, captured.out, captured.err)

    return run
