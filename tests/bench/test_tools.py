"""Command lines of iperf3/netperf and the parsers of what they print (recorded outputs)."""

from __future__ import annotations

import json

import pytest

from cilium_tune.bench import scenarios, tools
from cilium_tune.bench.scenarios import Kind

STREAM, RR, CRR = (scenarios.select(["pod-to-pod-cross-node"], [4], [t])[0] for t in (Kind.STREAM, Kind.RR, Kind.CRR))


def test_stream_sample_is_iperf3_json_pinned() -> None:
    argv = tools.sample_argv(STREAM, "198.19.2.2", 1, tools.Pinning(0, 1))
    assert argv[:3] == ["iperf3", "-c", "198.19.2.2"]
    assert "-J" in argv and argv[-2:] == ["-A", "0,1"]


def test_rr_is_timed_and_crr_counts_connections_with_a_fixed_data_port() -> None:
    rr = tools.sample_argv(RR, "fd00:19::202", 2, None)
    assert rr[rr.index("-l") + 1] == "2" and "-6" not in rr and "-4" in rr
    crr = tools.sample_argv(CRR, "198.19.2.2", 1, tools.Pinning(0, 1), connections=3000)
    assert crr[crr.index("-l") + 1] == "-3000"
    assert crr[crr.index("-T") + 1] == "0,1"
    assert crr[crr.index("-P", crr.index("--")) + 1] == f",{tools.NETPERF_DATA_PORT}"


def test_batch_script_marks_each_sample_and_the_log_splits_back() -> None:
    script = tools.batch_script([("stream/a/ipv4", ["echo", "x y"]), ("crr/b/ipv6", ["false"])])
    assert script.count(tools.MARK) == 4
    log = ("### ct-bench stream/a/ipv4\nx y\n### ct-bench-rc 0\n"
           "### ct-bench crr/b/ipv6\n### ct-bench-rc 1\n### ct-bench rr/c/ipv4\npartial")
    raw = tools.split_batch(log)
    assert [(r.probe_id, r.rc) for r in raw] == [("stream/a/ipv4", 0), ("crr/b/ipv6", 1), ("rr/c/ipv4", None)]
    assert raw[0].output == "x y"


def test_iperf3_json_gives_gbit_per_second() -> None:
    doc = {"start": {}, "end": {"sum_received": {"bits_per_second": 19.5e9}}}
    raw = tools.RawSample("stream/x/ipv4", 0, json.dumps(doc))
    assert tools.parse_sample(Kind.STREAM, raw) == (19.5,)


def test_iperf3_error_is_a_sample_error_with_its_words() -> None:
    err = {"error": "unable to connect to server: Network is unreachable"}
    raw = tools.RawSample("stream/x/ipv6", 1, json.dumps(err))
    with pytest.raises(tools.SampleError, match="Network is unreachable"):
        tools.parse_sample(Kind.STREAM, raw)


def test_netperf_rr_line_gives_four_values_after_warnings() -> None:
    out = "netperf: warning: something\n61,88,1175,10174.14"
    assert tools.parse_sample(Kind.RR, tools.RawSample("rr/x/ipv4", 0, out)) == (61.0, 88.0, 1175.0, 10174.14)
    assert tools.parse_sample(Kind.CRR, tools.RawSample("crr/x/ipv4", 0, "1955.13")) == (1955.13,)


def test_netperf_refusal_is_a_sample_error() -> None:
    out = ("establish control: are you sure there is a netserver listening on 198.18.64.3 at port 12865?\n"
           "establish_control could not establish the control connection from 0.0.0.0 port 0")
    with pytest.raises(tools.SampleError, match="could not establish"):
        tools.parse_sample(Kind.CRR, tools.RawSample("crr/x/ipv4", 255, out))


def test_select_by_scenario_and_probe_glob() -> None:
    ids = [p.id for p in scenarios.select(["stream/*/ipv4"], [4, 6])]
    assert ids == ["stream/host-to-host/ipv4", "stream/pod-to-pod-same-node/ipv4",
                   "stream/pod-to-pod-cross-node/ipv4", "stream/pod-to-service/ipv4", "stream/loopback/ipv4"]
    churn = [p.id for p in scenarios.select(["pod-to-local-service"], [4], churn=(0, 1000))]
    assert churn == ["churn/pod-to-local-service@0/ipv4", "churn/pod-to-local-service@1000/ipv4"]


def test_select_refuses_what_matches_nothing() -> None:
    from cilium_tune.errors import InputError

    with pytest.raises(InputError, match="matches nothing"):
        scenarios.select(["no-such-*"])
    with pytest.raises(InputError, match="only 4 and 6"):
        scenarios.select(families=[5])
