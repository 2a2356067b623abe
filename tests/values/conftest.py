"""Fixtures for the values tests: the real helm binaries as an oracle."""

from __future__ import annotations

from pathlib import Path

import pytest
from values_oracle import HelmOracle


@pytest.fixture(scope="session")
def oracle(helm_bin: Path) -> HelmOracle:
    """helm 4 and helm 3 in turn (through the shared helm_bin fixture)."""
    return HelmOracle(helm_bin)
