"""Small helpers over network namespaces: create, enter, sysctl, kill-and-remove.

pyroute2 does the netlink work; these helpers add the two things the lab needs on top of it:
entering a namespace for one block of code on the *calling thread only* (setns(2) is per thread, so
the kubelet's other threads stay where they are), and removing a namespace only after every process
inside it is gone (a process left inside keeps the namespace's devices alive after the unlink).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from pyroute2 import IPRoute, netns

NETNS_DIR = Path("/run/netns")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def create(name: str) -> None:
    """Create a named namespace with loopback up.

    `ip netns add` itself (a few ms) rather than pyroute2's netns.create (a helper process, ~35 ms).
    """
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
    with ipr(name) as ns:
        ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")


def ipr(name: str) -> IPRoute:
    """A netlink handle bound to namespace `name` (use as a context manager).

    The socket is opened on this thread while it is inside the namespace, so it stays there; this
    costs ~3 ms where pyroute2's NetNS (a helper process per handle) costs ~35 ms, which is most of
    a pod's start-up time.
    """
    with entered(name):
        return IPRoute()


def names(prefix: str) -> list[str]:
    """Names of existing namespaces that start with `prefix`."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with the calling thread inside namespace `name`, then return to where it was.

    Sockets created in the body stay in `name` for their whole life, which is how the kubelet's
    probes and API forwarders talk inside a node or pod without starting a process.
    """
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(NETNS_DIR / name, os.O_RDONLY)
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


def sysctl(name: str, values: Mapping[str, str | int]) -> None:
    """Set `net.*` sysctls inside a namespace (/proc/sys/net follows the writer's namespace)."""
    with entered(name):
        for key, value in values.items():
            Path("/proc/sys", *key.split(".")).write_text(f"{value}\n")


def pids(namespaces: Iterable[str]) -> dict[str, list[int]]:
    """Processes currently inside each of the given namespaces."""
    wanted = set(namespaces)
    return {ns: sorted(p) for ns, p in netns.ns_pids().items() if ns in wanted}


def kill_all(namespaces: Iterable[str], *, grace: float = 0.5) -> int:
    """SIGTERM every process in the namespaces, SIGKILL what is left after `grace` seconds."""
    targets = [p for ps in pids(namespaces).values() for p in ps]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in targets:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 2.0)
        while targets and time.monotonic() < deadline:
            targets = [p for p in targets if _alive(p)]
            if targets:
                time.sleep(0.02)
        if not targets:
            break
    return len(targets)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def remove(namespaces: Iterable[str], *, grace: float = 0.5) -> None:
    """Kill the processes inside, then unlink the namespaces (missing ones are fine)."""
    todo = [n for n in namespaces if exists(n)]
    if not todo:
        return
    kill_all(todo, grace=grace)
    for name in todo:
        with contextlib.suppress(FileNotFoundError):
            netns.remove(name)
