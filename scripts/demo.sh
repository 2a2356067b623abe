#!/usr/bin/env bash
# The main job, end to end. First the offline part (no cluster, no root): the plan of the built-in
# skyforge-dev profile. Then, as root, `cilium-tune demo` tells the whole story on a throw-away lab:
# the chart's defaults, the baseline, a bench, the tuned profile applied and verified, a second bench,
# the comparison and the HTML report, the netkit switch rehearsed (refused here, the node rolled back),
# the rollback, and the lab taken down. It ends with the headline ratios and the report's path.
# DEMO_ARGS="--quick" keeps it under a minute (CI's smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/tools/bin:$PWD/.venv/bin:$PATH"

printf '\n\033[1m== %s\033[0m\n' "Plan of the built-in skyforge-dev profile (offline, no cluster needed)"
cilium-tune plan --profile skyforge-dev --overlays profile   # from the profile alone: nothing rendered here

if [[ $EUID -ne 0 ]]; then
  echo "(the lab part of the demo needs root for network namespaces: run 'sudo make demo')"
  exit 0
fi

printf '\n\033[1m== %s\033[0m\n' "The whole flow on a local lab, measured (cilium-tune demo)"
# shellcheck disable=SC2086  # DEMO_ARGS is a list of flags
cilium-tune demo -o demo-out ${DEMO_ARGS:-}
