"""The remote-command WebSocket protocols (`kubectl exec` / `attach`), as Kubernetes speaks them.

A session is one WebSocket. Every message carries a channel first: 0 stdin, 1 stdout, 2 stderr,
3 error (the command's final status), 4 resize. The subprotocol says how:

- `v5.channel.k8s.io` (kubectl since 1.30): binary frames `[channel] + data`; the client half-closes
  stdin with `[255, 0]`; the status is a JSON `Status`. The API server's stream translator answers
  v5 whenever a client offers it, whatever else it offers.
- `v4.channel.k8s.io` / `v4.base64.channel.k8s.io`: the kubelet's; JSON status, no half-close.
- `channel.k8s.io` / `base64.channel.k8s.io` (or no subprotocol): the oldest; the error channel
  carries only a failure's message text.
The base64 variants send text frames: the channel as an ASCII digit, then the data in base64.

The server announces the session with an empty message on the lowest channel it will write
(stdout, else stderr, else error), and after the status the v5 translator sends the close frame
and waits for the client's: both as kube-apiserver and the kubelet do. The statuses and messages
below are theirs, so clients that parse them (kubectl, client-go, the Python client) see a cluster.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STDIN, STDOUT, STDERR, ERROR, RESIZE = range(5)
CLOSE = 255

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"
KUBELET_PROTOCOLS = ("", V1, V1_BASE64, V4, V4_BASE64)
SUPPORTED = (V5, *KUBELET_PROTOCOLS[1:])
# Between the lab's API server and its kubelet only: why the kubelet refused a session.
ERROR_HEADER = "X-Lab-Kubelet-Error"
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


def negotiate(offered: Sequence[str]) -> str | None:
    """The subprotocol a cluster picks: v5 if offered (the API server's translator), else the
    client's first one the kubelet knows ("" when the client offered none); None: no match."""
    if V5 in offered:
        return V5
    return next((p for p in offered or [""] if p in KUBELET_PROTOCOLS), None)


def offered_protocols(header: str) -> list[str]:
    """The Sec-WebSocket-Protocol header's list."""
    return [p.strip() for p in header.split(",") if p.strip()]


def parse_bool(value: str, name: str) -> bool:
    """A query flag, read as Go's strconv.ParseBool reads it (the API server's parameter codec)."""
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'{name}: strconv.ParseBool: parsing "{value}": invalid syntax')


@dataclass(frozen=True)
class Options:
    """What a session streams. With a TTY, stderr is merged into stdout (as the kubelet does)."""

    command: tuple[str, ...]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool

    @classmethod
    def from_query(cls, query: Mapping[str, str], commands: Sequence[str]) -> Options:
        """From the API server's PodExecOptions query (stdin=true...) or the kubelet's (input=1...)."""
        def flag(*names: str) -> bool:
            return any(parse_bool(query[n], n) for n in names if n in query)

        tty = flag("tty")
        return cls(tuple(commands), flag("stdin", "input"), flag("stdout", "output"),
                   flag("stderr", "error") and not tty, tty)

    def kubelet_query(self) -> list[tuple[str, str]]:
        """The same options in the kubelet's URL form."""
        bits = [("input", self.stdin), ("output", self.stdout), ("error", self.stderr), ("tty", self.tty)]
        return [("command", c) for c in self.command] + [(k, "1" if v else "0") for k, v in bits]

    @property
    def announce_channel(self) -> int:
        return STDOUT if self.stdout else STDERR if self.stderr else ERROR


@dataclass(frozen=True)
class Codec:
    """Frames of one negotiated subprotocol."""

    protocol: str

    @property
    def text(self) -> bool:
        return "base64" in self.protocol

    @property
    def json_status(self) -> bool:
        return self.protocol in (V4, V4_BASE64, V5)

    @property
    def half_close(self) -> bool:
        return self.protocol == V5

    def encode(self, channel: int, data: bytes) -> bytes | str:
        if self.text:
            return chr(ord("0") + channel) + base64.b64encode(data).decode()
        return bytes([channel]) + data

    def decode(self, message: bytes | str) -> tuple[int, bytes] | None:
        """(channel, data) of a received message; None for an empty or undecodable one."""
        if not message:
            return None
        if isinstance(message, str):
            try:
                return ord(message[0]) - ord("0"), base64.b64decode(message[1:])
            except ValueError:
                return None
        return message[0], bytes(message[1:])

    def status(self, status: Mapping[str, Any]) -> bytes | str | None:
        """The error-channel message for a final status (None: the old protocols say nothing on success)."""
        if self.json_status:
            return self.encode(ERROR, json.dumps(status, separators=(",", ":")).encode())
        if status.get("status") == "Success":
            return None
        return self.encode(ERROR, str(status.get("message", "")).encode())


def success() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int, command: Sequence[str], protocol: str) -> dict[str, Any]:
    """A non-zero exit: through the v5 translator the kubelet's message is wrapped once more."""
    inner = f"command terminated with exit code {code}" if protocol == V5 else \
        f"error executing command [{' '.join(command)}], exit code {code}"
    return {"metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {inner}",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def internal_error(message: str) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {message}",
            "reason": "InternalError", "details": {"causes": [{"message": message}]}, "code": 500}
