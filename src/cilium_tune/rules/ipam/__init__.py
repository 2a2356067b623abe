"""Pod address pools against service CIDRs, node addresses and node counts.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
