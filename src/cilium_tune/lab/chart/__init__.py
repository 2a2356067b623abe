"""The lab's Cilium stand-in chart, shipped inside the package so `lab up` and tests need no download."""

from __future__ import annotations

from pathlib import Path

CHART_DIR = Path(__file__).resolve().parent
"""Directory to pass to `helm install/upgrade/template` as the chart."""

__all__ = ["CHART_DIR"]
