from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule

K3S_CNI_CONF_DIR = "/var/lib/rancher/k3s/agent/etc/cni/net.d"


def _expected_dir(ctx: RuleContext) -> tuple[str, str] | None:
    """Where k3s's containerd reads CNI configs, and the evidence path; None when the cluster is not k3s."""
    facts = ctx.facts
    if facts is not None and facts.is_known("probes"):
        for probe in facts.probes:
            if probe.containerd is not None and probe.containerd.conf_dir:
                return probe.containerd.conf_dir, f"probes[{probe.node}].containerd.conf_dir"
    if facts is not None and facts.is_known("nodes") and any(n.k3s is not None for n in facts.nodes):
        return K3S_CNI_CONF_DIR, "nodes[*].k3s"
    if ctx.profile is not None:
        return ctx.profile.distribution.cni_conf_dir, "profile.distribution.cni_conf_dir"
    return None


@rule(
    id="CT501",
    name="cni-conf-path-not-k3s",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("probes.containerd", "nodes.k3s"),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """On k3s, Cilium writes its CNI config where k3s's containerd does not read it (flannel fallback risk).

    What it checks:
        The cluster is k3s (node args in the facts, or the profile) and `cni.confPath` (chart default
        /etc/cni/net.d) differs from the directory k3s's containerd reads: the `conf_dir` a node probe
        found in containerd's config.toml, else /var/lib/rancher/k3s/agent/etc/cni/net.d.
    Why it matters:
        containerd keeps using whatever config it finds in its own directory, typically flannel's, so
        new pods get 10.42.x.x addresses from flannel and cross-node pod traffic breaks while Cilium
        looks healthy.
    Example:
        cni.confPath unset (/etc/cni/net.d) on k3s.
    Fix:
        Set `cni.confPath: /var/lib/rancher/k3s/agent/etc/cni/net.d` (and `cni.binPath` to the k3s CNI
        bin directory from containerd's config.toml).
    References:
        - cilium-k3s-facts section 4: k3s CNI conf dir and containerd config.toml.
        - runbook: writing to /etc/cni/net.d can fall back to flannel (pods get 10.42.x.x).
    """
    expected = _expected_dir(ctx)
    if expected is None:
        return
    wanted, source = expected
    actual = str(ctx.value("cni.confPath") or "")
    if actual.rstrip("/") != wanted.rstrip("/"):
        yield Finding(
            f"cni.confPath={actual} but k3s's containerd reads CNI configs from {wanted}",
            evidence={"values.cni.confPath": actual, source: wanted},
            fix=f"Set cni.confPath: {wanted}.",
            patch={"cni": {"confPath": wanted}},
        )
