#!/usr/bin/env bash
#
# Start/stop/inspect the throwaway database servers used by pgdolt tests:
#   primary    PostgreSQL 15, wal_level=logical (the replication source)
#   pgreplica  PostgreSQL 15 (a plain PostgreSQL target)
#   doltgres   Doltgres v1.3.3 (the Dolt-backed target; built on first use)
#
# Usage:
#   scripts/servers.sh start  DIR [primary|pgreplica|doltgres ...]   (default: all)
#   scripts/servers.sh stop   DIR [primary|pgreplica|doltgres ...]   (default: all)
#   scripts/servers.sh status DIR [primary|pgreplica|doltgres ...]
#   scripts/servers.sh env    DIR      print DIR/servers.env
#   scripts/servers.sh clean  DIR      stop everything and delete DIR (all data)
#
# `start` writes DIR/servers.env (export lines for every running server):
#   PGDOLT_PRIMARY_{HOST,PORT,USER,PASSWORD,DATABASE}
#   PGDOLT_PGREPLICA_{HOST,PORT,USER,PASSWORD}
#   PGDOLT_DOLTGRES_{HOST,PORT,USER,PASSWORD}
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib/servers.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/servers.sh"

# Print usage to stderr.
usage() {
  sed -n '3,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# Dispatch the sub-command.
main() {
  if (( $# < 2 )); then
    usage
    exit 2
  fi
  local cmd="$1" dir="$2"
  shift 2
  case "$cmd" in
    start) pgdolt_servers_start "$dir" "$@" ;;
    stop) pgdolt_servers_stop "$dir" "$@" ;;
    status) pgdolt_servers_status "$dir" "$@" ;;
    clean) pgdolt_servers_clean "$dir" ;;
    env)
      [[ -f "$dir/servers.env" ]] || pgdolt_die "no $dir/servers.env (are the servers started?)"
      cat -- "$dir/servers.env"
      ;;
    -h | --help | help) usage ;;
    *)
      usage
      exit 2
      ;;
  esac
}

main "$@"
