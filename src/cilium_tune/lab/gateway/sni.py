"""Read the server name (SNI) from a TLS ClientHello without consuming it. Pure.

Envoy picks a listener's filter chain by SNI before any TLS is spoken, and resets the connection when
none matches (no SNI, or an unknown name). The proxy does the same: it peeks at the first record, finds
the server_name extension, and only then hands the socket to the TLS stack or resets it.
"""

from __future__ import annotations

import struct

_HANDSHAKE = 22
_CLIENT_HELLO = 1
_SERVER_NAME = 0
_HOST_NAME = 0


class NotClientHello(ValueError):
    pass


def server_name(record: bytes) -> str | None:
    """The SNI host name in a ClientHello record, None when it carries none.

    Raises NotClientHello for bytes that are not (the start of) a TLS handshake; raises IndexError /
    struct.error when the record is cut short (the caller peeks again with more bytes).
    """
    if len(record) < 5 or record[0] != _HANDSHAKE:
        raise NotClientHello("not a TLS handshake record")
    (length,) = struct.unpack_from("!H", record, 3)
    body = record[5:5 + length]
    if len(body) < length:
        raise IndexError("record is incomplete")
    if body[0] != _CLIENT_HELLO:
        raise NotClientHello("not a ClientHello")
    pos = 4 + 2 + 32  # handshake header, client version, random
    pos += 1 + body[pos]  # session id
    (suites,) = struct.unpack_from("!H", body, pos)
    pos += 2 + suites
    pos += 1 + body[pos]  # compression methods
    if pos + 2 > len(body):
        return None  # no extensions at all
    (ext_total,) = struct.unpack_from("!H", body, pos)
    pos += 2
    end = pos + ext_total
    while pos + 4 <= end:
        ext_type, ext_len = struct.unpack_from("!HH", body, pos)
        pos += 4
        if ext_type == _SERVER_NAME:
            inner = pos + 2
            while inner + 3 <= pos + ext_len:
                name_type, name_len = struct.unpack_from("!BH", body, inner)
                inner += 3
                if name_type == _HOST_NAME:
                    return body[inner:inner + name_len].decode("ascii", "replace").lower()
                inner += name_len
            return None
        pos += ext_len
    return None
