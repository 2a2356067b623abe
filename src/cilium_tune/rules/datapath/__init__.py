"""Datapath mode (veth/netkit) and BIG TCP against node kernels and routing.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
