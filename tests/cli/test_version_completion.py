"""`cilium-tune version` and shell completion, as kubectl and helm users expect them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cilium_tune import __version__


def complete(words: str) -> list[str]:
    """What bash completion offers for the last word of `words` (click's bash protocol)."""
    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1),
           "_CILIUM_TUNE_COMPLETE": "bash_complete"}
    out = subprocess.run([sys.executable, "-m", "cilium_tune"], env=env, capture_output=True, text=True,
                         check=False, timeout=30)
    return [line.split(",", 1)[1] for line in out.stdout.splitlines()]


def test_version_names_the_tool_and_the_helm_it_would_run(cli: Any, helm4: Path) -> None:
    text = cli("version", "--helm", str(helm4))
    assert text.code == 0
    assert f"cilium-tune: {__version__}" in text.out
    assert f"4.1.4 ({helm4})" in text.out
    doc = json.loads(cli("version", "--helm", str(helm4), "-o", "json").out)
    assert doc["schema"] == "cilium-tune/version/v1"
    assert doc["helm"] == {"path": str(helm4), "version": "4.1.4"}
    assert "helm:\n  path: " in cli("version", "--helm", str(helm4), "-o", "yaml").out


def test_version_reports_a_missing_helm_instead_of_failing(cli: Any, tmp_path: Path) -> None:
    result = cli("version", "--helm", str(tmp_path / "no-helm"))
    assert result.code == 0
    assert "helm:        not usable: helm binary not found" in result.out


def test_completion_scripts_for_each_shell(cli: Any) -> None:
    assert "_CILIUM_TUNE_COMPLETE=bash_complete" in cli("completion", "bash").out
    assert "compdef" in cli("completion", "zsh").out
    assert "complete --no-files --command cilium-tune" in cli("completion", "fish").out
    assert cli("completion", "tcsh").code == 2


def test_completion_offers_commands_profiles_and_rule_ids() -> None:
    assert complete("cilium-tune pla") == ["plan"]
    assert complete("cilium-tune plan --profile sky") == ["skyforge-dev"]
    assert complete("cilium-tune profile show l") == ["lab"]
    assert "CT201" in complete("cilium-tune rules explain CT20")
    assert complete("cilium-tune lab st") == ["status"]
