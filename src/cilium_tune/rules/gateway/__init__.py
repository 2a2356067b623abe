"""Gateway API: CRDs, version pairing, host-network listeners.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
