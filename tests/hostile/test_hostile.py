"""The hostile-input corpus: what a careless user or an attacker feeds the CLI, and what must come out.

Every case gets its contract exit code (2 bad input, 3 cluster or tool failure, 130 interrupted),
exactly one `error:` line followed by a `hint:`, no traceback, no hang (a couple of seconds at most),
no credential from the input printed anywhere, and no injected line in any printed script.
Each case runs the real CLI in a forked child (tests/hostile/runner.py) under a memory cap and a deadline.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hostile_charts import hostile_chart
from hostile_runner import Result, run
from hostile_servers import api_server, kubeconfig, silent_server

from cilium_tune.facts.io import dump_snapshot
from cilium_tune.facts.model import KernelVersion, Snapshot
from cilium_tune.profile.load import builtin_profile_text

ROOT = Path(__file__).resolve().parents[2]
CANARY = "CANARY-s3cr3t-7f1e"
INJECTED = "kubectl delete ns kube-system"
DEADLINE = 5.0  # seconds: "a couple of seconds", with room for a loaded 2-core machine (hangs were 30 s to forever)

Files = dict[str, bytes | Callable[[Path], None]]


@dataclass(frozen=True)
class Case:
    """One hostile invocation: the files it needs (in a fresh directory), argv, and the contract exit code."""

    id: str
    argv: list[str]
    expect: int
    files: Files = field(default_factory=dict)
    stdin: bytes | None = None
    env: dict[str, str | None] = field(default_factory=dict)
    says: str | None = None  # a phrase the error must contain (which call, which line...)


# ------------------------------------------------------------------------------------------ inputs

SKYFORGE = builtin_profile_text("skyforge-dev")


def profile(old: str, new: str) -> bytes:
    assert old in SKYFORGE, old
    return SKYFORGE.replace(old, new, 1).encode()


def _facts_base() -> dict[str, Any]:
    """The rules' skyforge-dev facts base as a snapshot file would hold it."""
    data = yaml.safe_load((ROOT / "tests/rules/_bases/facts/skyforge-dev.yaml").read_text())
    for node in data["nodes"]:
        if isinstance(node.get("kernel"), str):
            node["kernel"] = KernelVersion.parse(node["kernel"]).model_dump()  # type: ignore[union-attr]
    return json.loads(dump_snapshot(Snapshot.model_validate(data)))


FACTS = _facts_base()


def facts(**changes: Any) -> bytes:
    """The skyforge-dev snapshot with dotted-path changes (`helm_release.revision=0`)."""
    data = json.loads(json.dumps(FACTS))
    for dotted, value in changes.items():
        parts = dotted.split("__")
        cursor = data
        for part in parts[:-1]:
            cursor = cursor[int(part)] if isinstance(cursor, list) else cursor[part]
        last = parts[-1]
        if isinstance(cursor, list):
            cursor[int(last)] = value
        else:
            cursor[last] = value
    return json.dumps(data, indent=2).encode()


LAUGHS = b"""a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
RECURSIVE_SEQ = b"a: &a [*a]\n"
RECURSIVE_MERGE = b"a: &a\n  b: 1\n  <<: *a\n"
DEEP_5K = b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n"
DEEP_100K = b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n"
DEEP_BLOCK = b"a:\n" + b"".join(b"  " * i + b"- " + b"\n" for i in range(0)) + b"  " + b"- " * 100_000 + b"x\n"
DEEP_MAPS = b"a: " + b"{b: " * 3000 + b"1" + b"}" * 3000 + b"\n"
HUGE_INT_YAML = b"a: " + b"9" * 5000 + b"\n"
SECRET_BAD_TAG = f"bgpPassword: !!int {CANARY}\n".encode()


def fifo(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        os.mkfifo(folder / name)

    return make


def big_sparse(name: str, size: int = 200 * 1024 * 1024) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        with open(folder / name, "wb") as handle:
            handle.truncate(size)

    return make


def symlink(name: str, target: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).symlink_to(target)

    return make


def directory(name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).mkdir(parents=True)

    return make


FAKE_HELM = """#!/bin/sh
echo "$0 $*" >> "$(dirname "$0")/helm.log"
case "$1" in
  version) echo "v3.18.0+gfake"; {version_sleep} ;;
  template) {template} ;;
esac
"""


def fake_helm(name: str = "helm", *, template: str = "echo 'kind: ConfigMap'", version_sleep: str = "true"):
    def make(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FAKE_HELM.format(template=template, version_sleep=version_sleep))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    return make


TINY_CHART = {
    "chart/Chart.yaml": b"apiVersion: v2\nname: cilium\nversion: 1.19.0-rc.1\n",
    "chart/values.yaml": b"debug:\n  enabled: false\n",
}
CANARY_BASELINE = (
    b"# chart-version: 1.19.0-rc.1\nbgpPassword: " + CANARY.encode() + b"\napiToken: " + CANARY.encode() + b"\n"
    b"hubble:\n  tls:\n    server:\n      key: " + CANARY.encode() + b"\n"
)
CANARY_VALUES = f"clustermesh:\n  apiserver:\n    etcdPassword: {CANARY}\nmyApiToken: {CANARY}\n".encode()
NO_PATH = {"PATH": "/usr/bin:/bin"}  # no helm on PATH: --helm must be used for every call


# --------------------------------------------------------------------------------------------- table

CASES: list[Case] = [
    # -- command injection into printed scripts: names and versions are validated at load
    Case(
        "node-name-newline",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("name: skyforge-2", f'name: "skyforge-2\\n{INJECTED}"')},
        says=r"p\.yaml:\d+: nodes\[1\]\.name",
    ),
    Case(
        "node-name-shell",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("name: skyforge-2", 'name: "skyforge-2;$(reboot)"')},
    ),
    Case(
        "node-name-upper", ["profile", "show", "p.yaml"], 2, {"p.yaml": profile("name: skyforge-2", "name: Skyforge_2")}
    ),
    Case(
        "node-name-too-long",
        ["render", "-p", "p.yaml"],
        2,
        {"p.yaml": profile("name: skyforge-2", "name: " + "a" * 254)},
    ),
    Case(
        "release-name-injection",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("  name: cilium\n", f'  name: "cilium\\n{INJECTED}"\n')},
    ),
    Case(
        "namespace-injection",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("namespace: kube-system", 'namespace: "kube-system --set x=y"')},
    ),
    Case(
        "release-version-injection",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("version: 1.19.0-rc.1", f'version: "1.19.0\\n{INJECTED}"')},
    ),
    Case(
        "release-version-garbage",
        ["profile", "show", "p.yaml"],
        2,
        {"p.yaml": profile("version: 1.19.0-rc.1", 'version: "latest; rm -rf /"')},
    ),
    Case(
        "chart-newline",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("chart: cilium/cilium", f'chart: "cilium/cilium\\n{INJECTED}"')},
    ),
    Case(
        "kube-context-newline",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("kube_context: null", f'kube_context: "prod\\n{INJECTED}"')},
    ),
    Case(
        "kubeconfig-path-newline",
        ["plan", "--overlays", "profile", "--profile", "p.yaml"],
        2,
        {"p.yaml": profile("kubeconfig: skyforge-private/.kubeconfig-skyforge", f'kubeconfig: "a\\n{INJECTED}"')},
    ),
    Case(
        "baseline-header-version",
        ["plan", "--overlays", "profile", "--baseline", "b.yaml"],
        2,
        {"b.yaml": b"# chart-version: 1.19.0;reboot\nfoo: 1\n"},
        says=r"b\.yaml:1: # chart-version",
    ),
    Case(
        "baseline-version-option",
        ["plan", "--overlays", "profile", "--baseline", "b.yaml", "--baseline-version", "1.2.3 && reboot"],
        2,
        {"b.yaml": b"foo: 1\n"},
    ),
    Case(
        "facts-release-revision-zero",
        ["plan", "--overlays", "profile", "--facts", "f.json"],
        2,
        {"f.json": facts(helm_release__revision=0)},
        says=r"f\.json:\d+: field helm_release\.revision",
    ),
    Case(
        "facts-release-revision-negative",
        ["plan", "--overlays", "profile", "--facts", "f.json"],
        2,
        {"f.json": facts(helm_release__revision=-1)},
    ),
    Case(
        "facts-release-name-injection",
        ["plan", "--overlays", "profile", "--facts", "f.json"],
        2,
        {"f.json": facts(helm_release__name=f"cilium\n{INJECTED}")},
    ),
    Case(
        "facts-release-namespace",
        ["lint", "--facts", "f.json"],
        2,
        {"f.json": facts(helm_release__namespace="Kube System")},
    ),
    Case(
        "facts-chart-version",
        ["plan", "--overlays", "profile", "--facts", "f.json"],
        2,
        {"f.json": facts(helm_release__chart_version="1.19.0\nrm -rf /")},
    ),
    Case(
        "facts-node-name", ["lint", "--facts", "f.json"], 2, {"f.json": facts(nodes__1__name=f"skyforge-2\n{INJECTED}")}
    ),
    Case("facts-namespace-option", ["facts", "-n", "kube-system;reboot", "--kubeconfig", "none"], 2),
    Case("facts-release-option", ["facts", "--release", "Cilium Release", "--kubeconfig", "none"], 2),
    # -- credentials: redacted at the output boundary, in every format (the canary must never appear)
    Case("canary-plan-text", ["plan", "--overlays", "profile", "--baseline", "b.yaml"], 0, {"b.yaml": CANARY_BASELINE}),
    Case(
        "canary-plan-json",
        ["plan", "--overlays", "profile", "--baseline", "b.yaml", "-o", "json"],
        0,
        {"b.yaml": CANARY_BASELINE},
    ),
    Case(
        "canary-plan-all-values",
        ["plan", "--overlays", "profile", "--baseline", "b.yaml", "--all-values"],
        0,
        {"b.yaml": CANARY_BASELINE},
    ),
    Case(
        "canary-lint-text",
        ["lint", "--baseline", "b.yaml", "-f", "v.yaml"],
        0,
        {"b.yaml": CANARY_BASELINE, "v.yaml": CANARY_VALUES},
    ),
    Case(
        "canary-lint-json",
        ["lint", "--baseline", "b.yaml", "-f", "v.yaml", "-o", "json"],
        0,
        {"b.yaml": CANARY_BASELINE, "v.yaml": CANARY_VALUES},
    ),
    Case("canary-lint-junit", ["lint", "--baseline", "b.yaml", "--junit", "out.xml"], 0, {"b.yaml": CANARY_BASELINE}),
    Case(
        "canary-lint-live-release",
        ["lint", "--facts", "f.json", "-o", "json"],
        0,
        {"f.json": facts(helm_release__computed_values__bgpPassword=CANARY)},
    ),
    Case(
        "canary-plan-live-release",
        ["plan", "--overlays", "profile", "--facts", "f.json"],
        0,
        {"f.json": facts(helm_release__computed_values__bgpPassword=CANARY)},
    ),
    Case(
        "canary-facts-show",
        ["facts", "--facts", "f.json", "-o", "json"],
        0,
        {"f.json": facts(helm_release__computed_values__bgpPassword=CANARY)},
    ),
    Case(
        "canary-values-merge",
        ["values", "merge", "-f", "b.yaml", "-f", "v.yaml"],
        0,
        {"b.yaml": CANARY_BASELINE, "v.yaml": CANARY_VALUES},
    ),
    Case("canary-values-merge-json", ["values", "merge", "-f", "b.yaml", "-o", "json"], 0, {"b.yaml": CANARY_BASELINE}),
    Case(
        "canary-values-explain",
        ["values", "merge", "-f", "b.yaml", "--explain", "bgpPassword"],
        0,
        {"b.yaml": CANARY_BASELINE},
    ),
    Case(
        "canary-values-diff",
        ["values", "diff", "b.yaml", "v.yaml"],
        1,
        {"b.yaml": CANARY_BASELINE, "v.yaml": CANARY_VALUES},
    ),
    Case(
        "canary-values-diff-json",
        ["values", "diff", "b.yaml", "v.yaml", "-o", "json"],
        1,
        {"b.yaml": CANARY_BASELINE, "v.yaml": CANARY_VALUES},
    ),
    Case("canary-in-yaml-error", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": SECRET_BAD_TAG}),
    Case(
        "canary-in-kubeconfig",
        ["facts", "--kubeconfig", "kc"],
        3,
        {"kc": kubeconfig("http://127.0.0.1:9", token=CANARY).encode()},
    ),
    # -- --helm ./helm: one binary, resolved once, used for every call
    Case(
        "helm-relative",
        ["plan", "--overlays", "profile", "--chart", "chart", "--helm", "./helm"],
        0,
        {**TINY_CHART, "helm": fake_helm()},
        env=NO_PATH,
    ),
    Case(
        "helm-relative-subdir",
        ["plan", "--overlays", "profile", "--chart", "chart", "--helm", "bin/helm"],
        0,
        {**TINY_CHART, "bin/helm": fake_helm("bin/helm")},
        env=NO_PATH,
    ),
    Case(
        "helm-missing",
        ["plan", "--overlays", "profile", "--chart", "chart", "--helm", "./nohelm"],
        2,
        TINY_CHART,
        env=NO_PATH,
    ),
    Case(
        "helm-not-executable",
        ["plan", "--overlays", "profile", "--chart", "chart", "--helm", "./chart/values.yaml"],
        2,
        TINY_CHART,
    ),
    Case(
        "helm-template-hangs",
        ["plan", "--overlays", "profile", "--chart", "chart", "--helm", "./helm", "--timeout", "1"],
        3,
        {**TINY_CHART, "helm": fake_helm(template="sleep 30")},
        env=NO_PATH,
        says="helm template",
    ),
    Case(
        "helm-version-hangs",
        ["plan", "--overlays", "profile", "--chart", "chart", "--helm", "./helm", "--timeout", "1"],
        3,
        {**TINY_CHART, "helm": fake_helm(version_sleep="sleep 30")},
        env=NO_PATH,
        says="helm version",
    ),
    # -- limits: size, special files, depth, aliases, numbers
    Case("laughs-values-merge", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": LAUGHS}, says="alias"),
    Case("laughs-profile", ["profile", "show", "p.yaml"], 2, {"p.yaml": LAUGHS}),
    Case("laughs-baseline", ["plan", "--overlays", "profile", "--baseline", "b.yaml"], 2, {"b.yaml": LAUGHS}),
    Case("laughs-lint-f", ["lint", "-f", "v.yaml"], 2, {"v.yaml": LAUGHS}),
    Case("laughs-values-diff", ["values", "diff", "v.yaml", "v.yaml"], 2, {"v.yaml": LAUGHS}),
    Case("laughs-kubeconfig", ["facts", "--kubeconfig", "kc"], 2, {"kc": LAUGHS}),
    Case("recursive-alias-seq", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": RECURSIVE_SEQ}),
    Case("recursive-alias-merge-key", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": RECURSIVE_MERGE}),
    Case("recursive-alias-profile", ["profile", "show", "p.yaml"], 2, {"p.yaml": RECURSIVE_SEQ}),
    Case("deep-5k-values", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": DEEP_5K}, says="nest"),
    Case("deep-100k-values", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": DEEP_100K}),
    Case("deep-100k-block", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": DEEP_BLOCK}),
    Case("deep-maps-baseline", ["plan", "--overlays", "profile", "--baseline", "b.yaml"], 2, {"b.yaml": DEEP_MAPS}),
    Case("deep-100k-profile", ["profile", "show", "p.yaml"], 2, {"p.yaml": DEEP_100K}),
    Case("deep-100k-kubeconfig", ["facts", "--kubeconfig", "kc"], 2, {"kc": DEEP_100K}),
    Case("huge-int-values", ["values", "merge", "-f", "v.yaml"], 0, {"v.yaml": HUGE_INT_YAML}),
    Case("dev-zero-values", ["values", "merge", "-f", "/dev/zero"], 2),
    Case("dev-zero-profile", ["profile", "show", "/dev/zero"], 2),
    Case("dev-zero-facts", ["lint", "--facts", "/dev/zero"], 2),
    Case("dev-zero-baseline", ["plan", "--overlays", "profile", "--baseline", "/dev/zero"], 2),
    Case("symlink-dev-zero", ["values", "merge", "-f", "z.yaml"], 2, {"z.yaml": symlink("z.yaml", "/dev/zero")}),
    Case(
        "fifo-chart",
        ["values", "merge", "-f", "v.yaml", "--chart", "c.tgz"],
        2,
        {"v.yaml": b"a: 1\n", "c.tgz": fifo("c.tgz")},
    ),
    Case("dev-zero-chart", ["values", "merge", "-f", "v.yaml", "--chart", "/dev/zero"], 2, {"v.yaml": b"a: 1\n"}),
    Case("fifo-values", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": fifo("v.yaml")}),
    Case("fifo-facts", ["plan", "--overlays", "profile", "--facts", "f.json"], 2, {"f.json": fifo("f.json")}),
    Case("fifo-profile", ["render", "-p", "p.yaml"], 2, {"p.yaml": fifo("p.yaml")}),
    Case("fifo-baseline", ["plan", "--overlays", "profile", "--baseline", "b.yaml"], 2, {"b.yaml": fifo("b.yaml")}),
    Case("huge-values-file", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": big_sparse("v.yaml")}),
    Case("huge-facts-file", ["lint", "--facts", "f.json"], 2, {"f.json": big_sparse("f.json")}),
    Case("facts-not-utf8", ["lint", "--facts", "f.json"], 2, {"f.json": b'{"a": "\xff\xfe"}\n'}, says="f.json:1"),
    Case("facts-deep-100k", ["lint", "--facts", "f.json"], 2, {"f.json": b"[" * 100_000 + b"]" * 100_000}),
    Case(
        "facts-deep-values",
        ["plan", "--overlays", "profile", "--facts", "f.json"],
        2,
        {"f.json": facts(helm_release__computed_values__a=json.loads("[" * 900 + "]" * 900))},
    ),
    Case("facts-huge-int", ["lint", "--facts", "f.json"], 2, {"f.json": b""}),  # replaced below
    Case(
        "facts-huge-int-in-values", ["plan", "--overlays", "profile", "--facts", "f.json"], 2, {"f.json": b""}
    ),  # replaced below
    Case("facts-stdin-dev-zero-like", ["lint", "--facts", "-"], 2, stdin=b"\x00" * 1000),
    Case("values-not-utf8", ["values", "merge", "-f", "v.yaml"], 2, {"v.yaml": b"a: 1\nb: \xff\n"}, says="v.yaml:2"),
    Case("profile-not-utf8", ["profile", "show", "p.yaml"], 2, {"p.yaml": b"description: \xff\n"}, says="p.yaml:1"),
    # -- writes: check every target first, then all or nothing
    Case(
        "render-second-target-dir",
        ["render", "--out", "deploy"],
        2,
        {"deploy/cilium-values-dualstack.yaml": directory("deploy/cilium-values-dualstack.yaml")},
    ),
    Case("render-out-is-file", ["render", "--out", "deploy"], 2, {"deploy": b"not a dir\n"}),
    Case("junit-target-dir", ["lint", "--junit", "out"], 2, {"out": directory("out")}),
    Case("facts-out-dir", ["facts", "--facts", "f.json", "--out", "d"], 2, {"f.json": facts(), "d": directory("d")}),
    # -- one voice for errors
    Case("usage-unknown-option", ["plan", "--overlays", "profile", "--no-such-option"], 2, says="--no-such-option"),
    Case("usage-unknown-command", ["plna"], 2),
    Case("usage-bad-choice", ["plan", "--overlays", "profile", "-o", "toml"], 2),
    Case("usage-missing-argument", ["values", "diff", "a.yaml"], 2),
    Case("usage-missing-option", ["values", "merge"], 2),
    Case("usage-bad-float", ["facts", "--probe-timeout", "soon"], 2),
    Case("select-ignore-nothing", ["lint", "--select", "CT2", "--ignore", "CT2"], 2),
    Case("select-unknown", ["lint", "--select", "CT999"], 2),
    Case("probe-nodes-with-facts-file", ["facts", "--facts", "f.json", "--probe-nodes"], 2, {"f.json": facts()}),
    Case("kubeconfig-with-facts-file", ["lint", "--facts", "f.json", "--kubeconfig", "kc"], 2, {"f.json": facts()}),
    Case("probe-nodes-offline-lint", ["lint", "--probe-nodes"], 2),
    Case("context-offline-plan", ["plan", "--overlays", "profile", "--context", "prod"], 2),
    Case(
        "facts-error-names-line",
        ["lint", "--facts", "f.json"],
        2,
        {"f.json": facts(nodes__1__ready="maybe")},
        says=r"f\.json:\d+: field nodes\[1\]\(skyforge-2\)\.ready",
    ),
    Case("facts-not-json", ["lint", "--facts", "f.json"], 2, {"f.json": b"nodes: []\n"}, says="f.json:1"),
    Case("facts-list", ["lint", "--facts", "f.json"], 2, {"f.json": b"[]"}),
    Case("facts-missing", ["lint", "--facts", "nope.json"], 2),
    Case("values-missing", ["values", "merge", "-f", "nope.yaml"], 2),
    Case("profile-missing", ["plan", "--overlays", "profile", "--profile", "nope.yaml"], 2),
    Case("values-is-dir", ["values", "merge", "-f", "d"], 2, {"d": directory("d")}),
    Case("negative-timeout", ["facts", "--timeout", "-1", "--kubeconfig", "kc"], 2),
    # -- packaged charts: one guard (chart_archive.read_chart_archive) wherever a .tgz is read or given to helm
    Case(
        "chart-bomb-values-merge",
        ["values", "merge", "-f", "v.yaml", "--chart", "c.tgz"],
        2,
        {"v.yaml": b"a: 1\n", "c.tgz": hostile_chart("bomb-ratio")},
        says=r"c\.tgz: unpacks to more than 100 times",
    ),
    Case("chart-traversal-lint", ["lint", "--chart", "c.tgz"], 2, {"c.tgz": hostile_chart("traversal-dotdot")},
         says="outside the chart"),
    Case("chart-symlink-render", ["render", "--chart", "c.tgz"], 2, {"c.tgz": hostile_chart("symlink-values")},
         says="a link"),
    Case(
        "chart-forged-size-plan",
        ["plan", "--overlays", "profile", "--chart", "c.tgz"],
        2,
        {"c.tgz": hostile_chart("member-size-forged")},
        says="limit per file",
    ),
    Case("chart-pax-header-values", ["values", "merge", "--chart", "c.tgz"], 2,
         {"c.tgz": hostile_chart("pax-header-forged")}),
    Case(
        "chart-bomb-lab-up",
        ["lab", "up", "--name", "hostile", "--lab-dir", "lab", "--chart", "c.tgz"],
        2,
        {"c.tgz": hostile_chart("bomb-ratio")},
        says="bomb",
    ),
    Case(
        "lab-up-helm-version-hangs",
        ["lab", "up", "--name", "hostile", "--lab-dir", "lab", "--chart", "builtin:lab", "--helm", "./helm",
         "--timeout", "1"],
        3,
        {"helm": fake_helm(version_sleep="sleep 30")},
        env=NO_PATH,
        says="helm version",
    ),
    Case("chart-device-lab-up", ["lab", "up", "--name", "hostile", "--lab-dir", "lab", "--chart", "c.tgz"], 2,
         {"c.tgz": hostile_chart("device-member")}, says="special file"),
]

_HUGE = b"9" * 5000
_CASE_INDEX = {case.id: i for i, case in enumerate(CASES)}
CASES[_CASE_INDEX["facts-huge-int"]] = Case(
    "facts-huge-int",
    ["lint", "--facts", "f.json"],
    2,
    {"f.json": facts(helm_release__revision=7).replace(b'"revision": 7', b'"revision": ' + _HUGE)},
)
CASES[_CASE_INDEX["facts-huge-int-in-values"]] = Case(
    "facts-huge-int-in-values",
    ["plan", "--overlays", "profile", "--facts", "f.json"],
    2,
    {"f.json": facts(helm_release__computed_values__big=123456789).replace(b"123456789", b"9" * 400 + b"1")},
)


def _materialise(folder: Path, files: Files) -> None:
    for name, content in files.items():
        if callable(content):
            content(folder)
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def check_contract(result: Result, expect: int, says: str | None = None) -> None:
    """The contract every hostile case is held to (see the module docstring)."""
    shown = f"exit {result.code} (signal {result.signal}) in {result.seconds:.2f}s\n{result.output[-3000:]}"
    assert result.code is not None and result.signal is None, f"killed or crashed: {shown}"
    assert "Traceback" not in result.output, shown
    assert CANARY not in result.output, f"secret printed: {shown}"
    for line in result.output.splitlines():
        assert not line.strip().startswith(INJECTED), f"injected line: {line!r}"
    assert result.code == expect, shown
    assert result.seconds < DEADLINE, shown
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if expect in (2, 3) or (expect == 1 and errors):
        lines = result.stderr.splitlines()
        assert len(errors) == 1, shown
        at = lines.index(errors[0])
        assert at + 1 < len(lines) and lines[at + 1].startswith("hint:"), shown
        assert not any(line.startswith(("Error:", "Usage:")) for line in lines), shown
    if says is not None:
        assert re.search(says, errors[0] if errors else result.output), shown


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile(case: Case, tmp_path: Path) -> None:
    _materialise(tmp_path, case.files)
    result = run(case.argv, cwd=tmp_path, env=case.env, stdin=case.stdin, timeout=DEADLINE + 2)
    check_contract(result, case.expect, case.says)
    for written in tmp_path.rglob("*"):
        if written.is_file() and not written.is_symlink() and written.stat().st_size < 10_000_000:
            assert CANARY.encode() not in written.read_bytes() or written.name in case.files, written
        assert not written.name.endswith(".tmp"), written
    if case.id == "render-second-target-dir":
        assert not (tmp_path / "deploy/cilium-values.yaml").exists(), "wrote the first file, then failed"
    if case.id.startswith("helm-relative"):
        log = (tmp_path / case.argv[-1]).parent / "helm.log"
        calls = log.read_text().splitlines()
        assert any(" template " in call for call in calls), calls
        assert all(call.startswith(str((tmp_path / case.argv[-1]).resolve())) for call in calls), calls


@pytest.mark.parametrize(
    "mode", ["html-version", "list-version", "malformed-items", "items-not-list", "exec-plugin-missing", "silent"]
)
def test_misbehaving_api_server(mode: str, tmp_path: Path) -> None:
    """A server that answers nonsense, or nothing at all: exit 3, naming what failed, within the timeout."""
    server = silent_server() if mode == "silent" else api_server("ok" if mode == "exec-plugin-missing" else mode)
    with server as url:
        exec_command = "/nonexistent/kube-auth-plugin" if mode == "exec-plugin-missing" else None
        (tmp_path / "kc").write_text(kubeconfig(url, token=CANARY, exec_command=exec_command))
        result = run(["facts", "--kubeconfig", "kc", "--timeout", "1"], cwd=tmp_path, timeout=DEADLINE + 2)
    check_contract(result, 3)
    if mode == "silent":
        assert "GET /version" in result.stderr and "1 s" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["baseline", "capture", "--kubeconfig", "kc", "--helm", "./helm"],
        ["bench", "run", "-o", "out", "--kubeconfig", "kc", "--budget", "2s"],
    ],
    ids=["baseline-capture", "bench-run"],
)
def test_a_silent_server_times_out_cluster_commands_too(argv: list[str], tmp_path: Path) -> None:
    """Commands that change a cluster (`baseline capture`) or measure it (`bench run`) take the same --timeout."""
    fake_helm()(tmp_path)
    with silent_server() as url:
        (tmp_path / "kc").write_text(kubeconfig(url, token=CANARY))
        result = run([*argv, "--timeout", "1"], cwd=tmp_path, timeout=DEADLINE + 2)
    check_contract(result, 3)
    assert "within 1 s" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
