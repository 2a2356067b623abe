"""`python3 -m cilium_tune.lab.gateway proxy`: the lab chart's cilium-envoy (the operator is
`python3 -m cilium_tune.lab.operator`)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] != ["proxy"]:
        print("usage: python3 -m cilium_tune.lab.gateway proxy", file=sys.stderr)
        return 2
    from cilium_tune.lab.gateway.proxy import main as run

    return run()


sys.exit(main(sys.argv[1:]))
