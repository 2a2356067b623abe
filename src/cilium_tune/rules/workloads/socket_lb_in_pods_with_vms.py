from __future__ import annotations

from collections.abc import Iterator

from cilium_tune.rules import derive
from cilium_tune.rules.context import RuleContext
from cilium_tune.rules.registry import Finding, Severity, rule


@rule(
    id="CT801",
    name="socket-lb-in-pods-with-vms",
    severity=Severity.ERROR,
    since="0.1.0",
    requires=("vm_workloads.reasons",),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Socket load balancing runs inside pod namespaces while pods run VM guests.

    What it checks:
        Socket LB is active (forced by `kubeProxyReplacement: "true"`, or `socketLB.enabled`) and
        `socketLB.hostNamespaceOnly` is not true, while VM workloads exist: KubeVirt VMs, or pods running
        QEMU such as vrnetlab (from the facts, else the profile's `vm_workloads`).
    Why it matters:
        Socket LB translates ClusterIPs in the connect() call of the pod's own sockets. A VM guest's
        traffic leaves through a tap device, never passes a pod socket, and reaches the ClusterIP
        untranslated: guests cannot reach any Service.
    Example:
        kubeProxyReplacement: "true" with vrnetlab pods on skyforge-2 and no hostNamespaceOnly.
    Fix:
        Set `socketLB.hostNamespaceOnly: true` so pods use the per-packet service translation, which
        also covers guest traffic.
    References:
        - cilium/cilium issues #14563 and #37669; kubevirt/kubevirt issue #10388.
        - cilium-k3s-facts section 2: kube-proxy replacement forces socket LB; hostNamespaceOnly is the
          opt-out.
    """
    if not derive.socket_lb_in_pods(ctx):
        return
    evidence: dict[str, object] = {
        "values.kubeProxyReplacement": ctx.value("kubeProxyReplacement"),
        "values.socketLB.enabled": ctx.value("socketLB.enabled"),
        "values.socketLB.hostNamespaceOnly": ctx.value("socketLB.hostNamespaceOnly"),
    }
    if ctx.facts is not None and ctx.known("vm_workloads"):
        vms = ctx.facts.vm_workloads
        if not vms:
            return
        shown = ", ".join(f"{vm.namespace}/{vm.name}" for vm in vms[:3]) + (" ..." if len(vms) > 3 else "")
        evidence.update({f"vm_workloads[{vm.namespace}/{vm.name}]": ",".join(vm.reasons) for vm in vms[:10]})
        message = f"socket LB runs in pod namespaces while {len(vms)} VM workload(s) run ({shown})"
    elif ctx.profile is not None and ctx.profile.tuning.vm_workloads:
        evidence["profile.tuning.vm_workloads"] = True
        message = "socket LB runs in pod namespaces and the profile declares VM workloads"
    else:
        return
    yield Finding(
        message + ": their guests cannot reach ClusterIPs",
        evidence=evidence,
        patch={"socketLB": {"hostNamespaceOnly": True}},
    )
