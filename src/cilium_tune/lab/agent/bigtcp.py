"""Teach pyroute2 the IPv4 BIG TCP link attributes, which pyroute2 0.9.7 does not know.

IFLA_GSO_IPV4_MAX_SIZE and IFLA_GRO_IPV4_MAX_SIZE (kernel 6.3+) follow IFLA_ALLMULTI and
IFLA_DEVLINK_PORT in the kernel's IFLA enum; pyroute2 numbers attributes by their position in
`ifinfmsg.nla_map`, so appending them in that order gives the right numbers. Call this before the
first netlink message is parsed, or let it reset pyroute2's compiled table as it does. Debian 12's iproute2 does
not know them either, so netlink through pyroute2 is the only way to set them here.
"""

from __future__ import annotations

from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

_AFTER = "IFLA_ALLMULTI"
_ADDED = (("IFLA_DEVLINK_PORT", "hex"), ("IFLA_GSO_IPV4_MAX_SIZE", "uint32"), ("IFLA_GRO_IPV4_MAX_SIZE", "uint32"))


def ensure_ipv4_big_tcp_attributes() -> None:
    """Idempotent; raises if pyroute2's table does not end where the kernel's enum continues."""
    names = [entry[0] for entry in ifinfmsg.nla_map]
    if "IFLA_GSO_IPV4_MAX_SIZE" in names:
        return
    if names[-1] != _AFTER:
        raise RuntimeError(f"pyroute2's IFLA table ends at {names[-1]}, not {_AFTER}: cannot add BIG TCP attributes")
    ifinfmsg.nla_map = (*ifinfmsg.nla_map, *_ADDED)
    # pyroute2 compiles a message class's table on first use and caches it on the class (a name-mangled
    # attribute of nlmsg_base); drop that cache so the longer table is compiled on the next message.
    if "_nlmsg_base__compiled_nla" in vars(ifinfmsg):
        setattr(ifinfmsg, "_nlmsg_base__compiled_nla", False)  # noqa: B010 (a name-mangled attribute)
