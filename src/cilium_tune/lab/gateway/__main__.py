"""`python3 -m cilium_tune.lab.gateway proxy|operator`: the lab chart's cilium-envoy and cilium-operator."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["proxy"]:
        from cilium_tune.lab.gateway.proxy import main as run
    elif argv[:1] == ["operator"]:
        from cilium_tune.lab.gateway.operator import main as run
    else:
        print("usage: python3 -m cilium_tune.lab.gateway proxy|operator", file=sys.stderr)
        return 2
    return run()


sys.exit(main(sys.argv[1:]))
