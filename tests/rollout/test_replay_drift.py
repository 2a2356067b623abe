"""An abort or a rollback gives the live values back to helm: when that would not render the live
cilium-config again, the proposal says which keys differ, live against replayed.

The release below is the real Cilium 1.19.0-rc.1 chart installed with no values of its own (a helm dry run
prints its `helm get values` and `helm get values --all`: USER-SUPPLIED and COMPUTED VALUES); its
cilium-config is the chart rendered so. A run replays `--all` through `-f` with the same chart (the one it
restores with). Helm 3 types the numbers of a -f file as float64 where the chart's own are json.Number:
`if .Values.MTU` turns false for 0 and `kindIs "float64"` adds an `s`. Helm 4 replays them exactly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cilium_tune.adapters.helm import find_helm
from cilium_tune.plan.planner import Release
from cilium_tune.rollout.baseline import replayable
from cilium_tune.rollout.run import cilium_config, render, replay_note

pytestmark = pytest.mark.helm


@pytest.fixture(scope="module")
def live_values(helm4: Path, real_chart: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`00-live-before.yaml` of a run over the release: its `--all` values as a run gives them back (helm 4's
    dry run prints them; helm 3's wants a cluster, and the text is the same YAML)."""
    out = subprocess.run(
        [str(helm4), "install", "cilium", str(real_chart), "-n", "kube-system", "--dry-run=client", "--debug"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    supplied = out.split("USER-SUPPLIED VALUES:\n", 1)[1].split("\nCOMPUTED VALUES:\n", 1)[0]
    computed = out.split("\nCOMPUTED VALUES:\n", 1)[1].split("\nHOOKS:\n", 1)[0]
    path = tmp_path_factory.mktemp("run") / "00-live-before.yaml"
    path.write_text(replayable(computed, supplied))
    return path


def replayed_and_live(helm_bin: Path, chart: Path, live_values: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(cilium-config as a run's abort would render it with `helm_bin`, as the release has it)."""
    helm, release = find_helm(str(helm_bin)), Release("kube-system", "cilium", str(chart), "1.19.0-rc.1")
    replayed = cilium_config(render(helm, release, [str(live_values)], release.version))
    return replayed, cilium_config(render(helm, release, [], release.version))


def test_helm3_would_not_restore_six_keys_of_the_real_chart_and_the_proposal_says_which(
    helm3: Path, real_chart: Path, live_values: Path
) -> None:
    replayed, live = replayed_and_live(helm3, real_chart, live_values)

    assert replay_note(live, replayed, helm_major=3) == (
        "an abort or a rollback of this run would not restore cilium-config exactly: helm 3 renders the live "
        "values given back with -f otherwise (ip-tracing-option-type: 0 live, unset replayed; mtu: 0 live, unset "
        "replayed; tofqdns-min-ttl: 0 live, unset replayed; tofqdns-proxy-port: 0 live, unset replayed; "
        "tunnel-port: 0 live, unset replayed; unmanaged-pod-watcher-interval: 15 live, 15s replayed). Helm 3 "
        "types the numbers of a -f file as float64, unlike the chart's own; helm 4 replays them exactly"
    )


def test_helm4_replays_the_live_values_exactly(helm4: Path, real_chart: Path, live_values: Path) -> None:
    replayed, live = replayed_and_live(helm4, real_chart, live_values)

    assert replayed == live
    assert replay_note(live, replayed, helm_major=4) is None
