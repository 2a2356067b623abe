"""Adapters at the edge: the Kubernetes API (`kube`), the helm binary (`helm`), node probes.

The core (values, rules, plan, facts parsers) never imports these; `facts/collect.py`, the rollout
executor and the CLI hand them in.
"""
