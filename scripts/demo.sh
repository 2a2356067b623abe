#!/usr/bin/env bash
# The main job, end to end: plan the built-in skyforge-dev profile offline, then run the same flow against a
# local lab cluster (root only): install the Cilium stand-in chart as the "before" state, capture the
# baseline, collect facts with node probes, lint the lab profile against them and plan the change.
# The lab is always torn down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/bin:$PWD/.venv/bin:$PATH"
ct=cilium-tune

section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "Plan of the built-in skyforge-dev profile (offline, no cluster needed)"
$ct plan --profile skyforge-dev

if [[ $EUID -ne 0 ]]; then
  echo "(the lab part of the demo needs root for network namespaces: run 'sudo make demo')"
  exit 0
fi

work="$(mktemp -d)"
name=ctdemo
cleanup() { $ct lab down --name "$name" --lab-dir "$work/lab" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

section "Local lab: 3 dual-stack nodes in network namespaces, an emulated API server, a kubelet"
$ct lab up --name "$name" --lab-dir "$work/lab"
export KUBECONFIG="$work/lab/$name/kubeconfig"

section "Install the Cilium stand-in chart with its defaults: the cluster's state before tuning"
chart="$(python -c 'from cilium_tune.profile import load_profile; print(load_profile("lab").release.chart_argument)')"
helm -n kube-system upgrade --install cilium "$chart" --wait --timeout 2m >/dev/null
helm -n kube-system list

section "Capture the baseline (helm get values --all, with the chart version it came from)"
version="$(helm -n kube-system get metadata cilium -o json | python -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
{ echo "# chart-version: $version"; helm -n kube-system get values cilium --all -o yaml; } > "$work/before.yaml"
echo "$work/before.yaml: $(wc -l < "$work/before.yaml") lines, chart-version $version"

section "Facts, with a probe pod on every node"
$ct facts --probe-nodes --out "$work/facts.json"

section "Lint the lab profile against those facts (this kernel has no CONFIG_NETKIT: expect CT201)"
$ct lint --profile lab --baseline "$work/before.yaml" --facts "$work/facts.json" || echo "(lint exit code $?: findings, as expected)"

section "Plan the lab profile against the captured baseline, the facts and the chart (helm template)"
$ct render --profile lab --out "$work/deploy" >/dev/null
$ct plan --profile lab --baseline "$work/before.yaml" --overlay-dir "$work/deploy" \
  --facts "$work/facts.json" --chart "$chart" \
  || echo "(plan exit code $?: the preflight refuses netkit on this kernel, as lint did)"
