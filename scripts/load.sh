#!/usr/bin/env bash
# `make load`: the k6 booking load (load/booking.js) against the running native sandbox, showing
# the emulated HPA scale booking-service/frontend up during the load and back down after it.
# Loopback only; bounded: ramp + hold + ramp-down (70 s by default) and a 90 s scale-down watch.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
scripts/install-gitops-tools.sh k6 >/dev/null
"$BIN/sandbox" up >/dev/null
eval "$("$BIN/sandbox" env)"
replicas() { "$BIN/sandbox" status --json | "$BIN/python" -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["kind"] == "service"]
print(", ".join(r["component"] + "=" + str(len(r["pids"])) for r in rows))'; }
event=$("$BIN/python" - <<PY
import requests
print(requests.post("$EVENT_SERVICE_URL/events", json={"name": "k6 load", "date": "2030-01-01", "venue": "loopback", "capacity": 1000000}, timeout=10).json()["id"])
PY
)
echo "replicas before: $(replicas)"
monitor_log="$("$BIN/python" -c 'from sandbox.settings import settings; print(settings().state_dir / "logs" / "monitor.log")')"
start_line=$(wc -l < "$monitor_log")
status=0
.cache/bin/k6 run --quiet -e BASE_URL="$FRONTEND_URL" -e EVENT_ID="$event" load/booking.js || status=$?
echo "replicas right after the load: $(replicas)"
for _ in $(seq 1 18); do sleep 5; done   # scale-down stabilization (hpa.stabilization_seconds) + periods
echo "replicas 90 s later: $(replicas)"
echo "HPA decisions during the run:"
tail -n +"$((start_line + 1))" "$monitor_log" | grep " hpa " || echo "(none)"
exit $status
