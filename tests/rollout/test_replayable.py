"""A captured `helm get values --all` given back with -f renders the release again exactly, with helm 3 and 4.

The chart below has what Cilium 1.19 has: a null default that a template tests with `hasKey`
(`policyCIDRMatchMode`), a nested null default, and a key the user deleted with a null.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from cilium_tune.rollout.baseline import replayable

pytestmark = pytest.mark.helm

CHART_VALUES = "policyCIDRMatchMode:\nhubble:\n  peer: null\n  port: 4244\nmtu: 0\n"
TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata: {name: cilium-config}
data:
{{- if hasKey .Values "policyCIDRMatchMode" }}
  policy-cidr-match-mode: {{ join " " .Values.policyCIDRMatchMode | quote }}
{{- end }}
  hubble-peer-set: {{ hasKey .Values.hubble "peer" | quote }}
  hubble-port: {{ .Values.hubble.port | quote }}
  mtu: {{ .Values.mtu | quote }}
"""
# What `helm get values --all` prints for a release installed with `-f {hubble: {port: 4245}}`: every
# default, the null ones included, coalesced with what the user gave.
ALL_VALUES = "hubble:\n  peer: null\n  port: 4245\nmtu: 0\npolicyCIDRMatchMode: null\n"
INSTALLED = {"hubble-peer-set": "true", "hubble-port": "4245", "mtu": "0", "policy-cidr-match-mode": ""}


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "chart"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: mini\nversion: 1.0.0\n")
    (root / "values.yaml").write_text(CHART_VALUES)
    (root / "templates" / "config.yaml").write_text(TEMPLATE)
    return root


def config(helm: Path, chart: Path, values: str, tmp: Path) -> dict[str, str]:
    path = tmp / "values.yaml"
    path.write_text(values)
    out = subprocess.run([str(helm), "template", "r", str(chart), "-f", str(path)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return dict(yaml.safe_load(out)["data"])


def test_the_release_as_installed(helm_bin: Path, chart: Path, tmp_path: Path) -> None:
    assert config(helm_bin, chart, "hubble: {port: 4245}\n", tmp_path) == INSTALLED


def test_all_values_given_back_as_they_are_delete_the_null_defaults(helm_bin: Path, chart: Path,
                                                                      tmp_path: Path) -> None:
    assert "policy-cidr-match-mode" not in config(helm_bin, chart, ALL_VALUES, tmp_path)


def test_replayable_values_render_the_release_again(helm_bin: Path, chart: Path, tmp_path: Path) -> None:
    assert config(helm_bin, chart, replayable(ALL_VALUES), tmp_path) == INSTALLED


def test_nulls_inside_lists_are_values_and_stay() -> None:
    assert yaml.safe_load(replayable("a: [1, null]\nb: {c: null, d: x}\ne: null\n")) == {"a": [1, None],
                                                                                           "b": {"d": "x"}}
