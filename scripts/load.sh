#!/usr/bin/env bash
# `make load` / `make load-ui`: the seed's booking load with Locust (load/locustfile.py) against the
# running native sandbox, showing the emulated HPA scale booking-service/frontend up and back down.
#   scripts/load.sh        headless: stages 10 -> 50 -> 150 -> 50 -> 0 users (5 min; LOAD_SCALE=0.1 -> 30 s),
#                          replica counts before, at peak and after; exit code from the thresholds
#   scripts/load.sh ui     Locust's web UI on 127.0.0.1 (LOCUST_WEB_PORT, default 8089) until Ctrl-C
# Loopback only; bounded: the stages end by themselves, then a 90 s scale-down watch.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.venv/bin"
"$BIN/sandbox" up >/dev/null
eval "$("$BIN/sandbox" env)"
replicas() { "$BIN/sandbox" status --json | "$BIN/python" -c '
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
echo "replicas before: $(replicas | cut -d' ' -f2-)"
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
for _ in $(seq 1 18); do sleep 5; done   # scale-down stabilization (hpa.stabilization_seconds) + periods
echo "replicas 90 s later: $(replicas | cut -d' ' -f2-)"
echo "HPA decisions during the run:"
tail -n +"$((start_line + 1))" "$monitor_log" | grep " hpa " || echo "(none)"
exit $status
