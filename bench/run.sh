#!/usr/bin/env bash
#
# The replication benchmark: pgdolt against Doltgres's built-in replicator and
# PostgreSQL's native logical replication (plus the replicas' raw capacity from
# a plain JDBC loop), on the same primary and pgbench workload, in one run.
# Starts its own throwaway servers (target/bench-servers, free loopback ports,
# default durability settings; stopped on exit), builds the job jar, and writes
# BENCHMARKS.md and bench/results/lag.png. Takes about 13 minutes on 2 cores.
#
# usage: bench/run.sh [--backlog N] [--fast-backlog N] [--bulk N] [--bulk-rows N] [--lag-rate N]
#                     [--lag-seconds N] [--step-seconds N] [--warmup-seconds N]
#                     [--only a,b,...]
#                     [--groups-backlog N] [--groups 1,2,4]
#   contenders (--only): raw-doltgres raw-doltgres-progress builtin-doltgres pgdolt-doltgres
#     pgdolt-doltgres-ckpt raw-postgres raw-postgres-progress native-postgres pgdolt-postgres
#     pgdolt-postgres-ckpt groups-doltgres groups-doltgres-dbs groups-postgres
#   (groups-*: the apply rate with 1, 2 and 4 replication groups; -dbs: a
#   Doltgres database per group)
# PGDOLT_BENCH_JOB_JAVA_OPTS adds JVM options to each pgdolt job (e.g. to profile
# it with -XX:StartFlightRecording=filename=/tmp/job.jfr,settings=profile).
set -euo pipefail
shopt -s inherit_errexit

BENCH_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$BENCH_DIR/.." && pwd -P)"
SERVERS_DIR="$REPO_ROOT/target/bench-servers"

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
  command -v pgbench >/dev/null || pgdolt_die "pgbench is missing (Debian: apt-get install postgresql-client-15)"
  pgdolt_servers_clean "$SERVERS_DIR"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pgdolt_servers_start "$SERVERS_DIR" primary pgreplica doltgres
  # shellcheck source=/dev/null
  source "$SERVERS_DIR/servers.env"
  pgdolt_log "building the job jar, test classes and class path"
  mvn -B -q -DskipTests package dependency:build-classpath \
    -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >&2
  local jar
  jar="$(ls target/pgdolt-*.jar | grep -v -- '-shaded\|-sources\|original' | head -n 1)"
  java -Xmx1g -cp "target/classes:target/test-classes:$(cat target/bench.classpath)" \
    io.pgdolt.bench.ReplicationBenchmark \
    --jar "$jar" --doltgres-bin "$(pgdolt_doltgres_install)" \
    --work target/bench-work --out BENCHMARKS.md --chart bench/results/lag.png "$@"
}

main "$@"
