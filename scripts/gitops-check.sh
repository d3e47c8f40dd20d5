#!/usr/bin/env bash
# Offline checks of gitops/ (the body of `make gitops-check`; tests/gitops calls it too):
#   1. kustomize build of every overlay (workload, ArgoCD app-of-apps, dashboards) with the pinned
#      kustomize (v5.8.2) and again with the floor, the oldest kustomize the cluster side may use
#      (v5.4.2: kubectl 1.31's; Argo CD v3.6.1 bundles v5.8.3): both must succeed and render the same
#      objects (compared in canonical form, gitops-validate -normalize; a short diff on failure);
#   2. schema validation of every rendered object by strict decoding into its official Go type
#      (tools/gitops-validate: Kubernetes, ArgoCD Application, prometheus-operator ServiceMonitor);
#   3. kube-score on the workload overlays (exit 1 on any CRITICAL finding);
#   4. schema validation of the root Applications in gitops/argocd/bootstrap (applied as files).
# Rendered YAML goes to .cache/gitops-rendered/ for inspection. Tools: scripts/install-gitops-tools.sh.
# Exit codes: 0 ok, 1 a check failed, 3 a tool is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${GITOPS_TOOLS_BIN:-$ROOT/.cache/bin}"
OUT="$ROOT/.cache/gitops-rendered"
export PATH="$BIN:$PATH"
# the floor kustomize (a key of TOOLS in scripts/install-gitops-tools.sh); KUSTOMIZE_FLOOR=/path overrides
KUSTOMIZE_FLOOR="${KUSTOMIZE_FLOOR:-kustomize-v5.4.2}"

for tool in kustomize "$KUSTOMIZE_FLOOR" gitops-validate kube-score; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (run scripts/install-gitops-tools.sh)" >&2; exit 3; }
done
floor_name="$(basename "$KUSTOMIZE_FLOOR")"

# name -> kustomization dir; workload overlays are also scored by kube-score
TARGETS=(
  "workload-sandbox:gitops/overlays/sandbox:score"
  "workload-aws:gitops/overlays/aws:score"
  "workload-cluster:gitops/overlays/cluster:score"
  "argocd-sandbox:gitops/argocd/overlays/sandbox:"
  "argocd-aws:gitops/argocd/overlays/aws:"
  "argocd-cluster:gitops/argocd/overlays/cluster:"
  "dashboards:gitops/monitoring:"
)
# kube-score tests switched off, and why:
#  container-image-pull-policy: it wants Always; the sandbox and the cluster run locally built
#    images (no registry), which Always would try to pull (overlays/cluster sets Never). Tags are
#    immutable versions (no :latest), so IfNotPresent is correct elsewhere.
IGNORE=(--ignore-test container-image-pull-policy)

mkdir -p "$OUT"
failed=0
for t in "${TARGETS[@]}"; do
  IFS=: read -r name dir score <<<"$t"
  file="$OUT/$name.yaml"
  if ! kustomize build "$ROOT/$dir" > "$file"; then
    echo "FAIL kustomize build $dir"; failed=1; continue
  fi
  echo "ok   kustomize build $dir ($(grep -c '^kind:' "$file") objects)"
  : > "$OUT/$name.floor.diff"
  if ! "$KUSTOMIZE_FLOOR" build "$ROOT/$dir" > "$OUT/$name.floor.yaml" 2> "$OUT/$name.floor.err"; then
    echo "FAIL $floor_name build $dir (the manifests must render with it too)"
    grep -v '^\s*$' "$OUT/$name.floor.err" | head -5 | sed 's/^/     /'; failed=1
  elif gitops-validate -normalize "$file" > "$OUT/$name.norm.yaml" &&
       gitops-validate -normalize "$OUT/$name.floor.yaml" > "$OUT/$name.floor.norm.yaml" &&
       diff -U2 -F "^# " --label "kustomize $name" --label "$floor_name $name" \
         "$OUT/$name.norm.yaml" "$OUT/$name.floor.norm.yaml" > "$OUT/$name.floor.diff"; then
    echo "ok   same render with $floor_name"
  else
    echo "FAIL $floor_name renders $dir differently ($(grep -c '^[-+][^-+]' "$OUT/$name.floor.diff" || true) lines differ; ${OUT#"$ROOT/"}/$name.floor.diff):"
    head -30 "$OUT/$name.floor.diff" | sed 's/^/     /'; failed=1
  fi
  if gitops-validate "$file" >/dev/null 2>"$OUT/$name.validate.txt"; then
    echo "ok   schema $name"
  else
    echo "FAIL schema $name"; sed 's/^/     /' "$OUT/$name.validate.txt"; failed=1
  fi
  if [ -n "$score" ]; then
    if kube-score score "${IGNORE[@]}" --output-format ci "$file" > "$OUT/$name.kube-score.txt"; then
      echo "ok   kube-score $name ($(grep -c '^\[WARNING\]' "$OUT/$name.kube-score.txt" || true) warnings)"
    else
      echo "FAIL kube-score $name"; grep -E '^\[CRITICAL\]' "$OUT/$name.kube-score.txt" | sed 's/^/     /'; failed=1
    fi
  fi
done
# the root Applications are applied as they are (kubectl apply -f), not rendered: validate the files
if gitops-validate "$ROOT"/gitops/argocd/bootstrap/*.yaml >/dev/null 2>"$OUT/bootstrap.validate.txt"; then
  echo "ok   schema gitops/argocd/bootstrap ($(ls "$ROOT"/gitops/argocd/bootstrap/*.yaml | wc -l) roots)"
else
  echo "FAIL schema gitops/argocd/bootstrap"; sed 's/^/     /' "$OUT/bootstrap.validate.txt"; failed=1
fi
[ $failed -eq 0 ] && echo "gitops-check: all passed" || echo "gitops-check: FAILED"
exit $failed
