"""A chart default the user deleted with a null stays deleted when the baseline is given back to helm.

The release below was installed with `bpf.monitorAggregation: null` over the chart's `medium`, so its
cilium-config has `monitor-aggregation` empty. `helm get values --all` cannot say so (helm left the key
out), and the capture's values.yaml alone brings `medium` back. Rollback, apply and a run's "before"
therefore give helm the user-supplied values after the `--all` ones.

Real parts: helm 4 installs the real Cilium 1.19.0-rc.1 chart as a dry run (no cluster needed) and
prints the release's `helm get values` and `helm get values --all` (USER-SUPPLIED and COMPUTED VALUES);
the capture is made of those texts as `baseline capture` writes them; what each command would give
helm is rendered with `helm template` of the same chart.

Helm 4 only: under Helm 3, `--all` given back with -f changes six more cilium-config keys of this chart
whatever the nulls (`mtu`, `tunnel-port`, `tofqdns-min-ttl`, `tofqdns-proxy-port` and
`ip-tracing-option-type` leave it, `unmanaged-pod-watcher-interval` turns `15s` from `15`): Helm 3 types
numbers from -f files otherwise than the chart's own, a matter apart from the one shown here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from cilium_tune.desired import DesiredInputs, load_desired
from cilium_tune.rollout.apply_inputs import helm_files
from cilium_tune.rollout.baseline import replayable
from cilium_tune.rollout.rollback_inputs import rollback_target
from rollout.captures import write_capture

pytestmark = pytest.mark.helm

USER_VALUES = "bpf:\n  monitorAggregation: null\ncluster:\n  name: lab\n"


@pytest.fixture(scope="module")
def release(helm4: Path, real_chart: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(`helm get values`, `helm get values --all`) of a release installed with USER_VALUES."""
    user = tmp_path_factory.mktemp("install") / "user.yaml"
    user.write_text(USER_VALUES)
    out = subprocess.run(
        [str(helm4), "install", "cilium", str(real_chart), "-n", "kube-system", "-f", str(user),
         "--dry-run=client", "--debug"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    supplied = out.split("USER-SUPPLIED VALUES:\n", 1)[1].split("\nCOMPUTED VALUES:\n", 1)[0]
    computed = out.split("\nCOMPUTED VALUES:\n", 1)[1].split("\nHOOKS:\n", 1)[0]
    return supplied, computed


@pytest.fixture(scope="module")
def installed(helm4: Path, real_chart: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The release's cilium-config: the chart rendered with USER_VALUES."""
    user = tmp_path_factory.mktemp("installed") / "user.yaml"
    user.write_text(USER_VALUES)
    return cilium_config(helm4, real_chart, [user])


def cilium_config(helm: Path, chart: Path, files: list[Path]) -> dict[str, str]:
    args = [arg for path in files for arg in ("-f", str(path))]
    out = subprocess.run([str(helm), "template", "cilium", str(chart), "-n", "kube-system", *args],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    (config,) = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "ConfigMap"
                 and d["metadata"]["name"] == "cilium-config"]
    return dict(config["data"])


def test_the_release_has_monitor_aggregation_deleted_and_all_values_alone_bring_it_back(
    helm4: Path, real_chart: Path, release: tuple[str, str], installed: dict[str, str], tmp_path: Path
) -> None:
    supplied, computed = release
    assert "monitorAggregation" in supplied and "monitorAggregation" not in computed
    alone = tmp_path / "all.yaml"
    alone.write_text(replayable(computed))
    assert installed["monitor-aggregation"] is None  # `monitor-aggregation: ` (empty)
    assert cilium_config(helm4, real_chart, [alone])["monitor-aggregation"] == "medium"


def test_rollback_gives_helm_the_users_deletions_after_the_all_values(
    helm4: Path, real_chart: Path, release: tuple[str, str], installed: dict[str, str], tmp_path: Path
) -> None:
    supplied, computed = release
    capture = write_capture(tmp_path / "kube-system-cilium-r3-a", version="1.19.0-rc.1",
                            values=replayable(computed), user_values=supplied)

    target = rollback_target(profile_ref="lab", to=str(capture), chart=str(real_chart), baselines=tmp_path,
                             kubeconfig=None, kube_context=None)

    assert target.files == (capture / "values.yaml", capture / "user-values.yaml")
    assert cilium_config(helm4, real_chart, list(target.files)) == installed


def test_a_capture_without_deletions_is_given_back_as_its_values_alone(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "kube-system-cilium-r3-a", values="MTU: 1400\n", user_values="MTU: 1400\n")
    target = rollback_target(profile_ref="lab", to=str(capture), chart="cilium/cilium", baselines=tmp_path,
                             kubeconfig=None, kube_context=None)
    assert target.files == (capture / "values.yaml",)


def test_apply_layers_the_profile_over_the_release_with_its_deletions(
    helm4: Path, real_chart: Path, release: tuple[str, str], tmp_path: Path
) -> None:
    supplied, computed = release
    capture = write_capture(tmp_path / "capture", version="1.19.0-rc.1", values=replayable(computed),
                            user_values=supplied)
    desired = load_desired(DesiredInputs(profile_ref="lab", baseline_path=str(capture / "values.yaml"),
                                         require_profile=True))
    out = tmp_path / "overlays"
    files = helm_files(desired, out)
    user = tmp_path / "user.yaml"
    user.write_text(USER_VALUES)

    assert files[:2] == [capture / "values.yaml", capture / "user-values.yaml"]
    assert desired.values.get("bpf.monitorAggregation", "absent") is None
    over_the_release = [user, *(path for path in files if path.parent == out)]
    assert cilium_config(helm4, real_chart, files) == cilium_config(helm4, real_chart, over_the_release)


def test_a_runs_before_values_keep_the_users_deletions(
    helm4: Path, real_chart: Path, release: tuple[str, str], installed: dict[str, str], tmp_path: Path
) -> None:
    """What `rollout abort` and a failed node's recovery restore: the live release as the run found it."""
    supplied, computed = release
    before = tmp_path / "00-live-before.yaml"
    before.write_text(replayable(computed, supplied))
    assert cilium_config(helm4, real_chart, [before]) == installed
