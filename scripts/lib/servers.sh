# shellcheck shell=bash
#
# Library for starting/stopping the throwaway database servers used by the
# pgdolt tests and demos: a PostgreSQL primary (wal_level=logical), a plain
# PostgreSQL replica and a Doltgres replica. Source it; do not execute it.
#
# Layout of a servers directory DIR:
#   DIR/primary/            instance home of the primary (owned by the PG user)
#   DIR/primary/data/       PGDATA
#   DIR/primary.log         server log (symlink into DIR/primary/)
#   DIR/pgreplica/...       same for the PostgreSQL replica
#   DIR/doltgres/           config.yaml, doltgres.pid, doltgres.log, data/, .doltcfg/
#   DIR/servers.env         `export` lines for every running server (see pgdolt_write_env)
#
# Environment knobs:
#   PGDOLT_PG_BINDIR        PostgreSQL server binaries (default /usr/lib/postgresql/15/bin)
#   PGDOLT_PG_OS_USER       unprivileged OS user running PostgreSQL when invoked as root (default pgdolt)
#   PGDOLT_FAST=1           fsync/synchronous_commit/full_page_writes off (faster, not crash safe)
#   PGDOLT_CACHE            cache root for the Doltgres build (default $HOME/.cache/pgdolt)
#   PGDOLT_DOLTGRES_BIN     use this doltgres binary instead of building one
#   PGDOLT_READY_TIMEOUT    seconds to wait for a server to accept connections (default 60)

if [[ -n "${PGDOLT_SERVERS_LIB_LOADED:-}" ]]; then
  return 0
fi
PGDOLT_SERVERS_LIB_LOADED=1

PGDOLT_DOLTGRES_VERSION="v1.3.3"
PGDOLT_HOST="127.0.0.1"
PGDOLT_PG_USER="postgres"
PGDOLT_PG_PASSWORD="postgres"
PGDOLT_PG_DATABASE="postgres"
PGDOLT_DOLTGRES_USER="postgres"
PGDOLT_DOLTGRES_PASSWORD="password"
PGDOLT_ALL_SERVERS=(primary pgreplica doltgres)

# Print a message to stderr, prefixed with the tool name.
pgdolt_log() {
  printf 'pgdolt: %s\n' "$*" >&2
}

# Print an error to stderr and exit the (sub)shell with status 1.
pgdolt_die() {
  printf 'pgdolt: ERROR: %s\n' "$*" >&2
  exit 1
}

# Succeed when running as root.
pgdolt_is_root() {
  [[ "$(id -u)" -eq 0 ]]
}

# Print the last lines of a log file (if it exists) to stderr, indented.
pgdolt_tail_log() {
  local file="$1" lines="${2:-40}"
  if [[ -e "$file" ]]; then
    printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2 || true
    printf -- '----- end of %s -----\n' "$file" >&2
  else
    pgdolt_log "(no log file at $file)"
  fi
}

# Print a free TCP port on 127.0.0.1 (the OS picks an unused ephemeral port).
pgdolt_free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}

# Succeed when nothing is listening on 127.0.0.1:PORT (and we may bind it).
pgdolt_port_is_free() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the servers; ignore TIME_WAIT
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

# Resolve DIR to an absolute, physical path (creating it if needed) and print it.
pgdolt_abs_dir() {
  mkdir -p -- "$1"
  (cd -- "$1" && pwd -P)
}

# Succeed if NAME is one of the known server names.
pgdolt_valid_server() {
  local s
  for s in "${PGDOLT_ALL_SERVERS[@]}"; do
    [[ "$1" == "$s" ]] && return 0
  done
  return 1
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# Print the directory holding the PostgreSQL server binaries.
pgdolt_pg_bindir() {
  printf '%s\n' "${PGDOLT_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
}

# Make sure the PostgreSQL 15 server binaries and psql exist; install them with
# apt-get when missing and we are root.
pgdolt_ensure_postgres() {
  local bindir
  bindir="$(pgdolt_pg_bindir)"
  if [[ -x "$bindir/pg_ctl" && -x "$bindir/initdb" ]] && command -v psql >/dev/null 2>&1; then
    return 0
  fi
  if ! pgdolt_is_root || ! command -v apt-get >/dev/null 2>&1; then
    pgdolt_die "PostgreSQL 15 not found in $bindir (or psql missing). Install postgresql-15 and postgresql-client-15, or set PGDOLT_PG_BINDIR."
  fi
  pgdolt_log "PostgreSQL 15 not found; installing postgresql-15 postgresql-client-15 with apt-get..."
  DEBIAN_FRONTEND=noninteractive apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15 postgresql-client-15 libicu-dev >&2
  [[ -x "$bindir/pg_ctl" ]] || pgdolt_die "apt-get finished but $bindir/pg_ctl is still missing"
}

# Print the OS user that runs PostgreSQL: the unprivileged service user when we
# are root (PostgreSQL refuses to run as root), else the current user.
pgdolt_pg_os_user() {
  if pgdolt_is_root; then
    printf '%s\n' "${PGDOLT_PG_OS_USER:-pgdolt}"
  else
    id -un
  fi
}

# When root, create the unprivileged system user that runs PostgreSQL if missing.
pgdolt_ensure_pg_os_user() {
  pgdolt_is_root || return 0
  local u
  u="$(pgdolt_pg_os_user)"
  if ! id -u "$u" >/dev/null 2>&1; then
    pgdolt_log "creating system user '$u' to run PostgreSQL (it refuses to run as root)"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
  fi
}

# Run a command as the PostgreSQL OS user (from /, so it never needs access to
# the caller's working directory).
pgdolt_as_pg() {
  if pgdolt_is_root; then
    (cd / && runuser -u "$(pgdolt_pg_os_user)" -- "$@")
  else
    (cd / && "$@")
  fi
}

# Succeed if the PostgreSQL OS user can traverse and write directory DIR.
pgdolt_pg_can_use_dir() {
  pgdolt_as_pg test -x "$1" -a -w "$1" 2>/dev/null
}

# Print the instance home of PG server NAME in DIR (resolving the symlink that
# is used when the PG user cannot reach DIR itself).
pgdolt_pg_home() {
  local dir="$1" name="$2"
  if [[ -L "$dir/$name" ]]; then
    readlink -f -- "$dir/$name"
  else
    printf '%s\n' "$dir/$name"
  fi
}

# Create the instance home of PG server NAME in DIR, owned by the PG user. If
# the PG user cannot reach DIR (e.g. DIR is under /root), the home is created
# under ${TMPDIR:-/tmp} and DIR/NAME becomes a symlink to it.
pgdolt_pg_make_home() {
  local dir="$1" name="$2" home owner
  owner="$(pgdolt_pg_os_user)"
  if [[ -L "$dir/$name" && ! -e "$dir/$name" ]]; then
    rm -f -- "$dir/$name" # dangling link: its ${TMPDIR:-/tmp} home was cleaned up
  fi
  if [[ -e "$dir/$name" ]]; then
    pgdolt_pg_home "$dir" "$name"
    return 0
  fi
  if pgdolt_is_root; then
    mkdir -m 0755 -- "$dir/$name"
    chown "$owner:" "$dir/$name"
    if pgdolt_as_pg test -x "$dir/$name" -a -w "$dir/$name" 2>/dev/null; then
      printf '%s\n' "$dir/$name"
      return 0
    fi
    rmdir -- "$dir/$name"
    home="$(mktemp -d "${TMPDIR:-/tmp}/pgdolt-$name.XXXXXX")"
    chmod 0755 "$home"
    chown "$owner:" "$home"
    ln -s -- "$home" "$dir/$name"
    pgdolt_log "user '$owner' cannot access $dir; keeping $name data in $home (symlinked from $dir/$name)"
    printf '%s\n' "$home"
  else
    mkdir -m 0755 -- "$dir/$name"
    printf '%s\n' "$dir/$name"
  fi
}

# Print the port configured for the PG server whose PGDATA is DATA (empty if none).
pgdolt_pg_conf_port() {
  local conf="$1/pgdolt.conf"
  [[ -f "$conf" ]] || return 0
  sed -n "s/^port = \([0-9]*\)$/\1/p" "$conf" | tail -n 1
}

# Succeed if the PG server with PGDATA DATA is running.
pgdolt_pg_running() {
  local data="$1"
  [[ -f "$data/PG_VERSION" ]] || return 1
  pgdolt_as_pg "$(pgdolt_pg_bindir)/pg_ctl" status -D "$data" >/dev/null 2>&1
}

# Write DATA/pgdolt.conf (included from postgresql.conf) for server NAME.
# Args: name data home port
pgdolt_pg_write_conf() {
  local name="$1" data="$2" home="$3" port="$4" sockdir="" tmp
  # Unix socket paths are limited to ~107 bytes; disable the socket if too long.
  if (( ${#home} + 20 < 100 )); then
    sockdir="$home"
  fi
  tmp="$(mktemp)"
  {
    echo "# Generated by scripts/lib/servers.sh for pgdolt server '$name'."
    echo "listen_addresses = '$PGDOLT_HOST'"
    echo "port = $port"
    echo "unix_socket_directories = '$sockdir'"
    echo "max_connections = 200"
    if [[ "$name" == "primary" ]]; then
      echo "wal_level = logical"
      # Tests compare Dolt commit dates with pg_xact_commit_timestamp().
      echo "track_commit_timestamp = on"
    fi
    echo "max_replication_slots = 20"
    echo "max_wal_senders = 20"
    echo "password_encryption = 'scram-sha-256'"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    echo "log_min_messages = warning"
    echo "log_connections = off"
    if pgdolt_as_pg test -f "$data/server.crt"; then
      echo "ssl = on"
    fi
    if [[ "${PGDOLT_FAST:-0}" == "1" ]]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >"$tmp"
  pgdolt_as_pg tee "$data/pgdolt.conf" <"$tmp" >/dev/null
  rm -f -- "$tmp"
}

# Initialise PGDATA DATA (inside instance home HOME) with superuser
# postgres/postgres: trust on the unix socket, scram-sha-256 on 127.0.0.1.
pgdolt_pg_initdb() {
  local data="$1" home="$2" pwfile log rc=0
  log="$home/initdb.log"
  pwfile="$(mktemp)"
  printf '%s\n' "$PGDOLT_PG_PASSWORD" >"$pwfile"
  if pgdolt_is_root; then
    chown "$(pgdolt_pg_os_user):" "$pwfile"
  fi
  pgdolt_as_pg "$(pgdolt_pg_bindir)/initdb" -D "$data" -U "$PGDOLT_PG_USER" \
    --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C >"$log" 2>&1 || rc=$?
  rm -f -- "$pwfile"
  if (( rc != 0 )); then
    pgdolt_tail_log "$log"
    pgdolt_die "initdb failed for $data"
  fi
  printf "\ninclude_if_exists = 'pgdolt.conf'\n" | pgdolt_as_pg tee -a "$data/postgresql.conf" >/dev/null
  pgdolt_pg_make_cert "$data"
}

# Give PGDATA DATA a self-signed TLS certificate for $PGDOLT_HOST (server.crt,
# server.key), so clients can connect with sslmode=verify-full and the
# certificate as root. Without openssl the server runs without TLS.
pgdolt_pg_make_cert() {
  local data="$1"
  if ! command -v openssl >/dev/null 2>&1; then
    pgdolt_log "openssl not found: PostgreSQL in $data runs without TLS"
    return 0
  fi
  pgdolt_as_pg openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$PGDOLT_HOST" \
    -addext "subjectAltName=IP:$PGDOLT_HOST" \
    -keyout "$data/server.key" -out "$data/server.crt" >/dev/null 2>&1 ||
    pgdolt_die "openssl could not make a certificate in $data"
  pgdolt_as_pg chmod 0600 "$data/server.key"
}

# Start (initialising if needed) PostgreSQL server NAME (primary|pgreplica) in
# DIR. Reuses a running instance. Prints the port on stdout.
pgdolt_pg_start() {
  local dir="$1" name="$2" home data port logfile
  pgdolt_ensure_postgres
  pgdolt_ensure_pg_os_user
  home="$(pgdolt_pg_make_home "$dir" "$name")"
  data="$home/data"
  logfile="$home/postgres.log"
  ln -sfn -- "$logfile" "$dir/$name.log"

  if pgdolt_pg_running "$data"; then
    port="$(pgdolt_pg_conf_port "$data")"
    pgdolt_log "$name: already running on $PGDOLT_HOST:$port (reusing)"
    printf '%s\n' "$port"
    return 0
  fi

  if [[ ! -f "$data/PG_VERSION" ]]; then
    pgdolt_log "$name: initdb in $data"
    pgdolt_pg_initdb "$data" "$home"
  fi

  port="$(pgdolt_pg_conf_port "$data")"
  if [[ -z "$port" ]] || ! pgdolt_port_is_free "$port"; then
    port="$(pgdolt_free_port)"
  fi
  pgdolt_pg_write_conf "$name" "$data" "$home" "$port"

  pgdolt_log "$name: starting PostgreSQL on $PGDOLT_HOST:$port (log $dir/$name.log)"
  if ! pgdolt_as_pg "$(pgdolt_pg_bindir)/pg_ctl" start -w -t "${PGDOLT_READY_TIMEOUT:-60}" \
      -D "$data" -l "$logfile" >/dev/null 2>"$home/pg_ctl.err"; then
    cat -- "$home/pg_ctl.err" >&2 || true
    pgdolt_tail_log "$logfile"
    pgdolt_die "$name: PostgreSQL failed to start"
  fi
  if ! PGPASSWORD="$PGDOLT_PG_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -h "$PGDOLT_HOST" -p "$port" \
      -U "$PGDOLT_PG_USER" -d "$PGDOLT_PG_DATABASE" -tA -c 'select 1' >/dev/null; then
    pgdolt_tail_log "$logfile"
    pgdolt_die "$name: started but does not accept password connections on $PGDOLT_HOST:$port"
  fi
  printf '%s\n' "$port"
}

# Stop PostgreSQL server NAME in DIR if it is running (fast shutdown).
pgdolt_pg_stop() {
  local dir="$1" name="$2" data
  [[ -e "$dir/$name" ]] || return 0
  data="$(pgdolt_pg_home "$dir" "$name")/data"
  if pgdolt_pg_running "$data"; then
    pgdolt_log "$name: stopping PostgreSQL ($data)"
    pgdolt_as_pg "$(pgdolt_pg_bindir)/pg_ctl" stop -m fast -w -t 60 -D "$data" >/dev/null ||
      pgdolt_die "$name: pg_ctl stop failed (see $dir/$name.log)"
  else
    pgdolt_log "$name: not running"
  fi
}

# ---------------------------------------------------------------------------
# Doltgres
# ---------------------------------------------------------------------------

# Print the path where the pinned doltgres binary is cached.
pgdolt_doltgres_cached_bin() {
  printf '%s\n' "${PGDOLT_CACHE:-$HOME/.cache/pgdolt}/doltgres-$PGDOLT_DOLTGRES_VERSION/bin/doltgres"
}

# Make sure gcc, ICU headers and go exist for the Doltgres build (apt-get
# installs gcc/libicu-dev when root).
pgdolt_doltgres_build_deps() {
  local missing=()
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  if ! { [[ -e /usr/include/unicode/uchar.h ]] || pkg-config --exists icu-uc 2>/dev/null; }; then
    missing+=(libicu-dev)
  fi
  if (( ${#missing[@]} > 0 )); then
    if pgdolt_is_root && command -v apt-get >/dev/null 2>&1; then
      pgdolt_log "installing build dependencies: ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
    else
      pgdolt_die "building doltgres needs: ${missing[*]} (install them, or set PGDOLT_DOLTGRES_BIN)"
    fi
  fi
  if ! command -v go >/dev/null 2>&1; then
    if [[ -x /usr/local/go/bin/go ]]; then
      PATH="/usr/local/go/bin:$PATH"
    else
      pgdolt_die "building doltgres needs Go (https://go.dev/dl/), or set PGDOLT_DOLTGRES_BIN"
    fi
  fi
}

# Build doltgres $PGDOLT_DOLTGRES_VERSION into the cache via a throwaway
# wrapper module (plain `go install pkg@version` fails behind our Go proxy).
# Output goes to the build log; progress is reported on stderr.
pgdolt_doltgres_build() {
  local bin="$1" cachedir logfile workdir gobin gopid start rc
  cachedir="$(dirname -- "$(dirname -- "$bin")")"
  logfile="$cachedir/build.log"
  pgdolt_doltgres_build_deps
  workdir="$(mktemp -d "${TMPDIR:-/tmp}/pgdolt-doltgres-build.XXXXXX")"
  gobin="$cachedir/bin.tmp.$$"
  mkdir -p -- "$gobin"
  cat >"$workdir/go.mod" <<EOF
module pgdolt.local/doltgres-build

go 1.26.2

require github.com/dolthub/doltgresql $PGDOLT_DOLTGRES_VERSION
EOF
  cat >"$workdir/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/dolthub/doltgresql/cmd/doltgres"
EOF
  pgdolt_log "building doltgres $PGDOLT_DOLTGRES_VERSION with go install (first run only, ~15 min)..."
  pgdolt_log "build log: $logfile"
  start=$SECONDS
  (
    cd -- "$workdir" &&
      GOFLAGS=-mod=mod go mod tidy &&
      GOFLAGS=-mod=mod GOBIN="$gobin" CGO_ENABLED=1 go install github.com/dolthub/doltgresql/cmd/doltgres
  ) >"$logfile" 2>&1 &
  gopid=$!
  while kill -0 "$gopid" 2>/dev/null; do
    sleep 5
    if (( (SECONDS - start) % 60 < 5 && SECONDS - start >= 60 )); then
      pgdolt_log "still building doltgres... ($(( (SECONDS - start) / 60 )) min elapsed)"
    fi
  done
  rc=0
  wait "$gopid" || rc=$?
  rm -rf -- "$workdir"
  if (( rc != 0 )) || [[ ! -x "$gobin/doltgres" ]]; then
    rm -rf -- "$gobin"
    pgdolt_tail_log "$logfile" 30
    pgdolt_die "doltgres build failed (exit $rc); full log: $logfile"
  fi
  mkdir -p -- "$(dirname -- "$bin")"
  mv -f -- "$gobin/doltgres" "$bin"
  rm -rf -- "$gobin"
  pgdolt_log "doltgres built in $(( SECONDS - start ))s: $bin"
}

# Ensure the pinned doltgres binary exists (building it once, serialised by a
# lock so parallel callers wait for one build) and print its path on stdout.
pgdolt_doltgres_install() {
  local bin lockfile
  if [[ -n "${PGDOLT_DOLTGRES_BIN:-}" ]]; then
    [[ -x "$PGDOLT_DOLTGRES_BIN" ]] || pgdolt_die "PGDOLT_DOLTGRES_BIN=$PGDOLT_DOLTGRES_BIN is not executable"
    printf '%s\n' "$PGDOLT_DOLTGRES_BIN"
    return 0
  fi
  bin="$(pgdolt_doltgres_cached_bin)"
  if [[ -x "$bin" ]]; then
    printf '%s\n' "$bin"
    return 0
  fi
  mkdir -p -- "$(dirname -- "$(dirname -- "$bin")")"
  lockfile="$(dirname -- "$(dirname -- "$bin")")/.build.lock"
  (
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$lockfile"
      if ! flock -n 9; then
        pgdolt_log "another doltgres build is running; waiting for it (lock $lockfile)..."
        flock 9
      fi
    fi
    if [[ ! -x "$bin" ]]; then
      pgdolt_doltgres_build "$bin"
    fi
  )
  [[ -x "$bin" ]] || pgdolt_die "doltgres binary missing after build: $bin"
  printf '%s\n' "$bin"
}

# Print the pid recorded for the Doltgres server in DIR if that process is
# alive and is a doltgres process; print nothing otherwise.
pgdolt_doltgres_pid() {
  local pidfile="$1/doltgres/doltgres.pid" pid
  [[ -f "$pidfile" ]] || return 0
  pid="$(tr -dc '0-9' <"$pidfile")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q doltgres; then
    printf '%s\n' "$pid"
  fi
}

# Print the listener port from the Doltgres config in DIR (empty if none).
pgdolt_doltgres_conf_port() {
  local conf="$1/doltgres/config.yaml"
  [[ -f "$conf" ]] || return 0
  sed -n 's/^  port: \([0-9]*\)$/\1/p' "$conf" | head -n 1
}

# Write DIR/doltgres/config.yaml for listener port PORT.
pgdolt_doltgres_write_conf() {
  local dir="$1" port="$2" home="$1/doltgres"
  cat >"$home/config.yaml" <<EOF
# Generated by scripts/lib/servers.sh (pgdolt). See \`doltgres --config-help\`.
log_level: info
behavior:
  read_only: false
  # pgdolt creates Dolt commits explicitly with dolt_commit().
  dolt_transaction_commit: false
listener:
  host: $PGDOLT_HOST
  port: $port
data_dir: $home/data
cfg_dir: $home/.doltcfg
auth_file: $home/.doltcfg/auth.db
EOF
}

# Run psql against the Doltgres server on PORT with the given extra args.
pgdolt_doltgres_psql() {
  local port="$1"
  shift
  PGPASSWORD="$PGDOLT_DOLTGRES_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -h "$PGDOLT_HOST" -p "$port" \
    -U "$PGDOLT_DOLTGRES_USER" -d "$PGDOLT_PG_DATABASE" "$@"
}

# Start (installing if needed) the Doltgres server in DIR; reuses a running
# one. Prints the port on stdout.
pgdolt_doltgres_start() {
  local dir="$1" home="$1/doltgres" bin pid port deadline logfile
  logfile="$home/doltgres.log"
  pid="$(pgdolt_doltgres_pid "$dir")"
  if [[ -n "$pid" ]]; then
    port="$(pgdolt_doltgres_conf_port "$dir")"
    pgdolt_log "doltgres: already running on $PGDOLT_HOST:$port, pid $pid (reusing)"
    printf '%s\n' "$port"
    return 0
  fi
  bin="$(pgdolt_doltgres_install)"
  mkdir -p -- "$home/data" "$home/.doltcfg" "$home/root/.dolt"
  # Dolt's global config (found via DOLT_ROOT_PATH): metrics.disabled stops the
  # usage event doltgres otherwise sends to dolthub on startup; default commit author.
  if [[ ! -f "$home/root/.dolt/config_global.json" ]]; then
    cat >"$home/root/.dolt/config_global.json" <<'EOF'
{"metrics.disabled":"true","user.name":"pgdolt","user.email":"pgdolt@localhost"}
EOF
  fi
  port="$(pgdolt_doltgres_conf_port "$dir")"
  if [[ -z "$port" ]] || ! pgdolt_port_is_free "$port"; then
    port="$(pgdolt_free_port)"
  fi
  pgdolt_doltgres_write_conf "$dir" "$port"

  pgdolt_log "doltgres: starting $PGDOLT_DOLTGRES_VERSION on $PGDOLT_HOST:$port (log $logfile)"
  (
    cd -- "$home" &&
      exec env -u DOLTGRES_DB -u DOLTGRES_DATA_DIR \
        DOLT_ROOT_PATH="$home/root" \
        DOLTGRES_USER="$PGDOLT_DOLTGRES_USER" DOLTGRES_PASSWORD="$PGDOLT_DOLTGRES_PASSWORD" \
        nohup "$bin" --config "$home/config.yaml" </dev/null >>"$logfile" 2>&1
  ) &
  pid=$!
  printf '%s\n' "$pid" >"$home/doltgres.pid"

  deadline=$(( SECONDS + ${PGDOLT_READY_TIMEOUT:-60} ))
  until pgdolt_doltgres_psql "$port" -tA -c 'select 1' >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f -- "$home/doltgres.pid"
      pgdolt_tail_log "$logfile"
      pgdolt_die "doltgres exited during startup"
    fi
    if (( SECONDS >= deadline )); then
      pgdolt_tail_log "$logfile"
      pgdolt_doltgres_stop "$dir" || true
      pgdolt_die "doltgres did not accept connections on $PGDOLT_HOST:$port within ${PGDOLT_READY_TIMEOUT:-60}s"
    fi
    sleep 0.5
  done
  pgdolt_log "doltgres: ready (pid $pid)"
  printf '%s\n' "$port"
}

# Stop the Doltgres server in DIR if running: SIGTERM, wait up to 30s, then SIGKILL.
pgdolt_doltgres_stop() {
  local dir="$1" pid i
  pid="$(pgdolt_doltgres_pid "$dir")"
  if [[ -z "$pid" ]]; then
    [[ -d "$dir/doltgres" ]] && pgdolt_log "doltgres: not running"
    rm -f -- "$dir/doltgres/doltgres.pid"
    return 0
  fi
  pgdolt_log "doltgres: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    pgdolt_log "doltgres: pid $pid ignored SIGTERM for 30s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
  fi
  rm -f -- "$dir/doltgres/doltgres.pid"
}

# ---------------------------------------------------------------------------
# Whole-directory operations
# ---------------------------------------------------------------------------

# Print the port of server NAME in DIR if it is running; print nothing otherwise.
pgdolt_server_port() {
  local dir="$1" name="$2"
  case "$name" in
    primary | pgreplica)
      [[ -e "$dir/$name" ]] || return 0
      local data
      data="$(pgdolt_pg_home "$dir" "$name")/data"
      if pgdolt_pg_running "$data"; then
        pgdolt_pg_conf_port "$data"
      fi
      ;;
    doltgres)
      if [[ -n "$(pgdolt_doltgres_pid "$dir")" ]]; then
        pgdolt_doltgres_conf_port "$dir"
      fi
      ;;
  esac
}

# If PostgreSQL server NAME in DIR has a TLS certificate, copy it to
# DIR/NAME-root.crt (readable by the tests) and print its export line
# (PGDOLT_<VAR>_SSLROOTCERT).
pgdolt_export_root_cert() {
  local dir="$1" name="$2" var="$3" data
  data="$(pgdolt_pg_home "$dir" "$name")/data"
  if pgdolt_as_pg test -f "$data/server.crt"; then
    pgdolt_as_pg cat "$data/server.crt" >"$dir/$name-root.crt"
    chmod 0644 "$dir/$name-root.crt"
    printf "export PGDOLT_%s_SSLROOTCERT='%s'\n" "$var" "$(pgdolt_abs_dir "$dir")/$name-root.crt"
  fi
}

# (Re)write DIR/servers.env with `export` lines for every running server in DIR;
# remove it when none is running.
pgdolt_write_env() {
  local dir="$1" port tmp any=0
  tmp="$(mktemp "$dir/.servers.env.XXXXXX")"
  echo "# Generated by scripts/servers.sh; source it to reach the pgdolt test servers." >"$tmp"
  echo "export PGDOLT_SERVERS_DIR='$(pgdolt_abs_dir "$dir")'" >>"$tmp"
  port="$(pgdolt_server_port "$dir" primary)"
  if [[ -n "$port" ]]; then
    any=1
    cat >>"$tmp" <<EOF
export PGDOLT_PRIMARY_HOST='$PGDOLT_HOST'
export PGDOLT_PRIMARY_PORT='$port'
export PGDOLT_PRIMARY_USER='$PGDOLT_PG_USER'
export PGDOLT_PRIMARY_PASSWORD='$PGDOLT_PG_PASSWORD'
export PGDOLT_PRIMARY_DATABASE='$PGDOLT_PG_DATABASE'
EOF
    pgdolt_export_root_cert "$dir" primary PRIMARY >>"$tmp"
  fi
  port="$(pgdolt_server_port "$dir" pgreplica)"
  if [[ -n "$port" ]]; then
    any=1
    cat >>"$tmp" <<EOF
export PGDOLT_PGREPLICA_HOST='$PGDOLT_HOST'
export PGDOLT_PGREPLICA_PORT='$port'
export PGDOLT_PGREPLICA_USER='$PGDOLT_PG_USER'
export PGDOLT_PGREPLICA_PASSWORD='$PGDOLT_PG_PASSWORD'
EOF
    pgdolt_export_root_cert "$dir" pgreplica PGREPLICA >>"$tmp"
  fi
  port="$(pgdolt_server_port "$dir" doltgres)"
  if [[ -n "$port" ]]; then
    any=1
    cat >>"$tmp" <<EOF
export PGDOLT_DOLTGRES_HOST='$PGDOLT_HOST'
export PGDOLT_DOLTGRES_PORT='$port'
export PGDOLT_DOLTGRES_USER='$PGDOLT_DOLTGRES_USER'
export PGDOLT_DOLTGRES_PASSWORD='$PGDOLT_DOLTGRES_PASSWORD'
EOF
    # The binary too, for tests that need a Doltgres of their own.
    local dg_bin="${PGDOLT_DOLTGRES_BIN:-$(pgdolt_doltgres_cached_bin)}"
    if [[ -x "$dg_bin" ]]; then
      echo "export PGDOLT_DOLTGRES_BIN='$dg_bin'" >>"$tmp"
    fi
  fi
  if (( any )); then
    chmod 0644 "$tmp"
    mv -f -- "$tmp" "$dir/servers.env"
  else
    rm -f -- "$tmp" "$dir/servers.env"
  fi
}

# Start the named servers (default: all) in DIR and write DIR/servers.env.
pgdolt_servers_start() {
  local dir="$1" name
  shift
  local names=("$@")
  (( ${#names[@]} > 0 )) || names=("${PGDOLT_ALL_SERVERS[@]}")
  for name in "${names[@]}"; do
    pgdolt_valid_server "$name" || pgdolt_die "unknown server '$name' (expected: ${PGDOLT_ALL_SERVERS[*]})"
  done
  dir="$(pgdolt_abs_dir "$dir")"
  for name in "${names[@]}"; do
    case "$name" in
      primary | pgreplica) pgdolt_pg_start "$dir" "$name" >/dev/null ;;
      doltgres) pgdolt_doltgres_start "$dir" >/dev/null ;;
    esac
  done
  pgdolt_write_env "$dir"
  pgdolt_log "servers up; environment: $dir/servers.env"
}

# Stop the named servers (default: all) in DIR and update DIR/servers.env.
# A missing DIR is not an error.
pgdolt_servers_stop() {
  local dir="$1" name rc=0
  shift
  local names=("$@")
  (( ${#names[@]} > 0 )) || names=("${PGDOLT_ALL_SERVERS[@]}")
  for name in "${names[@]}"; do
    pgdolt_valid_server "$name" || pgdolt_die "unknown server '$name' (expected: ${PGDOLT_ALL_SERVERS[*]})"
  done
  if [[ ! -d "$dir" ]]; then
    pgdolt_log "no servers directory $dir; nothing to stop"
    return 0
  fi
  dir="$(cd -- "$dir" && pwd -P)"
  for name in "${names[@]}"; do
    case "$name" in
      primary | pgreplica) (pgdolt_pg_stop "$dir" "$name") || rc=1 ;;
      doltgres) (pgdolt_doltgres_stop "$dir") || rc=1 ;;
    esac
  done
  pgdolt_write_env "$dir"
  return "$rc"
}

# Stop all servers in DIR and delete DIR, including PostgreSQL homes that were
# placed under ${TMPDIR:-/tmp} because the PG user could not reach DIR.
pgdolt_servers_clean() {
  local dir="$1" name target
  [[ -e "$dir" ]] || return 0
  pgdolt_servers_stop "$dir" || pgdolt_die "could not stop the servers in $dir; not deleting it"
  for name in primary pgreplica; do
    if [[ -L "$dir/$name" ]]; then
      target="$(readlink -f -- "$dir/$name" || true)"
      if [[ "$target" == "${TMPDIR:-/tmp}"/pgdolt-"$name".* ]]; then
        rm -rf -- "$target"
      fi
    fi
  done
  rm -rf -- "$dir"
  pgdolt_log "removed $dir"
}

# Print the state of every server in DIR; succeed only if all named servers
# (default: all) are running.
pgdolt_servers_status() {
  local dir="$1" name port rc=0
  shift
  local names=("$@")
  (( ${#names[@]} > 0 )) || names=("${PGDOLT_ALL_SERVERS[@]}")
  for name in "${names[@]}"; do
    pgdolt_valid_server "$name" || pgdolt_die "unknown server '$name' (expected: ${PGDOLT_ALL_SERVERS[*]})"
  done
  [[ -d "$dir" ]] && dir="$(cd -- "$dir" && pwd -P)"
  for name in "${names[@]}"; do
    port=""
    [[ -d "$dir" ]] && port="$(pgdolt_server_port "$dir" "$name")"
    if [[ -n "$port" ]]; then
      printf '%-10s running  %s:%s\n' "$name" "$PGDOLT_HOST" "$port"
    else
      printf '%-10s stopped\n' "$name"
      rc=3
    fi
  done
  return "$rc"
}
