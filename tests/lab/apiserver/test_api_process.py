"""The server as the lab starts it: a process with a ready-file, SIGTERM, snapshot; and pod logs."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from apiserver_testkit import Kube, eventually, http, node


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    ready = tmp_path / "ready"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "cilium_tune.lab.apiserver", "--port", "0",
                             "--ready-file", str(ready), *extra])
    try:
        url = eventually(lambda: ready.exists() and ready.read_text().strip(), timeout=20)
    except AssertionError:
        proc.kill()
        proc.wait()
        raise
    return proc, url


def test_process_writes_ready_file_stops_on_sigterm_and_restores_its_snapshot(tmp_path: Path) -> None:
    snapshot = tmp_path / "state.json"
    args = ("--snapshot", str(snapshot), "--service-cidr", "198.18.64.0/18", "--service-cidr", "fd00:64::/112")
    proc, url = _start(tmp_path, *args)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert http(f"{url}/api/v1/namespaces/default/configmaps", "POST",
                    {"metadata": {"name": "kept"}, "data": {"a": "1"}})[0] == 201
        svc = http(f"{url}/api/v1/namespaces/default/services", "POST",
                   {"metadata": {"name": "s"}, "spec": {"ipFamilyPolicy": "PreferDualStack"}})[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert snapshot.exists()

    proc, url = _start(tmp_path, *args)
    try:
        assert http(f"{url}/api/v1/namespaces/default/configmaps/kept")[1]["data"] == {"a": "1"}
        again = http(f"{url}/api/v1/namespaces/default/services", "POST",
                     {"metadata": {"name": "t"}, "spec": {"ipFamilyPolicy": "PreferDualStack"}})[1]
        assert not set(again["spec"]["clusterIPs"]) & set(svc["spec"]["clusterIPs"])
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_bad_service_cidr_is_an_input_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "cilium_tune.lab.apiserver", "--ready-file",
                           str(tmp_path / "r"), "--service-cidr", "198.18.64.1/18"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2 and "invalid --service-cidr" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_pod_logs_are_the_runs_the_status_names_with_tail_previous_and_follow(kube: Kube, tmp_path: Path) -> None:
    http(f"{kube.url}/api/v1/nodes", "POST", node("node1", 1))
    pod = http(f"{kube.url}/api/v1/namespaces/default/pods", "POST",
               {"metadata": {"name": "p"}, "spec": {"nodeName": "node1",
                                                   "containers": [{"name": "main", "image": "busybox"},
                                                                  {"name": "side", "image": "busybox"}]}})[1]
    base = f"{kube.url}/api/v1/namespaces/default/pods/p/log"
    code, body = http(f"{base}?container=main")
    assert code == 400 and body["message"] == 'container "main" in pod "p" is waiting to start: ContainerCreating'
    # As the lab kubelet reports a container in its second run (container IDs name the run).
    run = {"name": "main", "restartCount": 1, "containerID": "lab://ns/main/1",
           "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "containerID": "lab://ns/main/0"}}}
    http(f"{kube.url}/api/v1/namespaces/default/pods/p/status", "PATCH", {"status": {"containerStatuses": [run]}},
         "application/merge-patch+json")
    logs = tmp_path / "state" / "logs" / f"default_p_{pod['metadata']['uid']}" / "main"
    logs.mkdir(parents=True)
    (logs / "0.log").write_text("earlier run\n")
    log_file = logs / "1.log"
    log_file.write_text("one\ntwo\nthree\n")
    assert http(f"{base}?container=main&tailLines=2") == (200, "two\nthree\n")
    assert http(f"{base}?container=main&previous=true") == (200, "earlier run\n")
    code, body = http(base)
    assert code == 400 and "a container name must be specified for pod p, choose one of: [main side]" in \
        body["message"]

    received: list[bytes] = []

    def follow() -> None:
        with urllib.request.urlopen(f"{base}?container=main&follow=true", timeout=30) as resp:
            while chunk := resp.read1():
                received.append(chunk)

    reader = threading.Thread(target=follow)
    reader.start()
    eventually(lambda: b"".join(received) == b"one\ntwo\nthree\n")
    with log_file.open("a") as f:
        f.write("four\n")
    eventually(lambda: b"".join(received).endswith(b"four\n"))
    http(f"{kube.url}/api/v1/namespaces/default/pods/p", "DELETE")
    reader.join(timeout=10)
    assert not reader.is_alive()
