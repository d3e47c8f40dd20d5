#!/usr/bin/env bash
# Installs what the native sandbox runs on from Debian's packages, only when it is missing:
# Java 17 (Kafka, Flink; its JDK's javac builds the analytics job's submit helper, sandbox/jobgraph.py), Maven (fetches the jars from Maven Central), PostgreSQL server,
# Chromium (the frontend's browser test drives it with Playwright; never downloaded by Playwright),
# HAProxy (plays the Kubernetes Services in front of the native service replicas), wrk (`make bench`'s
# HTTP load generator: C, so the load itself takes little of the CPU it measures), autotools and cmake
# (the Lambda executor compiles aws-lambda-ric's native addon for nodejs functions, once per user).
# With --cluster also what cluster mode's node runs on (`make sandbox-cluster`): containerd and runc,
# the CNI plugins, iptables and conntrack (kube-proxy), git (the repository ArgoCD syncs) and Redis
# (ArgoCD's cache).
set -euo pipefail

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v python3.11 >/dev/null || missing+=(python3.11 python3.11-venv)
command -v chromium >/dev/null || missing+=(chromium)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
for tool in autoconf automake libtoolize cmake; do
  command -v "$tool" >/dev/null || { missing+=(autoconf automake libtool cmake); break; }
done
if [ "${1:-}" = --cluster ]; then
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v git >/dev/null || missing+=(git)
  command -v redis-server >/dev/null || missing+=(redis-server)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: missing ${missing[*]} (fix: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
