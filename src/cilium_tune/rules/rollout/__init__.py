"""How a change reaches the agents, rollbacks and baselines.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
