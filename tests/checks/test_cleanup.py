"""Whatever verify created goes, also when the run is interrupted (Ctrl-C) half way."""

from __future__ import annotations

from typing import Any

import pytest

from cilium_tune.adapters.kube import (
    CONFIGMAPS,
    CRDS,
    DAEMONSETS,
    ENDPOINT_SLICES,
    NAMESPACES,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    FakeKube,
    Resource,
)
from cilium_tune.checks.runner import VerifyOptions, run_verify
from cilium_tune.checks.workload import NAMESPACE


class InterruptedFacts(FakeKube):
    """A cluster where the user presses Ctrl-C while the facts are being collected."""

    def list(self, res: Resource, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if res == CRDS:
            raise KeyboardInterrupt
        return super().list(res, *args, **kwargs)


def test_ctrl_c_while_collecting_facts_removes_pods_services_and_namespace() -> None:
    nodes = [{"metadata": {"name": n}} for n in ("lab-1", "lab-2")]
    kube = InterruptedFacts(seed={NODES: nodes, NAMESPACES: [], PODS: [], SERVICES: [], ENDPOINT_SLICES: [],
                                  SECRETS: [], CONFIGMAPS: [], DAEMONSETS: []})
    with pytest.raises(KeyboardInterrupt):
        run_verify(kube, VerifyOptions(profile_ref="lab", probe_nodes=False))
    created = [name for verb, name in kube.calls if verb == "create"]
    assert sum(n.startswith("pods/ctv-server-") for n in created) == 2
    assert sum(n.startswith("services/ctv-") for n in created) == 2
    assert [p for p in kube.seed[PODS] if p["metadata"]["namespace"] == NAMESPACE] == []
    assert kube.seed[SERVICES] == [] and kube.seed[NAMESPACES] == []
