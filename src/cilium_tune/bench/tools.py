"""The traffic tools' command lines and the pure parsers of their output.

iperf3 and netperf are what Cilium's own performance work and k8s-netperf use. A client pod runs a
batch of samples as one POSIX sh script that prints a mark before and after each sample, so one pod
(and one log read) serves many samples and the parser needs no guessing:

    ### ct-bench <probe id>
    <tool output>
    ### ct-bench-rc <exit code>
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from cilium_tune.bench.scenarios import Kind, Probe

MARK = "### ct-bench"
IPERF_PORT = 5201
NETPERF_PORT = 12865
NETPERF_DATA_PORT = 12866  # fixed, so that a Service can carry the data connection too
SERVER_COMMANDS: dict[str, list[str]] = {
    "iperf3": ["iperf3", "-s", "-p", str(IPERF_PORT)],
    "netserver": ["netserver", "-D", "-p", str(NETPERF_PORT)],
}


@dataclass(frozen=True)
class Pinning:
    """CPUs for the client and the server process (iperf3 -A c,s; netperf -T c,s)."""

    client: int
    server: int

    @classmethod
    def parse(cls, text: str) -> Pinning | None:
        if text in ("", "none"):
            return None
        client, _, server = text.partition(",")
        return cls(int(client), int(server or client))


def sample_argv(probe: Probe, address: str, seconds: int, pin: Pinning | None, connections: int = 2000) -> list[str]:
    """The client command of one sample of `probe` against `address`.

    Connection-rate samples run a fixed number of `connections` (netperf `-l -N`) instead of a time:
    with a timed TCP_CRR, netserver answers the end of the test only after about 4 s, which would make
    every 1 s sample cost 5 s. The runner sizes N from the previous sample's rate to last about `seconds`.
    """
    family = f"-{probe.family}"
    if probe.test is Kind.STREAM:
        argv = ["iperf3", "-c", address, "-p", str(IPERF_PORT), "-t", str(seconds), "-J", family]
        return argv + (["-A", f"{pin.client},{pin.server}"] if pin else [])
    kind = "TCP_RR" if probe.test is Kind.RR else "TCP_CRR"
    length = str(seconds) if probe.test is Kind.RR else f"-{max(1, connections)}"
    argv = ["netperf", family, "-H", address, "-p", str(NETPERF_PORT), "-l", length, "-P", "0", "-t", kind]
    if pin:
        argv += ["-T", f"{pin.client},{pin.server}"]
    selectors = "P50_LATENCY,P90_LATENCY,P99_LATENCY,THROUGHPUT" if probe.test is Kind.RR else "THROUGHPUT"
    return [*argv, "--", "-P", f",{NETPERF_DATA_PORT}", "-o", selectors]


FLUSH_SCRIPT = "conntrack -F >/dev/null 2>&1; conntrack -F -f ipv6 >/dev/null 2>&1; conntrack -C || true\n"
"""Run in the node's namespace (a privileged hostNetwork pod) between churn visits."""


def batch_script(samples: Sequence[tuple[str, Sequence[str]]]) -> str:
    """One sh script running `samples` (probe id, argv) in the given order."""
    lines = []
    for probe_id, argv in samples:
        lines.append(f"echo {shlex.quote(f'{MARK} {probe_id}')}")
        lines.append(f"{shlex.join(argv)} 2>&1; echo \"{MARK}-rc $?\"")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RawSample:
    probe_id: str
    rc: int | None  # None: the script never reached the end of this sample
    output: str


def split_batch(text: str) -> list[RawSample]:
    """Cut a batch's log into its samples, in the order they ran."""
    found: list[RawSample] = []
    current: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith(f"{MARK}-rc "):
            if current is not None:
                rc = line.split()[-1]
                found.append(RawSample(current, int(rc) if rc.lstrip("-").isdigit() else None, "\n".join(body)))
            current, body = None, []
        elif line.startswith(f"{MARK} "):
            if current is not None:
                found.append(RawSample(current, None, "\n".join(body)))
            current, body = line[len(MARK) + 1 :].strip(), []
        elif current is not None:
            body.append(line)
    if current is not None:
        found.append(RawSample(current, None, "\n".join(body)))
    return found


class SampleError(ValueError):
    """A sample ran but produced no number (tool error, unreachable, refused)."""


def parse_sample(test: Kind, raw: RawSample) -> tuple[float, ...]:
    """The sample's metrics in `METRICS[test]` order, or SampleError with the tool's own words."""
    if raw.rc is None:
        raise SampleError("the sample did not finish")
    if test is Kind.STREAM:
        return (_iperf3_gbits(raw.output),)
    if raw.rc != 0:
        raise SampleError(_last_line(raw.output) or f"netperf exited {raw.rc}")
    values = _netperf_values(raw.output)
    want = 4 if test is Kind.RR else 1
    if len(values) != want:
        raise SampleError(f"netperf printed {len(values)} values, expected {want}: {_last_line(raw.output)}")
    return values


def _iperf3_gbits(text: str) -> float:
    start = text.find("{")
    try:
        doc = json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise SampleError(_last_line(text) or "iperf3 printed no JSON")
    if doc.get("error"):
        raise SampleError(f"iperf3: {doc['error']}")
    try:
        bps = float(doc["end"]["sum_received"]["bits_per_second"])
    except (KeyError, TypeError, ValueError):
        raise SampleError("iperf3 JSON has no end.sum_received.bits_per_second") from None
    if bps <= 0:
        raise SampleError("iperf3 received nothing")
    return bps / 1e9


def _netperf_values(text: str) -> tuple[float, ...]:
    """netperf -P 0 -- -o A,B prints one comma-separated line of values (after any warnings)."""
    for line in reversed(text.splitlines()):
        parts = [p.strip() for p in line.split(",")]
        try:
            return tuple(float(p) for p in parts)
        except ValueError:
            continue
    return ()


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""
