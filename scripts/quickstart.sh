#!/usr/bin/env bash
#
# pgdolt quickstart: on this machine, start a PostgreSQL primary and a Doltgres
# replica (installing what is missing), build the job, run it on an embedded
# Flink (which first loads the existing rows as an initial snapshot), drive a
# small shop workload on the primary, and show the replica's Dolt history: the
# snapshot commit, one commit per source transaction, and a dolt_diff between
# two of them.
#
# usage: scripts/quickstart.sh [--keep]
#   --keep   leave the servers and the job running afterwards (stop them with
#            scripts/servers.sh stop target/quickstart and kill $(cat target/quickstart/job.pid))
#
# Everything lives in target/quickstart; the servers listen on free loopback ports.
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
QS_DIR="$REPO_ROOT/target/quickstart"
KEEP=0
JOB_PID=""

# shellcheck source=scripts/lib/servers.sh
source "$SCRIPT_DIR/lib/servers.sh"

# Print a step header.
step() {
  printf '\n==> %s\n' "$*"
}

# Stop the job and (unless --keep) the servers; keep the exit code.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if (( rc != 0 )); then
    pgdolt_log "quickstart failed (exit $rc); last lines of the job log:"
    pgdolt_tail_log "$QS_DIR/job.log" 40
  fi
  if (( KEEP == 0 )); then
    if [[ -n "$JOB_PID" ]] && kill -0 "$JOB_PID" 2>/dev/null; then
      kill "$JOB_PID" 2>/dev/null || true
      wait "$JOB_PID" 2>/dev/null || true
    fi
    pgdolt_servers_stop "$QS_DIR/servers" || true
  fi
  exit "$rc"
}

# psql against the primary's quickstart database.
primary_sql() {
  PGPASSWORD="$PGDOLT_PRIMARY_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 \
    -h "$PGDOLT_PRIMARY_HOST" -p "$PGDOLT_PRIMARY_PORT" -U "$PGDOLT_PRIMARY_USER" -d shop "$@"
}

# psql against the Doltgres replica's quickstart database.
replica_sql() {
  PGPASSWORD="$PGDOLT_DOLTGRES_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 \
    -h "$PGDOLT_DOLTGRES_HOST" -p "$PGDOLT_DOLTGRES_PORT" -U "$PGDOLT_DOLTGRES_USER" -d shop "$@"
}

main() {
  [[ "${1:-}" == "--keep" ]] && KEEP=1
  cd -- "$REPO_ROOT"
  command -v mvn >/dev/null 2>&1 || pgdolt_die "mvn not found: install Maven and a JDK 17"

  step "Starting a PostgreSQL primary and a Doltgres replica (first run builds Doltgres: ~6 min)"
  pgdolt_servers_clean "$QS_DIR/servers"
  mkdir -p "$QS_DIR"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  pgdolt_servers_start "$QS_DIR/servers" primary doltgres
  # shellcheck disable=SC1091
  source "$QS_DIR/servers/servers.env"

  step "Building the job jar"
  mvn -B -q -DskipTests -DskipITs package
  local jar
  jar="$(ls "$REPO_ROOT"/target/pgdolt-*.jar | grep -v original | head -n 1)"
  echo "built $jar"

  step "Creating the shop schema on both sides, a publication and a replication slot"
  local ddl="
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text);
    CREATE TABLE products (sku text PRIMARY KEY, title text NOT NULL, price numeric(10,2) NOT NULL, stock int NOT NULL);
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, sku text NOT NULL,
                         qty int NOT NULL, placed_at timestamptz NOT NULL);"
  PGPASSWORD="$PGDOLT_PRIMARY_PASSWORD" psql -X -q -h "$PGDOLT_PRIMARY_HOST" -p "$PGDOLT_PRIMARY_PORT" \
    -U "$PGDOLT_PRIMARY_USER" -d postgres -c "CREATE DATABASE shop"
  PGPASSWORD="$PGDOLT_DOLTGRES_PASSWORD" psql -X -q -h "$PGDOLT_DOLTGRES_HOST" -p "$PGDOLT_DOLTGRES_PORT" \
    -U "$PGDOLT_DOLTGRES_USER" -d postgres -c "CREATE DATABASE shop"
  primary_sql -c "$ddl" \
    -c "CREATE PUBLICATION shop_pub FOR TABLE customers, products, orders" \
    -c "SELECT 'slot created at ' || lsn FROM pg_create_logical_replication_slot('shop_slot', 'pgoutput')" -t
  replica_sql -c "$ddl"

  step "Writing the job configuration ($QS_DIR/pgdolt.yaml)"
  cat >"$QS_DIR/pgdolt.yaml" <<YAML
# Doltgres's own replication stanza...
postgres_replication:
  postgres_server_address: $PGDOLT_PRIMARY_HOST
  postgres_port: $PGDOLT_PRIMARY_PORT
  postgres_user: $PGDOLT_PRIMARY_USER
  postgres_password: \${PRIMARY_PASSWORD}
  postgres_database: shop
  slot_name: shop_slot
  publication_name: shop_pub
behavior:
  dolt_transaction_commit: true
# ...and ours.
replica:
  kind: doltgres
  url: jdbc:postgresql://$PGDOLT_DOLTGRES_HOST:$PGDOLT_DOLTGRES_PORT/shop
  user: $PGDOLT_DOLTGRES_USER
  password: \${REPLICA_PASSWORD}
  author: pgdolt quickstart <quickstart@pgdolt.local>
pipeline:
  id: quickstart
  checkpoint_interval: 1s
YAML
  cat "$QS_DIR/pgdolt.yaml"

  step "Rows that exist before the job starts (the initial snapshot will load them)"
  primary_sql <<'SQL'
INSERT INTO products VALUES ('TEA-1', 'Green tea', 4.50, 100), ('MUG-2', 'Mug "Dolt"', 9.90, 20);
INSERT INTO customers VALUES (1, 'Ada O''Neill', 'ada@example.com');
SQL
  echo "2 products, 1 customer"

  step "Starting the job on an embedded Flink (java -jar; log: $QS_DIR/job.log)"
  PRIMARY_PASSWORD="$PGDOLT_PRIMARY_PASSWORD" REPLICA_PASSWORD="$PGDOLT_DOLTGRES_PASSWORD" \
    java -Xmx1g -jar "$jar" run --config "$QS_DIR/pgdolt.yaml" >"$QS_DIR/job.log" 2>&1 &
  JOB_PID=$!
  echo "$JOB_PID" >"$QS_DIR/job.pid"
  echo "job pid $JOB_PID"

  step "Waiting for the initial snapshot commit"
  local i snapshot=""
  for ((i = 0; i < 180; i++)); do
    snapshot="$(replica_sql -At -c "SELECT split_part(message, E'\n', 1) FROM dolt_log WHERE message LIKE 'pgdolt: initial snapshot%'" 2>/dev/null || true)"
    [[ -n "$snapshot" ]] && break
    kill -0 "$JOB_PID" 2>/dev/null || pgdolt_die "the job exited; see $QS_DIR/job.log"
    sleep 1
  done
  [[ -n "$snapshot" ]] || pgdolt_die "no snapshot commit within 180 s; see $QS_DIR/job.log"
  echo "$snapshot"

  step "Running a small shop workload on the primary (5 transactions)"
  primary_sql <<'SQL'
BEGIN;
INSERT INTO orders VALUES (1, 1, 'TEA-1', 3, now());
UPDATE products SET stock = stock - 3 WHERE sku = 'TEA-1';
COMMIT;
BEGIN;
INSERT INTO customers VALUES (2, 'Grace 🚀', NULL);
INSERT INTO orders VALUES (2, 2, 'MUG-2', 1, now());
UPDATE products SET stock = stock - 1 WHERE sku = 'MUG-2';
COMMIT;
UPDATE products SET price = 5.25 WHERE sku = 'TEA-1';
BEGIN;
DELETE FROM orders WHERE id = 1;
UPDATE products SET stock = stock + 3 WHERE sku = 'TEA-1';
UPDATE customers SET email = 'grace@example.com' WHERE id = 2;
COMMIT;
INSERT INTO products VALUES ('PEN-3', 'Pen', 1.20, 500);
SQL
  local last_xid
  last_xid="$(primary_sql -At -c "SELECT xmin FROM products WHERE sku = 'PEN-3'")"
  echo "last transaction: xid $last_xid"

  step "Waiting for the replica to apply xid $last_xid"
  local applied=""
  for ((i = 0; i < 180; i++)); do
    applied="$(replica_sql -At -c "SELECT xid FROM pgdolt_progress WHERE pipeline_id = 'quickstart'" 2>/dev/null || true)"
    [[ "$applied" == "$last_xid" ]] && break
    kill -0 "$JOB_PID" 2>/dev/null || pgdolt_die "the job exited; see $QS_DIR/job.log"
    sleep 1
  done
  [[ "$applied" == "$last_xid" ]] || pgdolt_die "replica did not catch up within 180 s (at xid '${applied:-none}')"
  echo "replica caught up"

  step "The replica's Dolt history: the snapshot, then one commit per source transaction"
  replica_sql -c "SELECT commit_hash, committer, date, split_part(message, E'\n', 1) AS message FROM dolt_log LIMIT 7"

  step "dolt_diff of the products table between the 1st and the 5th replicated transaction"
  local first fifth
  # dolt_log lists the newest commit first: the oldest of our five commits is the fifth row.
  first="$(replica_sql -At -c "SELECT commit_hash FROM dolt_log WHERE message LIKE 'pgdolt: xid %' LIMIT 1 OFFSET 4")"
  fifth="$(replica_sql -At -c "SELECT commit_hash FROM dolt_log LIMIT 1")"
  replica_sql -c "SELECT diff_type, from_sku, from_price, from_stock, to_sku, to_price, to_stock FROM dolt_diff('$first', '$fifth', 'products')"

  step "The same table AS OF the first replicated transaction, and now"
  replica_sql -c "SELECT * FROM products AS OF '$first' ORDER BY sku" -c "SELECT * FROM products ORDER BY sku"

  if (( KEEP == 1 )); then
    step "Left running (--keep): job pid $JOB_PID, servers in $QS_DIR/servers"
    cat "$QS_DIR/servers/servers.env"
  else
    step "Done; stopping the job and the servers"
  fi
}

main "$@"
