"""`python -m cilium_tune.lab.apiserver`: run the lab API server until SIGTERM.

Binds (port 0 picks a free port), then writes its URL atomically into --ready-file, so the starter
can poll for that file instead of guessing when the server listens. SIGTERM/SIGINT stop it cleanly
and write the --snapshot file when one is given.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from cilium_tune.files import write_atomic

from .nodelifecycle import DEFAULT_GRACE
from .server import DEFAULT_SERVICE_CIDRS, ApiServer


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m cilium_tune.lab.apiserver",
                                description="Emulated Kubernetes API server for the cilium-tune lab.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    p.add_argument("--ready-file", type=Path, required=True, help="written with the URL once listening")
    p.add_argument("--state-dir", type=Path, help="lab state (pod logs are read from <dir>/logs)")
    p.add_argument("--snapshot", type=Path, help="load objects from this file and save them on stop")
    p.add_argument("--service-cidr", action="append", dest="service_cidrs",
                   help="Service CIDR, repeat for dual-stack; the first is the primary family")
    p.add_argument("--auto-ready", action="store_true", help="mark nodes and pods Ready without a kubelet")
    p.add_argument("--node-monitor-grace-period", type=float, default=DEFAULT_GRACE, metavar="SECONDS",
                   help="mark a node NotReady when its kubelet has not renewed its Lease for this long")
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    server = ApiServer(args.host, args.port, state_dir=args.state_dir, snapshot=args.snapshot,
                       service_cidrs=args.service_cidrs or list(DEFAULT_SERVICE_CIDRS), auto_ready=args.auto_ready,
                       node_monitor_grace_period=args.node_monitor_grace_period)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = await server.serve()
    write_atomic(args.ready_file, url + "\n")
    await stop.wait()
    await server.shutdown()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(f"error: --host {args.host}: the lab API serves loopback only", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
