#!/usr/bin/env bash
# `make load` / `make load-ui`: the seed's booking load with Locust (load/locustfile.py) against the
# running sandbox, showing the HPA scale booking-service/frontend up and back down: the processes
# mode's emulated HPA, or in cluster mode (`sandbox up --cluster`) the cluster's real HPAs
# (`kubectl get hpa`, fed by metrics-server).
#   scripts/load.sh        headless: stages 10 -> 50 -> 150 -> 50 -> 0 users (5 min; LOAD_SCALE=0.1 -> 30 s),
#                          replica counts before, at peak and after; exit code from the thresholds
#   scripts/load.sh ui     Locust's web UI on 127.0.0.1 (LOCUST_WEB_PORT, default 8089) until Ctrl-C
# Loopback only; bounded: the stages end by themselves, then a 90 s scale-down watch.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
"$BIN/sandbox" up >/dev/null
eval "$("$BIN/sandbox" env)"
KUBECTL=""
if [ -n "${KUBECONFIG:-}" ]; then   # cluster mode
  KUBECTL=$("$BIN/python" -c 'from sandbox.cluster import tools; from sandbox.settings import settings; print(tools.binary(settings().user_cache_dir, "kubectl"))')
fi
replicas() {
  if [ -n "$KUBECTL" ]; then
    "$KUBECTL" get hpa -n ticketing -o json | "$BIN/python" -c '
import json, sys
rows = json.load(sys.stdin)["items"]
print(sum(r["status"].get("currentReplicas", 0) for r in rows), ", ".join(
    r["metadata"]["name"] + "=" + str(r["status"].get("currentReplicas", 0)) for r in rows))'
    return
  fi
  "$BIN/sandbox" status --json | "$BIN/python" -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["kind"] == "service"]
print(sum(len(r["pids"]) for r in rows), ", ".join(r["component"] + "=" + str(len(r["pids"])) for r in rows))'; }
export EVENT_ID
EVENT_ID=$("$BIN/python" - <<PY
import requests
print(requests.post("$EVENT_SERVICE_URL/events", json={"name": "locust load", "date": "2030-01-01", "venue": "loopback", "capacity": 1000000}, timeout=10).json()["id"])
PY
)
locust=("$BIN/locust" -f load/locustfile.py --host "$FRONTEND_URL")
if [ "${1:-}" = ui ]; then
  port=${LOCUST_WEB_PORT:-8089}
  echo "Locust web UI: http://127.0.0.1:$port (event $EVENT_ID; press Start, Ctrl-C to stop)"
  exec "${locust[@]}" --web-host 127.0.0.1 --web-port "$port"
fi
before_line=$(replicas)
echo "replicas before: $(echo "$before_line" | cut -d' ' -f2-)"
monitor_log="$("$BIN/python" -c 'from sandbox.settings import settings; print(settings().state_dir / "logs" / "monitor.log")')"
start_line=$(wc -l < "$monitor_log")
samples=$(mktemp)
trap 'rm -f "$samples"' EXIT
status=0
"${locust[@]}" --headless --only-summary --loglevel WARNING &
load_pid=$!
while kill -0 "$load_pid" 2>/dev/null; do replicas >> "$samples" || true; sleep 5; done
wait "$load_pid" || status=$?
echo "replicas at peak: $(sort -n "$samples" | tail -1 | cut -d' ' -f2-)"
echo "replicas right after the load: $(replicas | cut -d' ' -f2-)"
# scale-down: the emulation's hpa.stabilization_seconds + periods (90 s); in the cluster the HPAs'
# own behavior (gitops/base: a 120 s window, then one pod per 30 s), so up to 5 min, until back
before=$(echo "$before_line" | cut -d' ' -f1)
waited=0 limit=90
[ -z "$KUBECTL" ] || limit=300
while [ "$waited" -lt "$limit" ]; do
  sleep 5; waited=$((waited + 5))
  if [ -n "$KUBECTL" ] && [ "$(replicas | cut -d' ' -f1)" -le "$before" ]; then break; fi
done
echo "replicas $waited s later: $(replicas | cut -d' ' -f2-)"
echo "HPA decisions during the run:"
if [ -n "$KUBECTL" ]; then
  "$KUBECTL" get events -n ticketing --field-selector reason=SuccessfulRescale -o custom-columns=TIME:.lastTimestamp,HPA:.involvedObject.name,MESSAGE:.message --sort-by=.lastTimestamp || true
  "$KUBECTL" get hpa -n ticketing
else
  tail -n +"$((start_line + 1))" "$monitor_log" | grep " hpa " || echo "(none)"
fi
exit $status
