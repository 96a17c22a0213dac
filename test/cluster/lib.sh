# shellcheck shell=bash
# What the scripts that build test tools from Go modules into the cache
# outside the clone share (test/cluster/build.sh, test/helm/build.sh,
# test/kstatus/build.sh). Set `label` before sourcing: it starts every error.
cache=${CUTOVER_CACHE:-$HOME/.cache/cutover}
mkdir -p "$cache"

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
export GOSUMDB=${GOSUMDB:-sum.golang.org}

die() { echo "$label: $*" >&2; exit 1; }

need_go() { # WHAT MIN_VERSION [WHERE_TO_GET_IT]
  command -v go >/dev/null 2>&1 || die "Go is not installed and is needed for $1; install Go >= $2 (${3:-apt-get install golang-go or a Go tarball}) and re-run."
}

# go_or_die LOG_NAME CMD...: runs a Go command, keeps its log, and turns a
# failure into one line that says which module could not be had.
go_or_die() {
  local step=$1; shift
  local log="$cache/build-$step.log"
  if ! "$@" >"$log" 2>&1; then
    local why
    # `go mod download -json` reports in an "Error" field; go build on stderr.
    why=$(sed -nE 's/.*"Error": "(.*)".*/\1/p' "$log" | head -n1)
    [ -n "$why" ] || why=$(grep -m1 -E 'refused|not found|unknown revision|no such host|timeout|checksum|error|cannot' "$log" || tail -n1 "$log")
    die "$step failed: ${why} (full log: $log). Check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY)); a corrupt module cache is fixed by 'go clean -modcache'."
  fi
}
