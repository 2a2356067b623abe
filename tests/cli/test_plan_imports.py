"""`plan` offline loads only what it uses: imports are most of its run time (issue 8's speed target).

A plan from a profile alone is compared with `helm template` (scripts/bench_plan.py), and nearly all of
its 250 ms are spent importing. The cluster clients, the bench's numerics and plotting, the lab and the
facts model are each tens of milliseconds that an offline plan never uses; this keeps them out of its
import graph (one real run of the command, about half a second).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# What an offline `plan` (text output) must not import: each is either heavy, a sign that cluster code
# leaked in, or only needed by another output, option or command.
NOT_FOR_OFFLINE_PLAN = (
    "numpy",
    "matplotlib",
    "lightkube",
    "aiohttp",
    "cryptography",
    "pyroute2",
    "pydantic",  # the facts model's; the profile is msgspec's (docs/plan-speed.md)
    "pydantic_core",
    "cilium_tune.adapters",
    "cilium_tune.lab",
    "cilium_tune.bench",
    "cilium_tune.facts.model",
    "cilium_tune.rollout",
    # used only with -o json/yaml, --chart or the `facts`/`lint` commands: imported where used
    "tarfile",
    "gzip",
    "cilium_tune.chart_archive",
    "cilium_tune.cli.facts_cmd",
    "cilium_tune.cli.lint_cmd",
    "cilium_tune.report.json",
    "cilium_tune.report.model",
)

# Runs the real console entry point, then reports every module the process imported.
PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from cilium_tune.cli.entry import run
sys.argv = ["cilium-tune", *sys.argv[1:]]
run()
"""


def test_offline_plan_imports_no_cluster_client_numerics_or_plotting(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "plan", "--overlays", "profile"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Plan for skyforge-dev" in result.stdout
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES "))
    modules = json.loads(line.removeprefix("MODULES "))
    assert "cilium_tune.desired" in modules  # the probe saw the real command run
    loaded = sorted(
        name for name in modules if any(name == top or name.startswith(f"{top}.") for top in NOT_FOR_OFFLINE_PLAN)
    )
    assert not loaded, f"an offline plan imported {loaded}"
