#!/bin/bash
# The official flink image's contract: `jobmanager` | `taskmanager`, FLINK_PROPERTIES (key: value
# lines) appended to conf/config.yaml, jobmanager.rpc.address defaulting to the host name.
set -euo pipefail
conf=/opt/flink/conf/config.yaml
{
  echo "jobmanager.rpc.address: ${JOB_MANAGER_RPC_ADDRESS:-$(hostname -f)}"
  echo "jobmanager.bind-host: 0.0.0.0"
  echo "taskmanager.bind-host: 0.0.0.0"
  echo "rest.address: 0.0.0.0"
  echo "rest.bind-address: 0.0.0.0"
  echo "taskmanager.host: $(hostname -i | awk '{print $1}')"
  if [ -n "${FLINK_PROPERTIES:-}" ]; then echo "$FLINK_PROPERTIES"; fi
} > /tmp/extra.yaml
# flat `key: value` lines, the later of two equal keys wins (YAML forbids duplicates)
merge() {
  declare -A seen
  while IFS= read -r line; do
    key="${line%%:*}"; [ -z "$line" ] && continue
    seen["$key"]="$line"
  done < <(grep -hE '^[a-zA-Z]' "$@")
  for k in "${!seen[@]}"; do echo "${seen[$k]}"; done
}
merge /opt/flink/conf/config.base.yaml /tmp/extra.yaml > $conf
case "${1:-help}" in
  jobmanager) exec /opt/flink/bin/jobmanager.sh start-foreground ;;
  taskmanager) exec /opt/flink/bin/taskmanager.sh start-foreground ;;
  *) exec "$@" ;;
esac
