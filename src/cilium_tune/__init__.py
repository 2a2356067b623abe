"""cilium-tune: safe, verifiable and measurable Cilium datapath tuning on k3s.

The package's public surface is deliberately small; everything else is internal and may move.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
