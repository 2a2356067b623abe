"""Facts: a typed snapshot of a cluster, parsed purely from raw API objects, collected in one place.

Live collection is `cilium_tune.facts.collect.collect(kube)`; it is not re-exported here because it is
the one facts module that uses an adapter, and importing the model (as rules and plan do) must not pull
the Kubernetes client in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cilium_tune.facts.io import load_snapshot, save_snapshot
    from cilium_tune.facts.model import SCHEMA_VERSION, KernelVersion, Snapshot

__all__ = ["SCHEMA_VERSION", "KernelVersion", "Snapshot", "load_snapshot", "save_snapshot"]
_HOME = {"SCHEMA_VERSION": "model", "KernelVersion": "model", "Snapshot": "model"} | dict.fromkeys(
    ("load_snapshot", "save_snapshot"), "io"
)


def __getattr__(name: str) -> Any:
    """Import the model on first use: a submodule (`facts.k3s_defaults`) must not pay for the pydantic models."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
