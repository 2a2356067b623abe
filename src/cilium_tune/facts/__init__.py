"""Facts: a typed snapshot of a cluster, parsed purely from raw API objects, collected in one place."""

from cilium_tune.facts.model import SCHEMA_VERSION, KernelVersion, Snapshot

__all__ = ["SCHEMA_VERSION", "KernelVersion", "Snapshot"]
