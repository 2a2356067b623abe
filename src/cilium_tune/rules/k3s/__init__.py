"""k3s specifics: CNI paths, flannel, single- vs dual-stack cluster flags.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
