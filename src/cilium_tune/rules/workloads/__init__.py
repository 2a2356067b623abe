"""Workloads the datapath settings would break (VM guests).

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
