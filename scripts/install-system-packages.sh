#!/usr/bin/env bash
# Debian packages the lab and the benchmarks need; chromium renders the HTML report in its test (headless).
# netperf lives in bookworm's non-free component: it is installed through a one-off extra sources file, leaving the machine's own apt sources untouched.
set -euo pipefail
pkgs=(iproute2 iptables nftables conntrack iperf3 curl ethtool procps unzip chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v netperf >/dev/null; then
  src=/etc/apt/sources.list.d/debian.sources
  extra="$(mktemp -d)"
  if [[ -f "$src" ]]; then
    sed 's/^Components:.*/Components: main non-free/' "$src" > "$extra/non-free.sources"
    apt-get -o Dir::Etc::SourceParts="$extra" -o Dir::Etc::SourceList=/dev/null update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get -o Dir::Etc::SourceParts="$extra" -o Dir::Etc::SourceList=/dev/null \
      install -y -qq netperf >/dev/null || echo "netperf not installable; churn benchmarks fall back to the Python client" >&2
  fi
  rm -rf "$extra"
fi
