"""Facts: a typed snapshot of a cluster, parsed purely from raw API objects, collected in one place.

Live collection is `cilium_tune.facts.collect.collect(kube)`; it is not re-exported here because it is
the one facts module that uses an adapter, and importing the model (as rules and plan do) must not pull
the Kubernetes client in.
"""

from __future__ import annotations

from cilium_tune.facts.io import load_snapshot, save_snapshot
from cilium_tune.facts.model import SCHEMA_VERSION, KernelVersion, Snapshot

__all__ = ["SCHEMA_VERSION", "KernelVersion", "Snapshot", "load_snapshot", "save_snapshot"]
