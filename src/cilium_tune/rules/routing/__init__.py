"""Native vs tunnel routing, native routing CIDRs, direct node routes.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
