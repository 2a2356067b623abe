"""Kube-proxy replacement: API server address, kube-proxy still running.

Every module here is one rule; `cilium_tune.rules` imports them all.
"""
