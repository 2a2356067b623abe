from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT209", name="big-tcp-without-bpf-host-routing", severity=Severity.WARNING, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """BIG TCP enabled without the BPF host routing it relies on (kube-proxy replacement, BPF masquerade).

    What it checks:
        `enableIPv4BIGTCP` or `enableIPv6BIGTCP` is true while kube-proxy replacement is off,
        `bpf.masquerade` is not true, or `bpf.hostLegacyRouting` is true. Legacy host routing asked for
        explicitly is an error (the agent refuses it with BIG TCP); the missing prerequisites are warnings.
    Why it matters:
        Without kube-proxy replacement and BPF masquerade the agent falls back to legacy host routing
        through the kernel stack, where BIG TCP packets are not handled end to end.
    Example:
        enableIPv4BIGTCP: true with kubeProxyReplacement "false".
    Fix:
        Enable `kubeProxyReplacement: "true"` and `bpf.masquerade: true` (and leave
        `bpf.hostLegacyRouting` unset), or turn BIG TCP off.
    References:
        - cilium-k3s-facts section 2: BPF host routing needs kernel 5.10, kube-proxy replacement and BPF
          masquerade; BIG TCP is fatal with legacy host routing.
    """
    flags = derive.big_tcp_flags(ctx)
    if not flags:
        return
    evidence = {f"values.{f}": True for f in flags}
    if ctx.flag("bpf.hostLegacyRouting"):
        yield Finding(
            f"{', '.join(flags)} with bpf.hostLegacyRouting=true: the agent refuses this combination",
            evidence={**evidence, "values.bpf.hostLegacyRouting": True},
            severity=Severity.ERROR,
            patch={"bpf": {"hostLegacyRouting": None}},
        )
    missing = []
    if not derive.kpr_enabled(ctx):
        missing.append(("kubeProxyReplacement", ctx.value("kubeProxyReplacement")))
    if not ctx.flag("bpf.masquerade"):
        missing.append(("bpf.masquerade", ctx.value("bpf.masquerade")))
    if missing:
        yield Finding(
            f"{', '.join(flags)} without {' and '.join(k for k, _ in missing)}: traffic takes legacy host routing",
            evidence={**evidence, **{f"values.{k}": v for k, v in missing}},
        )
