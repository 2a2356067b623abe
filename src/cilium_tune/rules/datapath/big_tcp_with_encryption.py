from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(id="CT208", name="big-tcp-with-encryption", severity=Severity.ERROR, since="0.1.0")
def check(ctx: RuleContext) -> Iterator[Finding]:
    """BIG TCP enabled together with transparent encryption.

    What it checks:
        `enableIPv4BIGTCP` or `enableIPv6BIGTCP` is true and `encryption.enabled` is true. With IPsec
        (`encryption.type: ipsec`, the default) the finding is an error; with WireGuard a warning.
    Why it matters:
        The agent refuses to start with BIG TCP and IPsec. With WireGuard it starts, but the encrypted
        path cannot carry the large packets, so the tuning costs CPU and gains nothing.
    Example:
        enableIPv4BIGTCP: true, encryption: {enabled: true, type: ipsec}
    Fix:
        Turn BIG TCP off on encrypted clusters, or drop encryption where the network is trusted.
    References:
        - cilium-k3s-facts section 2: BIG TCP is fatal with IPsec; the tuning guide wants no encryption.
    """
    flags = derive.big_tcp_flags(ctx)
    if not flags or not ctx.flag("encryption.enabled"):
        return
    kind = str(ctx.value("encryption.type") or "ipsec")
    yield Finding(
        f"{', '.join(flags)} with {kind} encryption"
        + (": the agent refuses to start" if kind == "ipsec" else ": large packets gain nothing"),
        evidence={
            "values.encryption.enabled": True,
            "values.encryption.type": kind,
            **{f"values.{f}": True for f in flags},
        },
        severity=None if kind == "ipsec" else Severity.WARNING,
        patch={f: False for f in flags},
    )
