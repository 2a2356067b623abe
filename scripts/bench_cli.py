#!/usr/bin/env python3
"""Benchmark the CLI's wall time as a user sees it (process start included).

Targets (issue 2): `cilium-tune --help` well under 0.3 s; `cilium-tune plan` on skyforge-dev under 0.5 s.
Runs each command several times and prints min / median / max; exits 1 when a median misses its target.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 9
BASELINE = """# chart-version: 1.19.0-rc.1
routingMode: tunnel
bpf:
  datapathMode: veth
kubeProxyReplacement: "false"
"""


def measure(argv: list[str]) -> list[float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=120)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    exe = str(Path(sys.executable).parent / "cilium-tune")
    with tempfile.TemporaryDirectory() as tmp:
        baseline = Path(tmp) / "before.yaml"
        baseline.write_text(BASELINE)
        cases = [
            ("cilium-tune --help", [exe, "--help"], 0.3),
            ("cilium-tune plan (skyforge-dev)", [exe, "plan", "--overlays", "profile"], 0.5),
            ("cilium-tune plan --baseline", [exe, "plan", "--overlays", "profile", "--baseline", str(baseline)], 0.5),
        ]
        failed = False
        for label, argv, target in cases:
            times = measure(argv)
            median = statistics.median(times)
            ok = median < target
            failed |= not ok
            print(
                f"{label:<34} min {min(times) * 1000:6.0f} ms  median {median * 1000:6.0f} ms  "
                f"max {max(times) * 1000:6.0f} ms  target < {target * 1000:.0f} ms  {'ok' if ok else 'MISSED'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
