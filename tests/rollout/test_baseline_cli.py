"""`baseline show` and `baseline verify` on captures made on disk (no cluster needed to read one back)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rollout.captures import write_capture


def test_show_reads_the_newest_capture_of_any_release(tmp_path: Path, cli: Callable[..., Any]) -> None:
    older = write_capture(tmp_path / "baselines" / "kube-system-cilium-r3-a", revision=3)
    os.utime(older, (1, 1))
    newer = write_capture(tmp_path / "baselines" / "kube-system-other-r7-b", revision=7)

    code, out, _ = cli("baseline", "show", "--state-dir", str(tmp_path))

    assert code == 0
    assert out.splitlines()[:3] == [
        f"baseline {newer}",
        "  release      kube-system/cilium revision 7 (deployed)",
        "  chart        cilium 1.18.12",
    ]
    code, out, _ = cli("baseline", "show", str(older), "-o", "json")
    assert code == 0 and json.loads(out)["release"]["revision"] == 3


def test_show_skips_a_capture_left_half_written_by_an_interrupted_run(
        tmp_path: Path, cli: Callable[..., Any]) -> None:
    done = write_capture(tmp_path / "baselines" / "kube-system-cilium-r3-a", revision=3)
    os.utime(done, (1, 1))
    write_capture(tmp_path / "baselines" / ".capture-0123abcd", revision=7)  # newer, but never renamed into place

    code, out, _ = cli("baseline", "show", "--state-dir", str(tmp_path))

    assert code == 0 and out.splitlines()[0] == f"baseline {done}"


def test_verify_names_what_changed_since_the_capture(tmp_path: Path, cli: Callable[..., Any]) -> None:
    capture = write_capture(tmp_path / "baselines" / "kube-system-cilium-r3-a")
    code, out, _ = cli("baseline", "verify", "--state-dir", str(tmp_path))
    assert code == 0 and out.startswith(f"ok: {capture} (chart 1.18.12, revision 3)")

    (capture / "values.yaml").write_text("# chart-version: 1.18.12\nMTU: 9000\n")
    code, out, err = cli("baseline", "verify", str(capture))
    assert code == 1
    assert f"  FAILED {capture / 'values.yaml'}: changed since capture (sha256 differs)" in out
    assert f"error: baseline {capture} does not verify" in err


def test_without_a_capture_there_is_nothing_to_show(tmp_path: Path, cli: Callable[..., Any]) -> None:
    code, _, err = cli("baseline", "show", "--state-dir", str(tmp_path))
    assert code == 2 and f"error: no baseline under {tmp_path / 'baselines'}" in err
