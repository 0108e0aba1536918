#!/usr/bin/env bash
#
# Run the Maven build (`mvn -B verify "$@"`) against freshly started throwaway
# servers (PostgreSQL primary, PostgreSQL replica, Doltgres) whose coordinates
# are exported as PGDOLT_* variables (see scripts/servers.sh). The servers live
# in target/servers (override with PGDOLT_SERVERS_DIR) and are always stopped
# on exit. Exits with Maven's exit code.
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
SERVERS_DIR="${PGDOLT_SERVERS_DIR:-$REPO_ROOT/target/servers}"
MVN_PID=""

# shellcheck source=scripts/lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"

# Print the tails of all server logs to stderr.
print_server_logs() {
  pgdolt_tail_log "$SERVERS_DIR/primary.log" 60
  pgdolt_tail_log "$SERVERS_DIR/pgreplica.log" 60
  pgdolt_tail_log "$SERVERS_DIR/doltgres/doltgres.log" 60
}

# EXIT trap: on failure show the server logs, then stop the servers; keep the exit code.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if (( rc != 0 )); then
    pgdolt_log "build failed (exit $rc); server logs follow"
    print_server_logs
  fi
  pgdolt_servers_stop "$SERVERS_DIR" || pgdolt_log "WARNING: failed to stop some servers in $SERVERS_DIR"
  exit "$rc"
}

# INT/TERM trap: stop a running Maven (it runs in the background so that this
# trap fires promptly), then exit with CODE; the EXIT trap stops the servers.
on_signal() {
  local code="$1"
  if [[ -n "$MVN_PID" ]] && kill -0 "$MVN_PID" 2>/dev/null; then
    pgdolt_log "interrupted; stopping Maven (pid $MVN_PID)"
    kill -TERM "$MVN_PID" 2>/dev/null || true
    wait "$MVN_PID" 2>/dev/null || true
  fi
  exit "$code"
}

# Start clean servers, run Maven with the server environment, return its code.
main() {
  cd -- "$REPO_ROOT"
  command -v mvn >/dev/null 2>&1 || pgdolt_die "mvn not found on PATH"

  # Leftovers from an interrupted run: stop them and start from empty data dirs.
  pgdolt_servers_clean "$SERVERS_DIR"

  trap cleanup EXIT
  trap 'on_signal 130' INT
  trap 'on_signal 143' TERM
  pgdolt_servers_start "$SERVERS_DIR"
  # shellcheck source=/dev/null
  source "$SERVERS_DIR/servers.env"

  pgdolt_log "running: mvn -B verify $*"
  local rc=0
  mvn -B verify "$@" &
  MVN_PID=$!
  wait "$MVN_PID" || rc=$?
  MVN_PID=""
  return "$rc"
}

main "$@"
