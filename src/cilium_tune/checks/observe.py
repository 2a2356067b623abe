"""What the client pods saw: their log parsed into rounds of probe results. Pure.

A client prints one round at a time (`checks.workload.CLIENT_SCRIPT`): its interface addresses
(`ip -o addr`), its links with details (`ip -d -o link`: the device kind, veth or netkit), then one block
per probe: curl's exit code, curl's `-w '%{json}'` line (status, timings, remote address, TLS verify
result, the peer certificate) and the first bytes of the body. Only complete rounds count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cilium_tune.checks.workload import Target

MARK = "@@ctv "
_ROUND = re.compile(r"^@@ctv round (\d+) (begin|end)$")
_PROBE = re.compile(r"^@@ctv probe ([a-z0-9.-]+) rc=(\d+)$")
_ADDR = re.compile(r"^\d+:\s+(\S+)\s+(inet6?)\s+(\S+)")
_LINK = re.compile(r"^\d+:\s+([^:@\s]+)(?:@\S+)?:")
_KINDS = ("netkit", "veth", "vxlan", "bridge", "dummy", "ipvlan", "macvlan", "tun", "loopback")

# curl exit codes a probe can end with, by what they mean to a check.
CURL_OK = 0
CURL_RESET = frozenset({35, 56})  # TLS handshake failed / receive failed: reset by the peer


@dataclass(frozen=True)
class Certificate:
    subject: str | None = None
    issuer: str | None = None
    sans: tuple[str, ...] = ()
    not_after: str | None = None


@dataclass(frozen=True)
class Probe:
    """One curl call: exit code and the fields of its `%{json}` that checks read."""

    id: str
    rc: int
    http_code: int = 0
    time_total: float | None = None
    time_connect: float | None = None
    remote_ip: str | None = None
    ssl_verify_result: int | None = None
    error: str | None = None
    body: str = ""
    certificate: Certificate | None = None

    @property
    def ok(self) -> bool:
        return self.rc == CURL_OK and 0 < self.http_code < 500

    @property
    def reset(self) -> bool:
        return self.rc in CURL_RESET

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"curl_exit": self.rc}
        if self.http_code:
            out["status"] = self.http_code
        if self.time_total is not None:
            out["latency_ms"] = round(self.time_total * 1000, 2)
        if self.remote_ip:
            out["remote"] = self.remote_ip
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Round:
    """One complete round of a client: its addresses, its links and its probes."""

    number: int
    addresses: tuple[tuple[str, str], ...] = ()  # (interface, address/prefix)
    link_kinds: Mapping[str, str] = field(default_factory=dict)  # interface -> kind
    probes: Mapping[str, Probe] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientView:
    """One node's client: its latest complete round, or why there is none."""

    node: str
    pod: str
    round: Round | None
    error: str | None = None


@dataclass(frozen=True)
class Observations:
    """Every client's view, plus the targets each was given (probe id -> Target)."""

    clients: Mapping[str, ClientView]
    targets: Mapping[str, Mapping[str, Target]]  # node -> probe id -> what was probed
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # node -> Service object


def parse_rounds(text: str) -> list[Round]:
    """Every complete round in a client log, oldest first (a round cut off by the log's start or end is
    left out)."""
    rounds: list[Round] = []
    current: dict[str, Any] | None = None
    section = ""
    probe_lines: list[str] = []
    probe_head: tuple[str, int] | None = None

    def close_probe() -> None:
        nonlocal probe_head, probe_lines
        if current is not None and probe_head is not None:
            current["probes"][probe_head[0]] = _probe(probe_head[0], probe_head[1], probe_lines)
        probe_head, probe_lines = None, []

    for line in text.splitlines():
        if line.startswith(MARK):
            if m := _ROUND.match(line):
                number, edge = int(m.group(1)), m.group(2)
                close_probe()
                if edge == "begin":
                    current = {"number": number, "addresses": [], "links": {}, "probes": {}}
                elif current is not None and current["number"] == number:
                    rounds.append(Round(number, tuple(current["addresses"]), dict(current["links"]),
                                        dict(current["probes"])))
                    current = None
                section = ""
                continue
            if m := _PROBE.match(line):
                close_probe()
                probe_head = (m.group(1), int(m.group(2)))
                section = "probe"
                continue
            tag = line[len(MARK):].strip()
            if tag in ("addrs", "links"):
                close_probe()
                section = tag
            elif tag == "body" and probe_head is not None:
                probe_lines.append("\x00body")
            continue
        if current is None:
            continue
        if section == "addrs":
            if m := _ADDR.match(line):
                current["addresses"].append((m.group(1), m.group(3)))
        elif section == "links":
            if m := _LINK.match(line):
                current["links"][m.group(1)] = _link_kind(line)
        elif section == "probe":
            probe_lines.append(line)
    return rounds


def _link_kind(line: str) -> str:
    if "link/loopback" in line:
        return "loopback"
    # `ip -d -o link` puts the kind after the link details, e.g. `... \    veth addrgenmode eui64 ...`.
    words = re.split(r"[\s\\]+", line)
    for kind in _KINDS[:-1]:
        if kind in words:
            return kind
    return "unknown"


def _probe(probe_id: str, rc: int, lines: list[str]) -> Probe:
    body_at = lines.index("\x00body") if "\x00body" in lines else len(lines)
    head = "\n".join(lines[:body_at]).strip()
    body = "\n".join(lines[body_at + 1:]).strip()
    try:
        data = json.loads(head) if head else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Probe(
        id=probe_id,
        rc=rc,
        http_code=int(data.get("http_code") or 0),
        time_total=_float(data.get("time_total")),
        time_connect=_float(data.get("time_connect")),
        remote_ip=data.get("remote_ip") or None,
        ssl_verify_result=data.get("ssl_verify_result") if data.get("scheme") == "HTTPS" else None,
        error=data.get("errormsg") or None,
        body=body[:400],
        certificate=_certificate(str(data.get("certs") or "")),
    )


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _certificate(certs: str) -> Certificate | None:
    """The leaf certificate from curl's `certs` text (the first block)."""
    if not certs.strip():
        return None
    fields: dict[str, str] = {}
    for line in certs.splitlines():
        if line.startswith("-----BEGIN"):
            break
        key, sep, value = line.partition(":")
        if sep and key not in fields:
            fields[key] = value.strip()
    sans = tuple(part.strip() for part in fields.get("X509v3 Subject Alternative Name", "").split(",") if part.strip())
    return Certificate(
        subject=fields.get("Subject"),
        issuer=fields.get("Issuer"),
        sans=sans,
        not_after=_iso(fields.get("Expire date")),
    )


def _iso(text: str | None) -> str | None:
    """`Nov 26 14:10:07 2027 GMT` -> `2027-11-26T14:10:07Z` (kept verbatim when it does not parse)."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return text


def latest_after(rounds: list[Round], seen: int) -> Round | None:
    """The newest complete round numbered above `seen` (a kept client's rounds before this run don't count)."""
    fresh = [r for r in rounds if r.number > seen]
    return fresh[-1] if fresh else None
