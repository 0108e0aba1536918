#!/usr/bin/env bash
#
# Benchmark the initial load into Doltgres: pgdolt's initial snapshot against
# `pg_dump | psql` (the procedure Doltgres's replication docs give), on the same
# primary data, into fresh Doltgres databases, in one run. Starts its own
# throwaway PostgreSQL primary and Doltgres (target/bench-servers, free
# loopback ports; stopped on exit) and writes bench/results/snapshot.md.
#
# usage: bench/snapshot.sh [ROWS]      (default 1000000, over three tables)
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$BENCH_DIR/.." && pwd -P)"
SERVERS_DIR="$REPO_ROOT/target/bench-servers"
ROWS="${1:-1000000}"

# shellcheck source=scripts/lib/servers.sh
source "$REPO_ROOT/scripts/lib/servers.sh"

# Stop the servers this script started; keep the exit code.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  pgdolt_servers_stop "$SERVERS_DIR" || pgdolt_log "WARNING: failed to stop some servers in $SERVERS_DIR"
  exit "$rc"
}

main() {
  cd -- "$REPO_ROOT"
  [[ "$ROWS" =~ ^[0-9]+$ ]] && (( ROWS >= 1000 )) || pgdolt_die "ROWS must be a number >= 1000 (got '$ROWS')"
  pgdolt_servers_clean "$SERVERS_DIR"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pgdolt_servers_start "$SERVERS_DIR" primary doltgres
  # shellcheck source=/dev/null
  source "$SERVERS_DIR/servers.env"
  pgdolt_log "building (test classes and classpath)"
  mvn -B -q -DskipTests test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >&2
  java -Xmx2g -cp "target/classes:target/test-classes:$(cat target/bench.classpath)" \
    io.pgdolt.bench.SnapshotBenchmark --rows "$ROWS" --out bench/results/snapshot.md
}

main "$@"
