#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io if missing and starts dockerd
# (it does not run by default on these machines). Idempotent.
set -euo pipefail
if ! command -v dockerd >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { echo "error: docker.io missing (fix: sudo apt-get install -y docker.io)" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
if docker info >/dev/null 2>&1; then exit 0; fi
echo "starting dockerd (log: /tmp/dockerd.log)"
nohup dockerd --host=unix:///var/run/docker.sock >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 0.5
done
echo "error: dockerd did not start (fix: see /tmp/dockerd.log)" >&2
exit 1
