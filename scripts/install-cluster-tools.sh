#!/usr/bin/env bash
# Build every binary a one-node Kubernetes cluster needs, from the registries only (the Go module
# proxy; gcc for pause), pinned, into a per-user cache outside the clone (issue 17, its first step):
#
#   scripts/install-cluster-tools.sh                 # all of them
#   scripts/install-cluster-tools.sh etcd coredns    # only some
#   scripts/install-cluster-tools.sh --paths         # "name path" of each pinned binary; builds nothing
#
# Each binary lands in the per-user cache of the sandbox's settings (user_cache_dir:
# $SANDBOX_USER_CACHE_DIR, default ${XDG_CACHE_HOME:-~/.cache}/cloud-sandbox), in
# cluster/<name>-<version>/, so every clone of this user shares it; one present with the same build
# spec (version, toolchain, tags, flags, wrapper module: <dir>/.spec) is not rebuilt. Every Go binary
# is built from a wrapper module of this repository, tools/cluster/<module>/ (go.mod + go.sum pin
# all its dependencies; a version is bumped there, then `go mod tidy`):
#   kubernetes      kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
#                   (k8s.io/kubernetes, its k8s.io/* staging modules replaced by their published ones)
#   etcd            etcd etcdctl
#   coredns         coredns: a main linking only the plugins a cluster DNS needs (main.go)
#   metrics-server  metrics-server
#   argocd          argocd (GOTOOLCHAIN=go1.27.3: argo-cd v3.6.1 needs Go >= 1.27), one binary that
#                   dispatches on its name: argocd-server, argocd-repo-server and
#                   argocd-application-controller are symlinks to it
# pause is `gcc -static` of build/pause/linux/pause.c from the kubernetes module's source.
# Builds run under `nice -n ${CLUSTER_TOOLS_NICE:-19}` and print their lines on stderr; stdout gets
# one line per binary with its wall and CPU time. From an empty Go build cache on a shared 2-core
# machine the whole set takes about an hour (see the README); a rebuild with a warm cache, minutes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SANDBOX_USER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloud-sandbox}/cluster"   # sandbox/paths.py's USER_CACHE
MODULES="$ROOT/tools/cluster"
NICE="${CLUSTER_TOOLS_NICE:-19}"
ARGOCD_GOTOOLCHAIN=go1.27.3   # the toolchain argo-cd's `go 1.27.0` needs (fetched from the module proxy)
PAUSE_VERSION=3.10.2          # TAG of build/pause/Makefile in the kubernetes module (checked at build)

# binary -> "wrapper-module main-module package" (the version is the main module's in the wrapper's go.mod)
declare -A SPEC=(
  [kube-apiserver]="kubernetes k8s.io/kubernetes k8s.io/kubernetes/cmd/kube-apiserver"
  [kube-controller-manager]="kubernetes k8s.io/kubernetes k8s.io/kubernetes/cmd/kube-controller-manager"
  [kube-scheduler]="kubernetes k8s.io/kubernetes k8s.io/kubernetes/cmd/kube-scheduler"
  [kubelet]="kubernetes k8s.io/kubernetes k8s.io/kubernetes/cmd/kubelet"
  [kube-proxy]="kubernetes k8s.io/kubernetes k8s.io/kubernetes/cmd/kube-proxy"
  [kubectl]="kubernetes k8s.io/kubernetes k8s.io/kubernetes/cmd/kubectl"
  [etcd]="etcd go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3"
  [etcdctl]="etcd go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdctl/v3"
  [coredns]="coredns github.com/coredns/coredns ."
  [metrics-server]="metrics-server sigs.k8s.io/metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server"
  [argocd]="argocd github.com/argoproj/argo-cd/v3 github.com/argoproj/argo-cd/v3/cmd"
)
ORDER=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl pause etcd etcdctl
       coredns metrics-server argocd)
ARGOCD_LINKS=(argocd-application-controller argocd-repo-server argocd-server)

# the version of main module $2 required by tools/cluster/$1/go.mod
module_version() {
  awk -v m="$2" '$1 == "require" && $2 == m { print $3; exit } $1 == m && $2 ~ /^v/ { print $2; exit }' \
    "$MODULES/$1/go.mod"
}

version_of() {
  if [ "$1" = pause ]; then echo "$PAUSE_VERSION"; return; fi
  local module main _
  read -r module main _ <<< "${SPEC[$1]:?unknown binary $1 (known: ${ORDER[*]})}"
  module_version "$module" "$main"
}

path_of() { echo "$CACHE/$1-$(version_of "$1")/$1"; }

# link flags: each project's release build sets its version into the binary this way; $2 is the
# build date (default: the release's, which follows from the version: the spec leaves it out)
ldflags_of() {
  local name=$1 version date=${2:-}
  version=$(version_of "$name")
  [ -n "$date" ] || date=$(release_date "$name")
  case "$name" in
    kube-* | kubelet | kubectl)   # hack/lib/version.sh: both version packages; no git commit in a module zip
      local major minor flags="-s -w" pkg
      IFS=. read -r major minor _ <<< "${version#v}"
      for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
        flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.buildDate=$date"
      done
      echo "$flags" ;;
    coredns) echo "-s -w" ;;   # CoreDNS's Makefile adds only coremain.GitCommit
    metrics-server)            # its Makefile: client-go's version package
      echo "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$version -X k8s.io/client-go/pkg/version.buildDate=$date" ;;
    argocd)                    # its Makefile: common.version (the VERSION file), gitTag, kubectlVersion
      local p=github.com/argoproj/argo-cd/v3/common
      echo "-s -w -X $p.version=${version#v} -X $p.gitTag=$version -X $p.buildDate=$date -X $p.gitTreeState=clean" \
           "-X $p.kubectlVersion=$(module_version argocd k8s.io/client-go || true)" ;;
    *) echo "-s -w" ;;
  esac
}

# the release's time as the module proxy records it (reproducible, unlike the build's own date)
release_date() {
  local module main _
  read -r module main _ <<< "${SPEC[$1]}"
  (cd / && go list -m -json "$main@$(module_version "$module" "$main")" | sed -n 's/^\t"Time": "\(.*\)",$/\1/p')
}

tags_of() {   # the build tags of each project's release build
  case "$1" in
    kube-* | kubelet | kubectl) echo "selinux,notest,grpcnotrace" ;;   # hack/lib/golang.sh
    coredns) echo "grpcnotrace" ;;                                     # CoreDNS's Makefile
  esac
}

toolchain_of() { [ "$1" != argocd ] || echo "$ARGOCD_GOTOOLCHAIN"; }

# what decides the binary's content: a change rebuilds it in place
spec_of() {
  local name=$1 module
  if [ "$name" = pause ]; then
    echo "pause $PAUSE_VERSION from k8s.io/kubernetes@$(module_version kubernetes k8s.io/kubernetes) gcc -Os -static"
    return
  fi
  read -r module _ <<< "${SPEC[$name]}"
  echo "$name $(version_of "$name") go=$(toolchain_of "$name") tags=$(tags_of "$name")" \
       "ldflags=[$(ldflags_of "$name" release)] wrapper=$(
    cd "$MODULES/$module" && { grep -v '^[[:space:]]*//' go.mod; cat go.sum ./*.go; } | sha256sum | cut -c1-16)"
}

source "$(dirname "${BASH_SOURCE[0]}")/go-toolchain.sh"
source "$(dirname "${BASH_SOURCE[0]}")/install-lib.sh"

build_go() {
  local name=$1 out=$2 module package toolchain
  read -r module _ package <<< "${SPEC[$name]}"
  toolchain=$(toolchain_of "$name")
  (cd "$MODULES/$module" &&
     env CGO_ENABLED=0 ${toolchain:+GOTOOLCHAIN=$toolchain} nice -n "$NICE" \
       go build -mod=readonly -trimpath -buildvcs=false -tags "$(tags_of "$name")" -ldflags "$(ldflags_of "$name")" \
       -o "$out" "$package")
}

build_pause() {
  local out=$1 src
  src=$(cd "$MODULES/kubernetes" && go mod download -json k8s.io/kubernetes | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  grep -q "^TAG ?= $PAUSE_VERSION\$" "$src/build/pause/Makefile" ||
    { echo "pause: $src/build/pause/Makefile has no TAG $PAUSE_VERSION (fix: PAUSE_VERSION in $0)" >&2; exit 1; }
  command -v gcc >/dev/null || { echo "pause needs gcc and a static libc (Debian: apt-get install gcc libc6-dev)" >&2; exit 1; }
  # build/pause/Makefile's CFLAGS, then its strip
  nice -n "$NICE" gcc -Os -Wall -Werror -static "-DVERSION=v$PAUSE_VERSION-$(module_version kubernetes k8s.io/kubernetes)" \
    -o "$out" "$src/build/pause/linux/pause.c"
  strip "$out"
}

# ArgoCD's own install manifests (its CRDs and config maps) and the git wrapper its repo-server
# runs, from the same module version as the binary: cluster mode applies and runs them
argocd_files() {
  local dir=$1 src
  [ -f "$dir/manifests/.complete" ] && return
  need_go
  src=$(cd "$MODULES/argocd" && GOTOOLCHAIN=$ARGOCD_GOTOOLCHAIN go mod download -json github.com/argoproj/argo-cd/v3 |
        sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  rm -rf "$dir/manifests" && mkdir -p "$dir/manifests/crds" "$dir/manifests/config" "$dir/hack"
  cp "$src"/manifests/crds/*-crd.yaml "$dir/manifests/crds/"
  cp "$src"/manifests/base/config/*.yaml "$dir/manifests/config/"
  rm -f "$dir/manifests/config/kustomization.yaml"
  install -m 0755 "$src/hack/git-verify-wrapper.sh" "$dir/hack/git-verify-wrapper.sh"
  touch "$dir/manifests/.complete"
}

install_one() {
  local name=$1 path dir stamp spec tmp
  path=$(path_of "$name")
  dir=$(dirname "$path")
  stamp="$dir/.spec"
  spec=$(spec_of "$name")
  if [ -x "$path" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$spec" ]; then
    [ "$name" != argocd ] || argocd_files "$dir"
    report_cached "$name" "$(version_of "$name")" "$path"
    return
  fi
  need_go
  mkdir -p "$dir"
  tmp="$dir/.$name.tmp.$$"
  echo "building $name $(version_of "$name") ..." >&2
  start_timer
  if [ "$name" = pause ]; then build_pause "$tmp"; else build_go "$name" "$tmp"; fi
  mv -f "$tmp" "$path"
  if [ "$name" = argocd ]; then
    local link
    for link in "${ARGOCD_LINKS[@]}"; do ln -sfn argocd "$dir/$link"; done
    argocd_files "$dir"
  fi
  echo "$spec" > "$stamp"
  report_built "$name" "$(version_of "$name")" "$path"
}

trap 'rm -f "$CACHE"/*/.*.tmp.$$' EXIT
install_main "$CACHE/.lock" version_of "$@"
