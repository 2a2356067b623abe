from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

NETKIT_MIN_KERNEL = (6, 7)  # (major, minor)


@rule(
    id="CT201",
    name="netkit-on-old-kernel",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("nodes.kernel", "probes.kernel_config"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """netkit datapath requested on a node whose kernel cannot create netkit devices.

    What it checks:
        `bpf.datapathMode` is `netkit` or `netkit-l2` while a node runs a kernel older than 6.7, or a
        node probe read the kernel config and found `CONFIG_NETKIT` not set. A node whose kernel
        version is unknown gets an info finding (netkit failing there is fatal, so it is worth a look).
    Why it matters:
        The agent probes for netkit at start and treats a failure as fatal: on such a node
        cilium-agent never becomes ready, so pods there get no network at all.
    Example:
        bpf.datapathMode: netkit with node skyforge-2 on kernel 6.1.0-18-amd64.
    Fix:
        Upgrade the node's kernel to 6.7 or newer (6.8 or newer is recommended for netkit with BIG TCP)
        with CONFIG_NETKIT, or keep `bpf.datapathMode: veth`.
    References:
        - cilium-k3s-facts section 2: netkit needs kernel 6.7.0 or newer and CONFIG_NETKIT.
        - Cilium tuning guide: kernel 6.8 or newer for the netkit + BIG TCP profile.
    """
    if not derive.netkit_requested(ctx):
        return
    mode = derive.datapath_mode(ctx)
    if ctx.facts is not None and ctx.known("nodes"):
        unknown = [n.name for n in ctx.facts.nodes if n.kernel is None]
        if unknown:
            yield Finding(
                f"kernel version unknown on {', '.join(unknown)}: cannot confirm netkit support there",
                evidence={"values.bpf.datapathMode": mode, **{f"nodes[{n}].kernel": None for n in unknown}},
                fix="Check `uname -r` on those nodes (6.7 or newer with CONFIG_NETKIT), or collect the facts "
                "with --probe-nodes.",
                severity=Severity.INFO,
            )
    for node in derive.nodes_with_kernel_below(ctx, NETKIT_MIN_KERNEL):
        yield Finding(
            f"node {node.name} runs kernel {node.kernel}; bpf.datapathMode={mode} needs 6.7 or newer",
            evidence={"values.bpf.datapathMode": mode, f"nodes[{node.name}].kernel": str(node.kernel)},
            patch={"bpf": {"datapathMode": "veth"}},
        )
    if ctx.facts is None or not ctx.known("probes"):
        return
    for probe in ctx.facts.probes:
        setting = (probe.kernel_config or {}).get("CONFIG_NETKIT")
        if probe.ok and setting == "n":
            yield Finding(
                f"node {probe.node}: kernel built without CONFIG_NETKIT; bpf.datapathMode={mode} cannot work",
                evidence={
                    "values.bpf.datapathMode": mode,
                    f"probes[{probe.node}].kernel_config.CONFIG_NETKIT": setting,
                    f"probes[{probe.node}].kernel_config_source": probe.kernel_config_source,
                },
                patch={"bpf": {"datapathMode": "veth"}},
            )
