# Sourced by the install scripts. `need_go`: put a Go toolchain on PATH, needed only to build
# (up-to-date binaries are reported without it). A shell started without the login profile's PATH
# (`env -i`, cron, an IDE) lacks /usr/local/go/bin, where the official Go archive installs, so look
# there too.
need_go() {
  command -v go >/dev/null && return
  local dir
  for dir in /usr/local/go/bin /usr/lib/go/bin; do
    if [ -x "$dir/go" ]; then export PATH="$dir:$PATH"; return; fi
  done
  echo "go is required (Debian: apt-get install golang-go, or a Go toolchain >= 1.26)" >&2; exit 1
}
