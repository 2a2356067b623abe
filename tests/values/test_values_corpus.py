"""Real users' Cilium values (the shared corpus) read and merged by the engine and by helm must agree.

The corpus is read from /work/shared/corpus at test time (never copied into the repository); the tests
skip when it is absent. Each file goes over the Cilium 1.19 chart's values.yaml, as `helm template
--chart cilium -f FILE` would merge it; the two real overlay pairs are merged as two `-f` layers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from values_oracle import HelmFailure, HelmOracle, canonical

from cilium_tune.values import load_values_text, merge_values

CORPUS = Path("/work/shared/corpus")
VALUES = sorted((CORPUS / "values").glob("*.yaml")) if CORPUS.is_dir() else []
OVERLAYS = sorted((CORPUS / "overlays").glob("*.yaml")) if CORPUS.is_dir() else []
CHART_VALUES = CORPUS / "chart" / "cilium-1.19-values.yaml"

pytestmark = [
    pytest.mark.helm,
    pytest.mark.skipif(not VALUES, reason=f"{CORPUS} is absent (shared reference data)"),
]


def _engine(files: list[Path], helm: int) -> object:
    layers = [load_values_text(path.read_text(), str(path), helm=helm) for path in files]
    defaults = load_values_text(CHART_VALUES.read_text(), str(CHART_VALUES), helm=helm)
    return merge_values(layers, chart_defaults=defaults).values


@pytest.mark.parametrize("path", VALUES, ids=[p.name for p in VALUES])
def test_corpus_file_over_the_cilium_chart_agrees_with_helm(oracle: HelmOracle, path: Path) -> None:
    theirs = oracle.render([path.read_text()], CHART_VALUES.read_text())
    assert not isinstance(theirs, HelmFailure), theirs.stderr
    assert canonical(_engine([path], oracle.major)) == canonical(theirs)


@pytest.mark.parametrize("overlay", OVERLAYS, ids=[p.name for p in OVERLAYS])
def test_real_overlay_pairs_agree_with_helm(oracle: HelmOracle, overlay: Path) -> None:
    base = CORPUS / "values" / overlay.name
    theirs = oracle.render([base.read_text(), overlay.read_text()], CHART_VALUES.read_text())
    assert not isinstance(theirs, HelmFailure), theirs.stderr
    assert canonical(_engine([base, overlay], oracle.major)) == canonical(theirs)
