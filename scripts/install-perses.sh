#!/usr/bin/env bash
# Build Perses (CNCF dashboards, Apache-2.0), the sandbox's dashboards UI, from the registries only
# (the Go module proxy for the server, the npm registry for its web UI and the plugins' bundles),
# pinned, into a per-user cache outside the clone:
#
#   scripts/install-perses.sh                   # all of it
#   scripts/install-perses.sh plugins           # only some (perses plugins)
#   scripts/install-perses.sh --paths           # "name path" of each artefact; builds nothing
#
# Everything lands in ${SANDBOX_USER_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/cloud-sandbox}/
# observability/perses-<version>/, shared by every clone of this user; an artefact whose build spec
# (versions, toolchains, flags, wrapper files) matches its line in <dir>/.spec is not rebuilt.
# Pins: tools/observability/perses/ (go.mod + go.sum: github.com/perses/perses and the
# Prometheus plugin's module github.com/perses/plugins/prometheus, which is not in the checksum
# database, hence GONOSUMDB for it; plugins/package.json + package-lock.json: the plugins' npm
# bundles, by integrity). A version is bumped there, then `go mod tidy` / `npm install
# --package-lock-only` (in plugins/).
#   perses   the server with its web UI embedded, as the release builds it (Makefile: build-ui,
#            assets-compress, build-api): the module's ui/ (an npm workspace with its own
#            package-lock.json) is built with `npm ci && npm run build` (turbo, rspack) in a copy of
#            the module's source, scripts/compress_assets.sh of the module writes ui/embed.go, and
#            cmd/perses is built in that copy with the module's own go.mod and go.sum, as its
#            release is. Needs node and npm (Node.js 20 works).
#            (percli, Perses's CLI, is not built: it links github.com/redbo/gohsv, which has no
#            licence, so the licence gate refuses it.)
#   plugins  the plugins folder Perses 0.5x loads at start (config `plugin.path`; its release
#            ships archives of them instead, downloaded from GitHub at build time, which is not
#            reachable here). One folder per plugin module, any name (here <Name>-<version>):
#              <Name>-<version>/
#                package.json        the npm package's, whose "perses" key lists the plugin kinds
#                                    and where the CUE schemas are (schemasPath)
#                mf-manifest.json    module-federation manifest (name, remote entry); with
#                mf-stats.json, __mf/  the browser bundle, served at /plugins/<Name>/
#                LICENSE, README.md
#                schemas/<kind>/*.cue  `package model` with kind + spec, one folder per plugin
#                                    kind; Perses validates every datasource, variable, panel and
#                                    query of a dashboard against them (a kind without one is
#                                    refused); migrate/ folders are Grafana-import rules
#                cue.mod/module.cue  the CUE module, without `deps`: its imports resolve from
#                cue.mod/pkg/<module path>/ (vendored, as `percli plugin build` does, so that
#                                    no CUE registry is needed at run time)
#            Prometheus-0.53.4: bundle from npm @perses-dev/prometheus-plugin 0.53.4 (datasource,
#              time-series query, label-values/label-names/PromQL variables, explorer); schemas/
#              and cue.mod/module.cue from the Go module github.com/perses/plugins/prometheus
#              v0.53.4; cue.mod/pkg/github.com/perses/perses/cue from github.com/perses/perses's
#              cue/ (the CUE module github.com/perses/perses/cue its schemas import).
#            TimeSeriesChart-0.10.2: bundle from npm @perses-dev/timeseries-chart-plugin 0.10.2,
#              whose package ships no schemas and whose Go module the proxy refuses: its schema is
#              the sandbox's own, minimal one (tools/observability/perses/plugins/TimeSeriesChart/),
#              and package.json gets "schemasPath": "schemas" (without it Perses walks the whole
#              folder for CUE files, cue.mod included).
#            Perses writes plugin-modules.json into this folder at every start. Beside it an empty
#            plugins-archive/ (config plugin.archive_path): Perses loads no plugin when that folder
#            is missing.
# Builds run under `nice -n ${PERSES_NICE:-19}` and print their lines on stderr; stdout gets one
# line per artefact with its wall and CPU time. From empty caches on a shared 2-core machine the UI
# takes about 5 minutes and the server about 6 (the Go build); plugins seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SANDBOX_USER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloud-sandbox}/observability"   # sandbox/paths.py's USER_CACHE
MODULE="$ROOT/tools/observability/perses"
NICE="${PERSES_NICE:-19}"
ORDER=(perses plugins)
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/perses/plugins"   # not in the checksum database
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 TURBO_NO_UPDATE_NOTIFIER=1   # turbo (the UI build) stays offline

# the version of module $1 required by the wrapper's go.mod
module_version() {
  awk -v m="$1" '$1 == "require" && $2 == m { print $3; exit } $1 == m && $2 ~ /^v/ { print $2; exit }' "$MODULE/go.mod"
}
npm_version() {   # the version of npm package $1 in plugins/package-lock.json
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/" + sys.argv[2]]["version"])' \
    "$MODULE/plugins/package-lock.json" "$1"
}

VERSION=$(module_version github.com/perses/perses)
DIR="$CACHE/perses-$VERSION"
STAMP="$DIR/.spec"

path_of() {
  case "$1" in
    perses) echo "$DIR/$1" ;;
    plugins) echo "$DIR/plugins" ;;
    *) echo "unknown artefact $1 (known: ${ORDER[*]})" >&2; exit 2 ;;
  esac
}

source "$(dirname "${BASH_SOURCE[0]}")/go-toolchain.sh"
source "$(dirname "${BASH_SOURCE[0]}")/install-lib.sh"

need_npm() {
  command -v npm >/dev/null && command -v node >/dev/null ||
    { echo "node and npm are required to build the Perses UI and lay out its plugins (Debian: apt-get install nodejs npm)" >&2; exit 1; }
}

# "go mod download -json" field $2 of module $1 (as the wrapper pins it)
mod_field() {
  (cd "$MODULE" && go mod download -json "$1") | sed -n "s/^\t\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p" | head -1
}

# link flags of the release (Makefile LDFLAGS: prometheus/common's version package); the commit
# and the date are the tag's, as the module proxy records them (not the build's, which would vary)
ldflags() {
  local info p=github.com/prometheus/common/version
  info="$(cd "$MODULE" && go mod download -json github.com/perses/perses | sed -n 's/^\t"Info": "\(.*\)",$/\1/p')"
  python3 - "$info" "$p" "${VERSION#v}" <<'EOF'
import json, sys
info, p, version = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
print(f"-s -w -X {p}.Version={version} -X {p}.Revision={info.get('Origin', {}).get('Hash', '')}"
      f" -X {p}.BuildDate={info['Time'][:10]} -X {p}.Branch=HEAD")
EOF
}

wrapper_hash() {   # what of the wrapper decides artefact $1
  (cd "$MODULE" && case "$1" in
     perses) { grep -v '^[[:space:]]*//' go.mod; cat go.sum tools.go; } ;;
     plugins) { cat go.sum plugins/package-lock.json plugins/.npmrc; find plugins/TimeSeriesChart -type f | sort | xargs cat; } ;;
   esac) | sha256sum | cut -c1-16
}

# what decides the artefact's content: a change rebuilds it in place (no toolchain is needed to
# tell, so up-to-date artefacts are reported without go or npm)
spec_of() {
  local flags="-s -w version.{Version=${VERSION#v},Revision=<tag commit>,BuildDate=<tag date>,Branch=HEAD}"
  case "$1" in
    perses) echo "perses $VERSION ui=npm-ci+turbo+compress_assets+licences own-module ldflags=[$flags] wrapper=$(wrapper_hash perses)" ;;
    plugins) echo "plugins prometheus=$(npm_version @perses-dev/prometheus-plugin)/$(module_version github.com/perses/plugins/prometheus)" \
                  "timeseries-chart=$(npm_version @perses-dev/timeseries-chart-plugin) cue=perses-$VERSION wrapper=$(wrapper_hash plugins)" ;;
  esac
}

build_perses() {
  local out=$1 work=$2 src
  need_npm
  src=$(mod_field github.com/perses/perses Dir)
  echo "copying $src and building its web UI (npm ci, npm run build) ..." >&2
  cp -r "$src" "$work/perses" && chmod -R u+w "$work/perses"
  (cd "$work/perses/ui" &&
     nice -n "$NICE" npm ci --ignore-scripts --no-audit --no-fund >&2 &&
     nice -n "$NICE" npm run build >&2)
  ui_licences "$work/perses/ui" > "$(dirname "$out")/ui-third-party-licenses.txt"
  (cd "$work/perses" && bash scripts/compress_assets.sh >/dev/null)   # writes ui/embed.go (the dist files, gzipped)
  grep -q 'app/dist/main.js.gz' "$work/perses/ui/embed.go" ||
    { echo "perses: ui/embed.go embeds no built UI (app/dist/main.js)" >&2; exit 1; }
  echo "building perses $VERSION ..." >&2
  (cd "$work/perses" &&
     env GOWORK=off CGO_ENABLED=0 nice -n "$NICE" go build -mod=readonly -trimpath -buildvcs=false \
       -ldflags "$(ldflags)" -o "$out" ./cmd/perses)
  # built in its own module, Go records the version "(devel)": licenses.py reads this stamp instead
  echo "github.com/perses/perses@$VERSION ./cmd/perses" > "$(dirname "$out")/.perses.version"
}

# every npm package the UI build installed (a superset of what its bundles contain), in the listing
# format of Prometheus's UI build (Name, Version, License), for scripts/licenses.py
ui_licences() {
  python3 - "$1" <<'EOF'
import json, sys
from pathlib import Path
for manifest in sorted(Path(sys.argv[1]).glob("**/node_modules/**/package.json")):
    package = manifest.parent
    scoped = package.parent.name.startswith("@")
    if (package.parent.parent if scoped else package.parent).name != "node_modules" or package.is_symlink():
        continue  # a file inside a package, or a workspace link
    data = json.loads(manifest.read_text(errors="replace") or "{}")
    if "name" in data and "version" in data:
        licence = data.get("license") or "; ".join(e.get("type", "") for e in data.get("licenses", []) if isinstance(e, dict))
        if not licence:  # no field: the licence file's well-known opening words, as licenses.py reads Go's
            text = " ".join(p.read_text(errors="ignore")[:400] for p in package.glob("LICEN[CS]E*") if p.is_file())
            licence = next((spdx for mark, spdx in (("Apache License", "Apache-2.0"), ("MIT License", "MIT"),
                                                    ("Permission is hereby granted", "MIT")) if mark in text), "")
        print(f"Name: {data['name']}\nVersion: {data['version']}\nLicense: {licence or 'null'}\n")
EOF
}

# a plugin folder from an npm package's files: package.json, the module-federation manifest and bundle
copy_bundle() {
  local pkg=$1 to=$2 f
  mkdir -p "$to"
  for f in package.json mf-manifest.json mf-stats.json __mf LICENSE README.md; do
    [ -e "$pkg/$f" ] && cp -r "$pkg/$f" "$to/"
  done
  [ -f "$to/mf-manifest.json" ] || { echo "plugins: $pkg has no mf-manifest.json" >&2; exit 1; }
}

build_plugins() {
  local out=$1 work=$2 perses_src prom_src prom prom_version ts ts_version
  need_go; need_npm
  echo "npm ci of the plugins' bundles ..." >&2
  mkdir -p "$work/npm"
  cp "$MODULE/plugins/package.json" "$MODULE/plugins/package-lock.json" "$MODULE/plugins/.npmrc" "$work/npm/"
  (cd "$work/npm" && nice -n "$NICE" npm ci --ignore-scripts --no-audit --no-fund >&2)
  perses_src=$(mod_field github.com/perses/perses Dir)
  prom_src=$(mod_field github.com/perses/plugins/prometheus Dir)
  mkdir -p "$out"

  prom_version=$(npm_version @perses-dev/prometheus-plugin)
  prom="$out/Prometheus-$prom_version"
  copy_bundle "$work/npm/node_modules/@perses-dev/prometheus-plugin" "$prom"
  cp -r "$prom_src/schemas" "$prom/schemas"
  mkdir -p "$prom/cue.mod/pkg/github.com/perses/perses"
  cp -r "$perses_src/cue" "$prom/cue.mod/pkg/github.com/perses/perses/cue"
  # the module file without its `deps` (github.com/perses/perses/cue, vendored above): what
  # `percli plugin build` leaves in a plugin archive
  awk '/^deps: *\{/ { skip = 1 } !skip { print } skip && /^\}/ { skip = 0 }' "$prom_src/cue.mod/module.cue" > "$prom/cue.mod/module.cue"
  grep -q '^module: "github.com/perses/plugins/prometheus@v0"' "$prom/cue.mod/module.cue" ||
    { echo "plugins: unexpected $prom_src/cue.mod/module.cue" >&2; exit 1; }

  ts_version=$(npm_version @perses-dev/timeseries-chart-plugin)
  ts="$out/TimeSeriesChart-$ts_version"
  copy_bundle "$work/npm/node_modules/@perses-dev/timeseries-chart-plugin" "$ts"
  cp -r "$MODULE/plugins/TimeSeriesChart/schemas" "$MODULE/plugins/TimeSeriesChart/cue.mod" "$ts/"
  python3 - "$ts/package.json" <<'EOF'
import json, sys
path = sys.argv[1]
data = json.load(open(path))
data["perses"]["schemasPath"] = "schemas"
json.dump(data, open(path, "w"), indent=2)
EOF
  find "$out" -type d -exec chmod 0755 {} + && find "$out" -type f -exec chmod 0644 {} +
}

install_one() {
  local name=$1 path spec tmp work
  path=$(path_of "$name")
  spec=$(spec_of "$name")
  # Perses loads no plugin at all when its archive folder (config plugin.archive_path) is missing
  [ "$name" != plugins ] || mkdir -p "$DIR/plugins-archive"
  if [ -e "$path" ] && grep -qxF "$spec" "$STAMP" 2>/dev/null; then
    report_cached "$name" "$VERSION" "$path"
    return
  fi
  need_go
  mkdir -p "$DIR"
  tmp="$DIR/.$name.tmp.$$" work="$DIR/.build.$name.$$"
  rm -rf "$tmp" "$work" && mkdir -p "$work"
  echo "building $name $VERSION ..." >&2
  start_timer
  "build_$name" "$tmp" "$work"
  rm -rf "$work" "$path.old"
  if [ -e "$path" ]; then mv "$path" "$path.old"; fi
  mv -f "$tmp" "$path" && rm -rf "$path.old"
  { grep -v "^$name " "$STAMP" 2>/dev/null || true; echo "$spec"; } > "$STAMP.tmp.$$" && mv -f "$STAMP.tmp.$$" "$STAMP"
  report_built "$name" "$VERSION" "$path"
}

trap 'rm -rf "$DIR"/.*.tmp.$$ "$DIR"/.build.*.$$ "$STAMP".tmp.$$' EXIT
install_main "$CACHE/.perses.lock" path_of "$@"
