#!/usr/bin/env bash
# Install the pinned Go tools into .cache/bin (git-ignored), from the Go module proxy only.
#
#   scripts/install-gitops-tools.sh            # all of DEFAULT below
#   scripts/install-gitops-tools.sh kustomize  # only some
#
# kustomize and kube-score are built with `go install module@version` into .cache/bin/<name> (the
# name is the key in TOOLS, so a second version can sit beside the first: kustomize-v5.4.2); OpenTofu
# (tofu, MPL-2.0: the Terraform CLI of the sandbox; Terraform itself is BUSL) from its module's
# source, whose replace directives `go install` refuses; a tool
# with a folder under tools/ is built from that Go module of this repository: gitops-validate (our
# validator) and lichen (a wrapper module pinning github.com/uw-labs/lichen, the licence scanner of
# `make licenses`). Already installed tools at the pinned version are skipped (a stamp file records
# the version). k6 is gone: it is under the AGPL (the load test runs on Locust, load/locustfile.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${GITOPS_TOOLS_BIN:-$ROOT/.cache/bin}"
mkdir -p "$BIN"
export GOBIN="$BIN"

# name -> module@version; bump versions here only. Each needs a `go` directive <= the local Go
# toolchain (GOTOOLCHAIN=local): kustomize v5.8.3 already requires Go 1.27, so v5.8.2 it is.
# kustomize-v5.4.2 is the oldest kustomize the manifests must render with (the floor): the one that
# kubectl 1.31 embeds (k8s.io/kubectl v0.31.x requires kustomize/v5 v5.4.2; kubectl 1.32 has v5.5.0)
# and older than the v5.8.3 that Argo CD v3.6.1 bundles (its hack/tool-versions.sh).
# scripts/gitops-check.sh renders every target with both and fails if they differ; a new floor
# means a new key here and in gitops-check.sh (KUSTOMIZE_FLOOR).
declare -A TOOLS=(
  [kustomize]="sigs.k8s.io/kustomize/kustomize/v5@v5.8.2"
  [kustomize-v5.4.2]="sigs.k8s.io/kustomize/kustomize/v5@v5.4.2"
  [kube-score]="github.com/zegl/kube-score/cmd/kube-score@v1.20.0"
)
# modules whose go.mod has replace directives (`go install` refuses them): built as the main module
# from their source as the module proxy serves it -> "module@version package"
declare -A MAIN=([tofu]="github.com/opentofu/opentofu@v1.10.7 ./cmd/tofu")   # OpenTofu (MPL-2.0)
# link flags of those builds (a release build of OpenTofu, not its -dev default)
declare -A LDFLAGS=([tofu]="-X github.com/opentofu/opentofu/version.dev=no")
# tools/<name> modules -> the package to build in them
declare -A LOCAL=([gitops-validate]="." [lichen]="github.com/uw-labs/lichen")
DEFAULT=(kustomize kustomize-v5.4.2 kube-score gitops-validate lichen tofu)

source "$(dirname "${BASH_SOURCE[0]}")/go-toolchain.sh"

SCRATCH=""
trap '[ -z "$SCRATCH" ] || rm -rf "$SCRATCH"' EXIT
# one install at a time (make targets run side by side, e.g. by tests): the next one waits, then
# finds the tools built
if command -v flock >/dev/null; then exec 9>"$BIN/.install.lock"; flock 9; fi

want=("$@")
[ ${#want[@]} -eq 0 ] && want=("${DEFAULT[@]}")

install_one() {
  local name=$1 stamp="$BIN/.$1.version" spec start
  if [ -n "${LOCAL[$name]:-}" ]; then
    # a module of this repository: rebuild when its sources change
    spec="local:$(cat "$ROOT/tools/$name"/{go.mod,go.sum,*.go} | sha256sum | cut -c1-16)"
  elif [ -n "${MAIN[$name]:-}" ]; then
    spec="${MAIN[$name]} ${LDFLAGS[$name]:-}"
  else
    spec="${TOOLS[$name]:?unknown tool $name (known: ${!TOOLS[*]} ${!LOCAL[*]} ${!MAIN[*]})}"
  fi
  if [ -x "$BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$spec" ]; then
    echo "ok       $name ($spec)"; return
  fi
  need_go
  start=$(date +%s)
  echo "building $name ($spec) ..."
  if [ -n "${LOCAL[$name]:-}" ]; then
    (cd "$ROOT/tools/$name" && go build -o "$BIN/$name" "${LOCAL[$name]}")
  elif [ -n "${MAIN[$name]:-}" ]; then
    local module package src
    read -r module package <<< "${MAIN[$name]}"
    src=$(GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [ -d "$src" ] || { echo "go mod download $module gave no source folder" >&2; exit 1; }
    (cd "$src" && go build -ldflags "${LDFLAGS[$name]:-}" -o "$BIN/$name" "$package")   # the read-only module cache: nothing is written there
  else
    # into a scratch GOBIN, then renamed: `go install` names the binary after the package
    # (same file system: the rename is atomic for a running sandbox that calls the old binary)
    SCRATCH=$(mktemp -d "$BIN/.build-XXXXXX")
    GOBIN="$SCRATCH" go install "$spec"
    mv "$SCRATCH"/* "$BIN/$name" && rmdir "$SCRATCH" && SCRATCH=""
  fi
  echo "$spec" > "$stamp"
  echo "built    $name in $(( $(date +%s) - start ))s"
}

for t in "${want[@]}"; do install_one "$t"; done
