"""Every way a profile can be wrong ends in one message naming file, line and key, exit 2, no traceback.

Each case edits the built-in skyforge-dev profile text (one replacement), writes it to a file and runs
`cilium-tune profile show FILE` in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cilium_tune.profile import builtin_profile_text

BASE = builtin_profile_text("skyforge-dev")

# id: (text to replace, replacement, expected pieces of stderr)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "unknown-field-with-suggestion": (
        "  routing_mode: native",
        "  routing_mod: native",
        ["unknown field 'tuning.routing_mod'", "did you mean 'routing_mode'?"],
    ),
    "unknown-top-level-field": (
        "description:",
        "descripton:",
        ["unknown field 'descripton'", "did you mean 'description'?"],
    ),
    "unknown-field-in-a-list-item": (
        "    ipv6: fd00:128:16::58",
        "    ipv66: fd00:128:16::58",
        ["unknown field 'nodes[0].ipv66'", "did you mean 'ipv6'?"],
    ),
    "several-problems-unknown-field-first": (
        "ingress:\n  hostnames:",
        "ingress: []\nx_hostnames:",
        ["unknown field 'x_hostnames'"],
    ),
    "several-problems-the-first-in-the-file": (
        "  datapath_mode: netkit\n  big_tcp:\n    ipv4: true",
        "  datapath_mode: 1\n  big_tcp:\n    ipv4: yes please",
        ["tuning.datapath_mode: expected 'veth', 'netkit' or 'netkit-l2', got a whole number"],
    ),
    "a-string-is-not-a-number": (
        "    api_server_port: 6443",
        '    api_server_port: "6443"',
        ["tuning.kube_proxy_replacement.api_server_port: expected a whole number or null, got a string"],
    ),
    "cidr-with-host-bits": (
        "    ipv4: 10.43.0.0/16",
        "    ipv4: 10.43.0.1/16",
        ["distribution.service_cidrs.ipv4", "host bits set", "did you mean 10.43.0.0/16"],
    ),
    "cidr-of-wrong-family": (
        "    ipv6: fd00:64::/112",
        "    ipv6: 10.44.0.0/16",
        ["distribution.service_cidrs.ipv6", "IPv4 CIDR where an IPv6 CIDR is expected"],
    ),
    "not-a-cidr": ("    ipv4: 10.42.0.0/16", "    ipv4: ten-dot-42", ["cluster_cidrs.ipv4", "is not a CIDR"]),
    "pod-pool-overlaps-service-cidr": (
        "    ipv4: 10.43.0.0/16",
        "    ipv4: 100.70.128.0/20",
        [
            "tuning.ipam.ipv4.cidr: 100.70.0.0/16 overlaps distribution.service_cidrs.ipv4 100.70.128.0/20",
            "pick disjoint ranges",
        ],
    ),
    "node-address-inside-pod-pool": (
        "    ipv4: 10.128.16.54",
        "    ipv4: 100.70.3.4",
        ["nodes[1].ipv4", "skyforge-2 address 100.70.3.4 lies inside tuning.ipam.ipv4.cidr"],
    ),
    "duplicate-node-address": (
        "    ipv4: 10.128.16.55",
        "    ipv4: 10.128.16.58",
        ["nodes[2].ipv4", "also the address of node skyforge-1"],
    ),
    "bad-node-address": (
        "    ipv4: 10.128.16.55",
        "    ipv4: 10.128.16.555",
        ["nodes[2].ipv4", "not an IP address"],
    ),
    "mask-shorter-than-pool": (
        "      mask_size: 24                             # ASSUMED: Cilium cluster-pool default",
        "      mask_size: 12",
        ["tuning.ipam.ipv4.mask_size", "shorter than the pool prefix /16"],
    ),
    "native-cidr-misses-pool": (
        "    ipv4: 100.70.0.0/16                         # the cluster-pool pod CIDR",
        "    ipv4: 100.71.0.0/16",
        ["tuning.native_routing_cidrs.ipv4", "does not contain the pod pool 100.70.0.0/16"],
    ),
    "native-routing-without-ipv6-cidr": (
        "    ipv6: fd00::/104                            # the IPv6 pod pool (Helm needs it for dual-stack native)",
        "    ipv6: null",
        ["tuning.native_routing_cidrs", "ipv6 is required with native routing", "ipv6NativeRoutingCIDR"],
    ),
    "kpr-without-api-server": (
        "    api_server_host: 10.128.16.58               # ASSUMED: skyforge-1 runs the k3s server",
        "    api_server_host: null",
        ["tuning.kube_proxy_replacement.api_server_host", "required with kube-proxy replacement"],
    ),
    "api-server-is-a-cluster-ip": (
        "    api_server_host: 10.128.16.58               # ASSUMED: skyforge-1 runs the k3s server",
        "    api_server_host: 10.43.0.1",
        ["tuning.kube_proxy_replacement.api_server_host", "is a ClusterIP", "node address"],
    ),
    "node-address-inside-k3s-cluster-cidr": (
        "    ipv4: 10.128.16.54",
        "    ipv4: 10.42.7.7",
        ["nodes[1].ipv4", "lies inside distribution.cluster_cidrs.ipv4 10.42.0.0/16"],
    ),
    "unknown-builtin-chart": (
        "  chart: cilium/cilium",
        "  chart: builtin:prod",
        ["release.chart", "unknown built-in chart 'builtin:prod' (known: builtin:lab)"],
    ),
    "bad-choice": (
        "  datapath_mode: netkit",
        "  datapath_mode: netkitt",
        ["tuning.datapath_mode", "'veth', 'netkit' or 'netkit-l2'"],
    ),
    "bad-bool": (
        "  vm_workloads: true",
        "  vm_workloads: maybe",
        ["tuning.vm_workloads", "use true or false"],
    ),
    "missing-required": ("  version: 1.19.0-rc.1\n", "", ["release.version: required field is missing"]),
    "duplicate-key": (
        "  l2_neigh_discovery: true",
        "  l2_neigh_discovery: true\n  l2_neigh_discovery: false",
        ["duplicate key 'l2_neigh_discovery'", "YAML would silently keep only the last"],
    ),
    "tab-indentation": (
        "  bpf_masquerade: true",
        "\tbpf_masquerade: true",
        ["a tab is used for indentation"],
    ),
    "malformed-yaml": ("  bpf_masquerade: true", "  bpf_masquerade: [true", ["fix the YAML syntax"]),
}


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_profile_is_one_clear_input_error(case: str, tmp_path: Path, cli: Any) -> None:
    old, new, expected = CASES[case]
    assert old in BASE, f"fixture drifted: {old!r} not in skyforge-dev.yaml"
    text = BASE.replace(old, new, 1)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = cli("profile", "show", str(path))
    assert result.code == 2
    err = result.err
    assert "Traceback" not in err
    assert err.startswith(f"error: {path}:"), err
    assert "\nhint: " in err
    for piece in expected:
        assert piece in err, err


def test_error_points_at_the_edited_line(tmp_path: Path, cli: Any) -> None:
    text = BASE.replace("  datapath_mode: netkit", "  datapath_mode: turbo")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = cli("profile", "show", str(path))
    assert f"{path}:{_line_of(text, 'datapath_mode: turbo')}: tuning.datapath_mode" in result.err


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("skyforge-dve", "did you mean 'skyforge-dev'?"),
        ("nowhere/profile.yaml", "profile file nowhere/profile.yaml does not exist"),
    ],
)
def test_unknown_profile_name_or_missing_file(arg: str, expected: str, cli: Any) -> None:
    result = cli("profile", "show", arg)
    assert result.code == 2
    assert expected in result.err


@pytest.mark.parametrize(("content", "kind"), [("", "empty"), ("- a\n- b\n", "a list")])
def test_profile_that_is_not_a_mapping(content: str, kind: str, tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(content)
    result = cli("profile", "show", str(path))
    assert result.code == 2
    assert f"the profile is {kind}, not a mapping" in result.err
