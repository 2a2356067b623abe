"""The client pod's log, as recorded from a lab client on lab-1 (it starts mid-round, as `--tail` cuts it)."""

from __future__ import annotations

from pathlib import Path

from cilium_tune.checks.observe import latest_after, parse_rounds

LOG = (Path(__file__).parent / "data" / "client-lab-1.log").read_text()


def test_only_complete_rounds_count() -> None:
    rounds = parse_rounds(LOG)
    assert [r.number for r in rounds] == [199]  # the tail starts inside round 198
    assert latest_after(rounds, 198) is rounds[0]
    assert latest_after(rounds, 199) is None


def test_a_round_has_addresses_device_kinds_and_probes() -> None:
    r = parse_rounds(LOG)[0]
    assert ("eth0", "198.19.1.4/32") in r.addresses and ("eth0", "fd00:19::104/128") in r.addresses
    assert r.link_kinds == {"lo": "loopback", "eth0": "veth"}
    assert set(r.probes) >= {"same-v4", "same-v6", "cross-v4", "cross-v6", "svc-v4", "svc-v6",
                             "ing-http-80-0-v4", "ing-https-443-0-v6", "ing-nosni-443-v4"}


def test_probe_fields_status_latency_body_and_certificate() -> None:
    probes = parse_rounds(LOG)[0].probes
    cross = probes["cross-v6"]
    assert cross.ok and cross.http_code == 200 and cross.remote_ip and cross.time_total is not None
    assert '"node": "lab-2"' in cross.body
    https = probes["ing-https-443-0-v4"]
    assert https.ok and https.certificate is not None
    assert https.certificate.subject == "CN = skyforge.lab.test"
    assert https.certificate.sans == ("DNS:skyforge.lab.test",)
    assert https.certificate.not_after is not None and https.certificate.not_after.endswith("Z")
    assert probes["ing-nosni-443-v4"].reset and not probes["ing-nosni-443-v4"].ok


def test_garbage_and_cut_rounds_are_ignored() -> None:
    text = "@@ctv round 7 begin\n@@ctv probe x rc=0\n{not json\n@@ctv round 7 end\n@@ctv round 8 begin\n"
    rounds = parse_rounds(text)
    assert [r.number for r in rounds] == [7]
    assert rounds[0].probes["x"].http_code == 0 and not rounds[0].probes["x"].ok
