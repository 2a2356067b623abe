"""The executor and its journal on an in-memory cluster: records, signals, digests, node failures."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from cilium_tune.adapters.helm import Helm
from cilium_tune.adapters.kube import NODES, PODS, FakeKube
from cilium_tune.errors import ClusterError, InputError
from cilium_tune.plan.steps import PENDING_LABEL, Cordon, LabelNode, RestartAgent, Step
from cilium_tune.rollout.actions import Actions
from cilium_tune.rollout.executor import Executor, Interrupted, NodeFailed
from cilium_tune.rollout.journal import Journal, new_run_dir, sha256_file

STEPS: list[Step] = [
    LabelNode(id="hold/n1/label", purpose="p", node="n1"),
    Cordon(id="switch/n1/cordon", purpose="p", node="n1"),
    LabelNode(id="switch/n1/unlabel", purpose="p", node="n1", value=None),
    Cordon(id="switch/n1/uncordon", purpose="p", node="n1", unschedulable=False),
]


def cluster() -> FakeKube:
    return FakeKube(seed={NODES: [{"metadata": {"name": "n1", "labels": {}}, "spec": {}}], PODS: []})


def new_journal(tmp_path: Path, steps: list[Step] = STEPS) -> Journal:
    run_dir = new_run_dir(tmp_path / "runs")
    (run_dir / "values.yaml").write_text("a: 1\n")
    return Journal.create(run_dir, kind="apply", meta={"nodes": ["n1"]}, steps=steps,
                          inputs={"values.yaml": sha256_file(run_dir / "values.yaml")})


def actions(kube: FakeKube) -> Actions:
    return Actions(kube, Helm(Path("/bin/false"), (3, 18, 0)))


def test_every_step_is_recorded_before_and_after_it_runs(tmp_path: Path) -> None:
    kube, journal = cluster(), new_journal(tmp_path)
    Executor(journal, actions(kube), echo=lambda _: None).run()

    events = [(e["id"], e["event"]) for e in Journal.load(journal.run_dir).data["events"]]
    assert events == [(s.id, ev) for s in STEPS for ev in ("started", "done")]
    assert journal.state == "succeeded"
    node = kube.get(NODES, "n1")
    assert PENDING_LABEL not in node["metadata"]["labels"] and "unschedulable" not in node["spec"]


class SignalDuringStep(Actions):
    """Sends SIGTERM to this process while the second step runs, as a user's `kill` would."""

    def run(self, step: Step, started: dict[str, Any]) -> dict[str, Any]:
        if step.id == "switch/n1/cordon":
            os.kill(os.getpid(), signal.SIGTERM)
        return super().run(step, started)


def test_sigterm_stops_at_the_next_step_boundary_and_resume_finishes(tmp_path: Path) -> None:
    kube, journal = cluster(), new_journal(tmp_path)
    with pytest.raises(Interrupted):
        Executor(journal, SignalDuringStep(kube, Helm(Path("/bin/false"), (3, 18, 0))), echo=lambda _: None).run()
    assert journal.state == "interrupted"
    assert [journal.status_of(s.id) for s in STEPS] == ["done", "done", "pending", "pending"]
    assert kube.get(NODES, "n1")["spec"]["unschedulable"] is True

    resumed = Journal.load(journal.run_dir)
    resumed.verify_digest()
    Executor(resumed, actions(kube), echo=lambda _: None).run()
    assert resumed.state == "succeeded"
    assert "unschedulable" not in kube.get(NODES, "n1")["spec"]


def test_a_changed_input_file_refuses_the_resume(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    (journal.run_dir / "values.yaml").write_text("a: 2\n")
    with pytest.raises(InputError, match="changed since run"):
        Journal.load(journal.run_dir).verify_digest()


def test_an_edited_journal_refuses_the_resume(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    journal.data["steps"][1]["node"] = "n2"
    journal.save()
    with pytest.raises(InputError, match="digest"):
        Journal.load(journal.run_dir).verify_digest()


def test_a_node_failure_runs_the_recovery_then_stops_with_exit_3(tmp_path: Path) -> None:
    kube = cluster()
    failing = [*STEPS[:2], RestartAgent(id="switch/n1/restart-agent", purpose="p", node="n1", namespace="ks",
                                        timeout_s=0), *STEPS[2:]]
    journal = new_journal(tmp_path, failing)
    taken_back = [Cordon(id="recover/n1/uncordon", purpose="p", node="n1", unschedulable=False)]
    executor = Executor(journal, actions(kube), echo=lambda _: None, on_failure=lambda step, exc: taken_back)

    with pytest.raises(NodeFailed) as failure:
        executor.run()
    assert failure.value.exit_code == 3 and "no new pod" in failure.value.message
    assert journal.status_of("switch/n1/restart-agent") == "reset", "a resume switches the node from the start"
    assert journal.status_of("recover/n1/uncordon") == "done"
    assert "unschedulable" not in kube.get(NODES, "n1")["spec"]


def test_a_failure_without_recovery_keeps_the_error_in_the_journal(tmp_path: Path) -> None:
    journal = new_journal(tmp_path, [Cordon(id="switch/n9/cordon", purpose="p", node="n9")])
    with pytest.raises(ClusterError):
        Executor(journal, actions(cluster()), echo=lambda _: None).run()
    assert journal.state == "failed" and "n9" in journal.data["message"]



@pytest.fixture
def scrubbing() -> Any:
    """The CLI's credential scrubber, running, having seen a credential."""
    from cilium_tune.values.redact import SECRETS

    SECRETS.start()
    SECRETS.remember({"hubble": {"tls": {"server": {"key": "ca.crt"}}}})
    yield SECRETS
    SECRETS.stop()


def test_a_journal_whose_text_looks_like_a_credential_still_reads_back_and_resumes(tmp_path: Path,
                                                                                   scrubbing: Any) -> None:
    # the real chart's cilium-config holds `hubble-tls-client-ca-files: .../client-ca.crt`
    assert "client-<redacted>" in scrubbing.scrub("/var/lib/cilium/tls/hubble/client-ca.crt")
    run_dir = new_run_dir(tmp_path / "runs")
    meta = {"nodes": ["n1"], "effect": {"config_before": {"ca": "/var/lib/cilium/tls/hubble/client-ca.crt"}}}
    Journal.create(run_dir, kind="apply", meta=meta, steps=STEPS, inputs={})
    again = Journal.load(run_dir)
    again.verify_digest()
    assert again.meta == meta
