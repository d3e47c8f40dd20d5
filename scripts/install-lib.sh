# Sourced by the install scripts (install-cluster-tools.sh, install-observability-tools.sh,
# install-perses.sh): what they share around their own builds. Each defines ORDER (its artefacts),
# path_of NAME and install_one NAME, then ends with `install_main LOCK CHECK "$@"`.

# CPU seconds (user + system) of this script's finished children ($$ is the script even in a subshell)
children_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f", ($14 + $15) / hz }' "/proc/$$/stat"
}

# start_timer, then report_built NAME VERSION PATH: the one stdout line of a build, with its wall
# time, its children's CPU time and the artefact's size
start_timer() {
  TIMER_WALL=$EPOCHREALTIME TIMER_CPU=$(children_cpu)
}

report_built() {
  printf 'built  %-24s %-8s %5.0fs wall %5ss cpu  %4s  %s\n' "$1" "$2" \
    "$(awk -v a="$TIMER_WALL" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" "$(( $(children_cpu) - TIMER_CPU ))" \
    "$(du -sh "$3" | cut -f1)" "$3"
}

report_cached() {   # NAME VERSION PATH
  printf 'ok     %-24s %-8s cached  %s\n' "$1" "$2" "$3"
}

# install_main LOCK CHECK ARGS...: with --paths, "name path" of every artefact (nothing built);
# else the artefacts named (all of ORDER by default), every name checked by CHECK before any build,
# one run at a time per LOCK file (every clone of the user shares the cache)
install_main() {
  local lock=$1 check=$2 name
  shift 2
  if [ "${1:-}" = --paths ]; then
    for name in "${ORDER[@]}"; do echo "$name $(path_of "$name")"; done
    exit 0
  fi
  local want=("$@")
  [ ${#want[@]} -eq 0 ] && want=("${ORDER[@]}")
  for name in "${want[@]}"; do "$check" "$name" >/dev/null; done   # unknown names fail before any build
  mkdir -p "$(dirname "$lock")"
  exec 9>"$lock"
  flock -n 9 || { echo "waiting for another $(basename "$0") (lock $lock) ..." >&2; flock 9; }
  for name in "${want[@]}"; do install_one "$name"; done
}
