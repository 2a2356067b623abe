#!/usr/bin/env python3
"""Run every benchmark script (scripts/bench_*.py) in turn and report which met their targets.

Benchmarks are scripts, not timed tests: timing on a shared 2-core machine is too noisy to gate CI on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    scripts = sorted(Path(__file__).parent.glob("bench_*.py"))
    failures = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False, timeout=1800).returncode != 0:
            failures.append(script.name)
    if failures:
        print(f"missed targets: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
