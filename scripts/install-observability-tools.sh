#!/usr/bin/env bash
# Build the observability binaries (metrics, logs, exporters) from the registries only (the Go
# module proxy; the npm registry for Prometheus's web UI), pinned, into a per-user cache outside
# the clone, as scripts/install-cluster-tools.sh does for the cluster:
#
#   scripts/install-observability-tools.sh                    # all of them
#   scripts/install-observability-tools.sh victoria-logs      # only some
#   scripts/install-observability-tools.sh --paths            # "name path" of each pinned binary; builds nothing
#
# Each binary lands in the per-user cache of the sandbox's settings (user_cache_dir:
# $SANDBOX_USER_CACHE_DIR, default ${XDG_CACHE_HOME:-~/.cache}/cloud-sandbox), in
# observability/<name>-<version>/; one present with the same build spec (version, tags, flags,
# wrapper module: <dir>/.spec) is not rebuilt. Every binary is built from a wrapper module of this
# repository, tools/observability/<module>/ (go.mod + go.sum pin all its dependencies; a version is
# bumped there, then `go mod tidy`):
#   prometheus      prometheus (Prometheus 3.16.0 = module v0.316.0) with its web UI, and promtool
#                   (checks configs and rules). The UI is compiled as Prometheus's Makefile does for
#                   BUILD_UI=mantine (the new UI only: --enable-feature=old-ui has no assets here),
#                   with pnpm from the npm registry, in a copy of the module's folder (the module
#                   cache is read-only) patched by web-ui.patch (the npm registry here lacks the
#                   locked @mantine 9.7.2); then scripts/compress_assets.sh and `-tags builtinassets`
#   victorialogs    victoria-logs (its UI, vmui, is prebuilt in the module: go:embed) and vlagent
#   postgres-exporter  postgres_exporter (v0.19.1: the module proxy refuses v0.20.x here)
#   pushgateway     pushgateway (v1.11.1: later ones are refused): Flink's JVMs push to it
#   otelcol         the log shipper: an OpenTelemetry Collector whose main.go links only the
#                   filelog receiver, file_storage, batch and the otlphttp exporter
# kafka_exporter (github.com/danielqsj/kafka_exporter) is not built: the module proxy refuses every
# version of it here (v1.6.0 ... v1.9.0), so it cannot be had from the registries.
# Builds run under `nice -n ${OBSERVABILITY_TOOLS_NICE:-19}` and print their lines on stderr; stdout
# gets one line per binary with its wall and CPU time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SANDBOX_USER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloud-sandbox}/observability"   # sandbox/paths.py's USER_CACHE
MODULES="$ROOT/tools/observability"
NICE="${OBSERVABILITY_TOOLS_NICE:-19}"
PNPM_VERSION=12.4.2   # Prometheus's CI takes pnpm < 13; newer 12.x need platform builds the npm registry here lacks

# binary -> "wrapper-module main-module package" (the version is the main module's in the wrapper's go.mod)
declare -A SPEC=(
  [prometheus]="prometheus github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/prometheus"
  [promtool]="prometheus github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/promtool"
  [victoria-logs]="victorialogs github.com/VictoriaMetrics/VictoriaLogs github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
  [vlagent]="victorialogs github.com/VictoriaMetrics/VictoriaLogs github.com/VictoriaMetrics/VictoriaLogs/app/vlagent"
  [postgres_exporter]="postgres-exporter github.com/prometheus-community/postgres_exporter github.com/prometheus-community/postgres_exporter/cmd/postgres_exporter"
  [pushgateway]="pushgateway github.com/prometheus/pushgateway github.com/prometheus/pushgateway"
  [otelcol]="otelcol go.opentelemetry.io/collector/otelcol ."
)
ORDER=(prometheus promtool victoria-logs vlagent postgres_exporter pushgateway otelcol)

# the version of main module $2 required by tools/observability/$1/go.mod
module_version() {
  awk -v m="$2" '$1 == "require" && $2 == m { print $3; exit } $1 == m && $2 ~ /^v/ { print $2; exit }' \
    "$MODULES/$1/go.mod"
}

version_of() {
  local module main _
  read -r module main _ <<< "${SPEC[$1]:?unknown binary $1 (known: ${ORDER[*]})}"
  module_version "$module" "$main"
}

path_of() { echo "$CACHE/$1-$(version_of "$1")/$1"; }

# the version a project prints: Prometheus 3.x is tagged v0.3MM.P as a Go module (its
# scripts/get_module_version.sh; the build checks it against the module's VERSION file)
product_version() {
  local version=${1#v}
  case "$2" in
    github.com/prometheus/prometheus) IFS=. read -r _ minor patch <<< "$version"
                                      echo "$((10#$minor / 100)).$((10#$minor % 100)).$patch" ;;
    *) echo "$version" ;;
  esac
}

# link flags: each project's release build sets its version into the binary this way; $2 is the
# build date (default: the release's, which follows from the version: the spec leaves it out)
ldflags_of() {
  local name=$1 version date=${2:-} module main _
  read -r module main _ <<< "${SPEC[$name]}"
  version=$(version_of "$name")
  [ -n "$date" ] || date=$(release_date "$name")
  case "$name" in
    prometheus | promtool | postgres_exporter)   # .promu.yml: prometheus/common's version package
      local p=github.com/prometheus/common/version   # no Revision/Branch: a module zip has no git
      echo "-s -w -X $p.Version=$(product_version "$version" "$main") -X $p.BuildUser=install-observability-tools" \
           "-X $p.BuildDate=$(date -u -d "$date" +%Y%m%d-%H:%M:%S 2>/dev/null || echo "$date")" ;;
    victoria-logs | vlagent)   # Makefile's GO_BUILDINFO: <app>-<date>-<git describe>, as a tag gives it
      echo "-s -w -X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=$name-$(
        date -u -d "$date" +%Y%m%d-%H%M%S 2>/dev/null || echo "$date")-tags-$version-0" ;;
    *) echo "-s -w" ;;
  esac
}

# the release's time as the module proxy records it (reproducible, unlike the build's own date)
release_date() {
  local module main _
  read -r module main _ <<< "${SPEC[$1]}"
  (cd / && go list -m -json "$main@$(module_version "$module" "$main")" | sed -n 's/^\t"Time": "\(.*\)",$/\1/p')
}

tags_of() {   # the build tags of each project's release build (CGO_ENABLED=0 here: pure Go)
  case "$1" in
    prometheus | promtool) echo "netgo,builtinassets" ;;   # .promu.yml
    victoria-logs | vlagent) echo "netgo,osusergo" ;;      # deployment/docker/Makefile (its -pure build)
  esac
}

# what decides the binary's content: a change rebuilds it in place
spec_of() {
  local name=$1 module ui=""
  read -r module _ <<< "${SPEC[$name]}"
  [ "$name" != prometheus ] || ui=" ui=pnpm@$PNPM_VERSION"
  echo "$name $(version_of "$name") tags=$(tags_of "$name") ldflags=[$(ldflags_of "$name" release)]$ui" \
       "wrapper=$(
    cd "$MODULES/$module" && { grep -v '^[[:space:]]*//' go.mod; cat go.sum ./*.go; find . -maxdepth 1 -name '*.patch' -exec cat {} +; } |
    sha256sum | cut -c1-16)"
}

source "$(dirname "${BASH_SOURCE[0]}")/go-toolchain.sh"
source "$(dirname "${BASH_SOURCE[0]}")/install-lib.sh"

# the module's source folder in the (read-only) module cache, checked against the wrapper's go.sum
module_dir() {
  local module main _
  read -r module main _ <<< "${SPEC[$1]}"
  (cd "$MODULES/$module" && go mod download -json "$main" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

build_go() {
  local name=$1 out=$2 module package
  read -r module _ package <<< "${SPEC[$name]}"
  (cd "$MODULES/$module" &&
     env CGO_ENABLED=0 nice -n "$NICE" \
       go build -mod=readonly -trimpath -buildvcs=false -tags "$(tags_of "$name")" -ldflags "$(ldflags_of "$name")" \
       -o "$out" "$package")
}

# pnpm, pinned, from the npm registry into the cache; npm's and pnpm's caches and pnpm's package
# store live there too (pnpm_config_* reach the pnpm that Prometheus's build_ui.sh calls again)
need_pnpm() {
  local home="$CACHE/.pnpm/pnpm-$PNPM_VERSION"
  command -v npm >/dev/null || { echo "prometheus's web UI needs Node.js >= 20.19 and npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
  if [ ! -x "$home/node_modules/.bin/pnpm" ]; then
    nice -n "$NICE" npm install --prefix "$home" --cache "$CACHE/.pnpm/npm-cache" --ignore-scripts --no-audit --no-fund \
      --save-exact "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$home/node_modules/.bin:$PATH" npm_config_cache="$CACHE/.pnpm/npm-cache" \
    pnpm_config_store_dir="$CACHE/.pnpm/store" pnpm_config_cache_dir="$CACHE/.pnpm/cache" \
    pnpm_config_state_dir="$CACHE/.pnpm/state" pnpm_config_update_notifier=false
}

# Prometheus's `make assets assets-compress` with BUILD_UI=mantine, then its release `go build`, in
# a copy $work of the module (its own go.mod and go.sum; GOWORK=off: its go.work names folders the
# module zip lacks)
build_prometheus() {
  local out=$1 work=$2 src version
  src=$(module_dir prometheus)
  [ -d "$src" ] || { echo "go mod download github.com/prometheus/prometheus gave no source folder" >&2; exit 1; }
  version=$(product_version "$(version_of prometheus)" github.com/prometheus/prometheus)
  [ "$(cat "$src/VERSION")" = "$version" ] ||
    { echo "prometheus: $src/VERSION is not $version (fix: product_version in $0)" >&2; exit 1; }
  need_pnpm
  rm -rf "$work" && cp -r "$src" "$work" && chmod -R u+w "$work"
  patch -p1 -s -d "$work/web/ui" --no-backup-if-mismatch < "$MODULES/prometheus/web-ui.patch"
  (cd "$work/web/ui" && nice -n "$NICE" pnpm install --frozen-lockfile >&2 &&
     CI="" nice -n "$NICE" pnpm run build:mantine-ui >&2)
  (cd "$work" && bash scripts/compress_assets.sh >&2)   # a module zip keeps no exec bits
  (cd "$work" &&
     env GOWORK=off CGO_ENABLED=0 nice -n "$NICE" \
       go build -mod=readonly -trimpath -buildvcs=false -tags "$(tags_of prometheus)" -ldflags "$(ldflags_of prometheus)" \
       -o "$out" ./cmd/prometheus)
  # the licences of the npm packages bundled into the UI (its own list, also served under
  # /assets/third-party-licenses.txt), for scripts/licenses.py
  cp "$work/web/ui/static/mantine-ui/assets/third-party-licenses.txt" "$(dirname "$out")/ui-third-party-licenses.txt"
  # built in its own module, Go records the version "(devel)": licenses.py reads this stamp instead
  echo "github.com/prometheus/prometheus@$(version_of prometheus) ./cmd/prometheus" > "$(dirname "$out")/.prometheus.version"
  rm -rf "$work"
}

install_one() {
  local name=$1 path dir stamp spec tmp
  path=$(path_of "$name")
  dir=$(dirname "$path")
  stamp="$dir/.spec"
  spec=$(spec_of "$name")
  if [ -x "$path" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$spec" ]; then
    report_cached "$name" "$(version_of "$name")" "$path"
    return
  fi
  need_go
  mkdir -p "$dir"
  tmp="$dir/.$name.tmp.$$"
  echo "building $name $(version_of "$name") ..." >&2
  start_timer
  if [ "$name" = prometheus ]; then build_prometheus "$tmp" "$dir/.src.tmp.$$"; else build_go "$name" "$tmp"; fi
  mv -f "$tmp" "$path"
  echo "$spec" > "$stamp"
  report_built "$name" "$(version_of "$name")" "$path"
}

trap 'rm -rf "$CACHE"/*/.*.tmp.$$' EXIT
install_main "$CACHE/.lock" version_of "$@"
