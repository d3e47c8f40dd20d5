#!/usr/bin/env bash
# `make test`: unit tests, then every suite against one real native sandbox (started here if
# none is running, and stopped again at the end in that case). A sandbox that already had data
# gets it back at the end (`sandbox snapshot`), whatever the tests made.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
export PATH="$BIN:$PATH"

echo "== unit tests"
python -m pytest -n 2 tests/unit

echo "== licences of every third-party package (scripts/licenses.py; reports/licenses.json)"
python scripts/licenses.py --output reports/licenses.json

echo "== gitops: policy rules, offline checks (scripts/gitops-check.sh)"
python -m pytest tests/gitops

was_running=0
if sandbox status >/dev/null 2>&1; then was_running=1; fi
# the developer's data as it was before the tests, in a snapshot loaded again at the end (a new or
# wiped sandbox has none to keep)
kept=""
state_dir="$(python -c 'from sandbox.settings import settings; print(settings().state_dir)')"
if [ -d "$state_dir/data" ]; then
  kept="before-make-test"
  echo "== keeping this sandbox's data in snapshot $kept (loaded again at the end)"
  sandbox snapshot save "$kept" --replace
fi
stop_if_started() {
  if [ -n "$kept" ]; then
    echo "== loading snapshot $kept: the data as it was before the tests"
    sandbox snapshot load "$kept" && sandbox snapshot rm "$kept" || true
  fi
  if [ "$was_running" = 0 ]; then sandbox down || true; fi
}
trap stop_if_started EXIT
echo "== sandbox up"
sandbox up
eval "$(sandbox env)"

echo "== integration tests (harness, components, terraform)"
python -m pytest tests/integration

for service in services/*/; do
  [ -d "$service/tests" ] || continue
  echo "== $service tests"
  (cd "$service" && python -m pytest -q tests)
done

echo "== flink/ tests"
python -m pytest -q flink/tests

echo "== scenario suites (flows, faults) against the running sandbox"
python -m pytest -n 2 --dist loadgroup scenarios

echo "== observability (after the scenarios' traffic): targets up, each layer's metrics, logs by request id, dashboards"
python -m pytest -q tests/observability

echo "== terraform checks"
if sandbox status --json | python -c 'import json,sys; rows={r["component"]: r for r in json.load(sys.stdin)}; sys.exit(rows["terraform"]["state"] == "skipped")'; then
  terraform/check.sh
else
  echo "SKIP terraform checks: $(sandbox status --json | python -c 'import json,sys; print([r["health"] for r in json.load(sys.stdin) if r["component"]=="terraform"][0])')"
fi
