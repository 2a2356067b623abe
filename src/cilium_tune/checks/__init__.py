"""Post-change verification: checks named `family/scenario/action`, run against a live cluster.

`framework` (Check, Require, Action, the registry), `features` (what the cluster should do, from facts and
the desired state), one module per family (`datapath`, `dual_stack`, `kube_proxy`, `cni`, `ingress`,
`workloads`), the known benign states (`benign`), the client and server pods (`workload`, `observe`) and
the one module that talks to the cluster (`runner`). Importing this package registers every check.
"""

from __future__ import annotations

from cilium_tune.checks import cni, datapath, dual_stack, ingress, kube_proxy, workloads
from cilium_tune.checks.framework import FAMILIES, Check, Selection, registry

FAMILY_MODULES = (datapath, dual_stack, kube_proxy, cni, ingress, workloads)

__all__ = ["FAMILIES", "FAMILY_MODULES", "Check", "Selection", "registry"]
