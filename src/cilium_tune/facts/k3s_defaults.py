"""k3s's network defaults, which apply when a server node's args do not name them (k3s docs, "Networking").

Plain values in a module of their own, so the rules can use them without building the facts models.
"""

from __future__ import annotations

from ipaddress import IPv4Network

K3S_DEFAULT_CLUSTER_CIDR = IPv4Network("10.42.0.0/16")
K3S_DEFAULT_SERVICE_CIDR = IPv4Network("10.43.0.0/16")
