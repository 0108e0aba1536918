#!/usr/bin/env bash
#
# A standalone Flink 1.20 session cluster on this machine, for running pgdolt
# exactly as on a real cluster: a JobManager and TaskManagers as separate JVM
# processes, started from the Flink artifacts on Maven Central (resolved into
# target/flink-runtime) with the configuration in flink-conf/, on free loopback
# ports. Jobs are submitted, stopped with a savepoint and resubmitted with
# Flink's own CLI (`cluster.sh flink DIR ...`) or its REST API.
#
# Usage:
#   scripts/cluster.sh start DIR [N]          JobManager + N TaskManagers (default 1)
#   scripts/cluster.sh add-taskmanager DIR    one more TaskManager
#   scripts/cluster.sh stop DIR               stop every process this DIR started (by pid)
#   scripts/cluster.sh flink DIR ARGS...      the Flink CLI against this cluster, e.g.
#       scripts/cluster.sh flink DIR run -d target/pgdolt-0.1.0-SNAPSHOT.jar run --config pgdolt.yaml
#       scripts/cluster.sh flink DIR stop --savepointPath file:///tmp/sp <job-id>
#       scripts/cluster.sh flink DIR run -d -s <savepoint> target/pgdolt-....jar run --config pgdolt.yaml
#
# DIR holds conf/, log/, checkpoints/, savepoints/, the pid files and
# cluster.env (PGDOLT_FLINK_REST=http://127.0.0.1:PORT).
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"

# shellcheck source=scripts/lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"

# The Flink runtime jars (target/flink-runtime, resolved once from Maven Central).
flink_lib() {
  local lib="$REPO_ROOT/target/flink-runtime"
  if ! compgen -G "$lib/flink-runtime-*.jar" >/dev/null; then
    pgdolt_log "fetching the Flink runtime from Maven Central into $lib"
    mvn -B -q -f "$SCRIPT_DIR/flink-runtime/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$lib" >&2
  fi
  printf '%s\n' "$lib"
}

# Write DIR/conf (flink-conf/ plus this cluster's ports and directories).
write_conf() {
  local dir="$1" rest="$2" rpc="$3"
  mkdir -p "$dir/conf" "$dir/log" "$dir/checkpoints" "$dir/savepoints" "$dir/tmp"
  cp "$REPO_ROOT/flink-conf/config.yaml" "$dir/conf/config.yaml"
  cp "$REPO_ROOT/flink-conf/log4j.properties" "$dir/conf/log4j.properties"
  cp "$REPO_ROOT/flink-conf/log4j.properties" "$dir/conf/log4j-cli.properties"
  cat >"$dir/dynamic.properties" <<PROPS
jobmanager.rpc.address=$PGDOLT_HOST
jobmanager.rpc.port=$rpc
jobmanager.bind-host=$PGDOLT_HOST
rest.address=$PGDOLT_HOST
rest.bind-address=$PGDOLT_HOST
rest.port=$rest
taskmanager.bind-host=$PGDOLT_HOST
taskmanager.host=$PGDOLT_HOST
execution.checkpointing.dir=file://$dir/checkpoints
execution.checkpointing.savepoint-dir=file://$dir/savepoints
io.tmp.dirs=$dir/tmp
jobmanager.memory.process.size=1024m
taskmanager.memory.process.size=1600m
taskmanager.memory.managed.size=256m
PROPS
  cat >"$dir/cluster.env" <<ENV
export PGDOLT_FLINK_DIR='$dir'
export PGDOLT_FLINK_REST='http://$PGDOLT_HOST:$rest'
ENV
}

# The -D arguments for a JobManager or TaskManager of DIR.
dynamic_args() {
  local dir="$1" line
  while IFS= read -r line; do
    printf '%s\n' "-D" "$line"
  done <"$dir/dynamic.properties"
}

# Start a Flink process: ROLE (jobmanager|taskmanager-N), main CLASS, heap.
# A TaskManager's JVM and memory settings come from Flink's own BashJavaUtils,
# as its taskmanager.sh does.
start_process() {
  local dir="$1" role="$2" class="$3" heap="$4" lib args=() jvm=() extra=() out
  lib="$(flink_lib)"
  mapfile -t args < <(dynamic_args "$dir")
  jvm=(-Xmx"$heap" -Xms"$heap")
  if [[ "$class" == *TaskManagerRunner ]]; then
    out="$(java -cp "$lib/*" org.apache.flink.runtime.util.bash.BashJavaUtils GET_TM_RESOURCE_PARAMS \
      --configDir "$dir/conf" "${args[@]}" 2>&1 | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | cut -d: -f2-)" ||
      pgdolt_die "flink: cannot compute the TaskManager's memory settings"
    read -r -a jvm <<<"$(sed -n 1p <<<"$out")"
    read -r -a extra <<<"$(sed -n 2p <<<"$out")"
  fi
  local opts=()
  mapfile -t opts < <(java_opts)
  nohup java "${jvm[@]}" "${opts[@]}" \
    -Dlog.file="$dir/log/$role.log" \
    -Dlog4j.configurationFile="file:$dir/conf/log4j.properties" \
    -cp "$lib/*" "$class" --configDir "$dir/conf" "${args[@]}" "${extra[@]}" \
    >"$dir/log/$role.out" 2>&1 &
  echo $! >"$dir/$role.pid"
  pgdolt_log "flink: $role started (pid $!, log $dir/log/$role.log)"
}

# Flink's Java 17 module options, from flink-conf/config.yaml.
java_opts() {
  local line
  line="$(grep -E '^env\.java\.opts\.all:' "$REPO_ROOT/flink-conf/config.yaml" | head -n 1 | cut -d: -f2-)"
  printf '%s\n' $line
}

rest_url() {
  # shellcheck source=/dev/null
  source "$1/cluster.env"
  printf '%s\n' "$PGDOLT_FLINK_REST"
}

# Wait until the REST API answers and reports at least N TaskManagers.
await_ready() {
  local dir="$1" want="$2" url i n
  url="$(rest_url "$dir")"
  for ((i = 0; i < 240; i++)); do
    n="$(curl -fsS "$url/taskmanagers" 2>/dev/null | grep -o '"id":' | wc -l || true)"
    if [[ -n "$n" ]] && (( n >= want )); then
      pgdolt_log "flink: cluster ready at $url ($n TaskManager(s))"
      return 0
    fi
    if [[ -f "$dir/jobmanager.pid" ]] && ! kill -0 "$(cat "$dir/jobmanager.pid")" 2>/dev/null; then
      pgdolt_tail_log "$dir/log/jobmanager.log" 40
      pgdolt_die "flink: the JobManager exited"
    fi
    sleep 0.5
  done
  pgdolt_tail_log "$dir/log/jobmanager.log" 40
  pgdolt_die "flink: cluster at $url not ready with $want TaskManager(s) after 120 s"
}

next_tm() {
  local dir="$1" i=1
  while [[ -f "$dir/taskmanager-$i.pid" ]]; do
    i=$((i + 1))
  done
  printf '%s\n' "$i"
}

live_tms() {
  local dir="$1" f n=0
  for f in "$dir"/taskmanager-*.pid; do
    [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null && n=$((n + 1))
  done
  printf '%s\n' "$n"
}

cmd_start() {
  local dir tms="${2:-1}" i
  dir="$(pgdolt_abs_dir "$1")"
  if [[ -f "$dir/jobmanager.pid" ]] && kill -0 "$(cat "$dir/jobmanager.pid")" 2>/dev/null; then
    pgdolt_die "flink: a cluster is already running in $dir (stop it first)"
  fi
  rm -f "$dir"/*.pid
  write_conf "$dir" "$(pgdolt_free_port)" "$(pgdolt_free_port)"
  start_process "$dir" jobmanager org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint 512m
  for ((i = 1; i <= tms; i++)); do
    start_process "$dir" "taskmanager-$i" org.apache.flink.runtime.taskexecutor.TaskManagerRunner 768m
  done
  await_ready "$dir" "$tms"
}

cmd_add_taskmanager() {
  local dir
  dir="$(pgdolt_abs_dir "$1")"
  [[ -f "$dir/cluster.env" ]] || pgdolt_die "flink: no cluster in $dir"
  start_process "$dir" "taskmanager-$(next_tm "$dir")" org.apache.flink.runtime.taskexecutor.TaskManagerRunner 768m
  await_ready "$dir" "$(live_tms "$dir")"
}

cmd_stop() {
  local dir f pid i
  dir="$(pgdolt_abs_dir "$1")"
  for f in "$dir"/taskmanager-*.pid "$dir"/jobmanager.pid; do
    [[ -f "$f" ]] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
      pgdolt_log "flink: stopped $(basename "$f" .pid) (pid $pid)"
    fi
    rm -f "$f"
  done
}

cmd_flink() {
  local dir lib url
  dir="$(pgdolt_abs_dir "$1")"
  shift
  lib="$(flink_lib)"
  url="$(rest_url "$dir")"
  local action="$1"
  shift
  local opts=()
  mapfile -t opts < <(java_opts)
  FLINK_CONF_DIR="$dir/conf" java -Xmx512m "${opts[@]}" \
    -Dlog.file="$dir/log/client.log" \
    -Dlog4j.configurationFile="file:$dir/conf/log4j-cli.properties" \
    -cp "$lib/*" org.apache.flink.client.cli.CliFrontend "$action" -m "${url#http://}" "$@"
}

main() {
  (( $# >= 2 )) || { sed -n '3,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  local cmd="$1"
  shift
  case "$cmd" in
    start) cmd_start "$@" ;;
    add-taskmanager) cmd_add_taskmanager "$@" ;;
    stop) cmd_stop "$@" ;;
    flink) cmd_flink "$@" ;;
    *) pgdolt_die "unknown command '$cmd' (start, add-taskmanager, stop, flink)" ;;
  esac
}

main "$@"
