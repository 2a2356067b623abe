"""A capture reads one revision: the metadata first, then both values at its revision, so an upgrade that
lands between the helm calls cannot pair revision 6's values with revision 5's chart version."""

from __future__ import annotations

from pathlib import Path

from cilium_tune.adapters.helm import Helm, ReleaseRef
from cilium_tune.adapters.kube import CONFIGMAPS, FakeKube
from cilium_tune.rollout.baseline import capture

# A helm whose release moved on to revision 6 right after `get metadata` said 5 (the adapter tests' way:
# a script in the place of the binary). It logs each call and answers `get values` per --revision.
HELM = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
case "$*" in
  *"get metadata"*) echo '{"chart": "cilium", "version": "1.19.0-rc.1", "revision": 5, "status": "deployed"}' ;;
  *"--all"*"--revision 5"*) echo "MTU: 1400"; echo "image: {tag: v1.19.0-rc.1}" ;;
  *"--revision 5"*) echo "MTU: 1400" ;;
  *"get values"*) echo "MTU: 9000"; echo "image: {tag: v1.19.6}" ;;
  *) exit 1 ;;
esac
"""


def test_both_values_are_read_at_the_revision_the_metadata_names(tmp_path: Path) -> None:
    helm_path = tmp_path / "bin" / "helm"
    helm_path.parent.mkdir()
    helm_path.write_text(HELM)
    helm_path.chmod(0o755)

    ref = ReleaseRef("kube-system", "cilium", None, None)
    found = capture(Helm(helm_path, (4, 0, 0)), FakeKube({CONFIGMAPS: []}), ref, tmp_path / "baselines")

    assert (found.revision, found.chart_version) == (5, "1.19.0-rc.1")
    assert "MTU: 1400" in found.values_file.read_text() and "v1.19.0-rc.1" in found.values_file.read_text()
    assert "MTU: 1400" in (found.path / "user-values.yaml").read_text()
    calls = (helm_path.parent / "calls").read_text().splitlines()
    assert "get metadata" in calls[0] and len(calls) == 3
    assert all(call.endswith("--revision 5") for call in calls[1:])
