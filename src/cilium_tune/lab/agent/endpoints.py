"""The agent's start-up checks on the datapath mode, with cilium-agent's messages. Pure.

Two refusals matter for a veth -> netkit switch, and the lab reproduces both:
- restored endpoints whose host device is of another kind than datapath-mode (cilium PR #42482);
- a netkit datapath on a kernel that cannot create netkit devices (the agent's probe is fatal).
The endpoint check runs first: it reads state the agent already has, before any device is probed.
"""

from __future__ import annotations

from collections.abc import Sequence

from cilium_tune.lab.agent.model import Endpoint

NETKIT_PROBE_FAILED = "netkit devices need kernel 6.7.0 or newer and CONFIG_NETKIT"


def device_kind_for(mode: str) -> str:
    """The link kind a pod's host device has under a datapath mode (netkit-l2 is still netkit)."""
    return "netkit" if mode.startswith("netkit") else "veth"


def incompatible_endpoints_error(mode: str, endpoints: Sequence[Endpoint], ids: dict[str, int]) -> str | None:
    """cilium-agent's refusal when restored endpoints use the other device kind, else None.

    `ids` maps a pod (namespace/name) to its endpoint id, which the message shows.
    """
    wanted = device_kind_for(mode)
    other = "veth" if wanted == "netkit" else "netkit"
    bad = [ep for ep in endpoints if ep.kind == other]
    if not bad:
        return None
    names = " ".join(f"{ep.pod} (endpoint-{ids.get(ep.pod, 0)})" for ep in sorted(bad, key=lambda e: e.pod))
    return (
        f"Cannot start cilium-agent with datapath-mode={mode}: detected {len(bad)} existing endpoint(s) "
        f"using {other} datapath mode. Endpoints using {other} datapath mode: [{names}]. "
        f"Please delete these pods or change the datapath mode back to {other} "
        f"before starting the agent with {mode} mode"
    )
