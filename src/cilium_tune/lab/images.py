"""Image stand-ins: the real Cilium chart's containers run as the lab's programs.

The lab has no container runtime: a container's program is its command on the host. The Cilium
chart's containers name programs that exist only in Cilium's images, so the kubelet maps them, keyed by
image repository (tag and digest ignored), to lab programs. The container keeps the chart's env (node
name, namespace, API address), so what the stand-in reads is what the chart wrote; its command line is
replaced.

- quay.io/cilium/cilium, container `cilium-agent`: the lab agent (`python3 -m cilium_tune.lab.agent`).
  It resolves cilium-config and the node's CiliumNodeConfigs from the API at start: what the `config`
  init container writes to /tmp/cilium/config-map for the real agent.
- quay.io/cilium/cilium, every init container (config, mount-cgroup, apply-sysctl-overwrites,
  mount-bpf-fs, clean-cilium-state, install-cni-binaries): a no-op that succeeds. The lab agent wipes
  endpoint state itself when `clean-cilium-state` is set.
- quay.io/cilium/operator-generic (any operator-*): the lab operator (`python3 -m cilium_tune.lab.operator`).
- quay.io/cilium/cilium-envoy: the lab gateway proxy (`python3 -m cilium_tune.lab.gateway proxy`).

A container whose command is already a lab program (the lab's own stand-in chart) runs as it is. Any
other container of a quay.io/cilium image (Hubble relay and UI, clustermesh, certgen, ...) has no stand-in
and fails with a message naming the image; other images keep the lab's host-command semantics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CILIUM_REGISTRY = "quay.io/cilium/"
NOOP = ["true"]
AGENT = ["python3", "-m", "cilium_tune.lab.agent"]
OPERATOR = ["python3", "-m", "cilium_tune.lab.operator"]
PROXY = ["python3", "-m", "cilium_tune.lab.gateway", "proxy"]
_LAB_PROGRAM = ["python3", "-m"]


class NoStandIn(Exception):
    """A Cilium image the lab cannot run; the message says which and why."""


def repository(image: str) -> str:
    """`quay.io/cilium/cilium:v1.19.0@sha256:...` -> `quay.io/cilium/cilium` (a registry port is kept)."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _stand_in_for(repo: str, program: str, init: bool) -> list[str] | None:
    if repo == "quay.io/cilium/cilium":
        if init:
            return NOOP
        return AGENT if program == "cilium-agent" else None
    if repo.startswith("quay.io/cilium/operator"):
        return None if init else OPERATOR
    if repo == "quay.io/cilium/cilium-envoy":
        return None if init else PROXY
    return None


def stand_in(container: Mapping[str, Any], argv: Sequence[str], *, init: bool) -> list[str] | None:
    """The lab program for a Cilium image's container, None to run `argv` on the host as usual.

    Raises NoStandIn for a quay.io/cilium container the lab has no program for.
    """
    image = str(container.get("image") or "")
    if not image.startswith(CILIUM_REGISTRY):
        return None
    if list(argv[:2]) == _LAB_PROGRAM and len(argv) > 2 and argv[2].startswith("cilium_tune.lab."):
        return None
    repo = repository(image)
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    found = _stand_in_for(repo, program, init)
    if found is None:
        raise NoStandIn(f"the lab has no stand-in for {program or 'the entrypoint'} of image {repo} "
                        f"(container {container.get('name')}); it runs the Cilium agent, operator and envoy only")
    return list(found)
