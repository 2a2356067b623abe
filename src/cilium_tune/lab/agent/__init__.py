"""The lab agent: one per node, it makes the node's datapath match cilium-config.

Run by the lab kubelet for the cilium DaemonSet's pod on each node (`python3 -m cilium_tune.lab.agent`,
inside the node's network namespace). Pure modules turn cilium-config and cluster state into a desired
datapath (`config`, `routing`, `services`, `endpoints`, `ipam`, `status`); `kernel` applies it with
netlink, iptables-restore and nft; `cluster` reads the API; `run` is the loop.
"""
