#!/usr/bin/env bash
#
# Ensure the pinned Doltgres (v1.3.3) binary is installed and print its path on
# stdout. The first run builds it with `go install` into
# ${PGDOLT_CACHE:-$HOME/.cache/pgdolt}/doltgres-v1.3.3/bin/doltgres (~15 min);
# later runs return immediately. Progress goes to stderr.
# Set PGDOLT_DOLTGRES_BIN to use an existing binary instead.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib/servers.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/servers.sh"

pgdolt_doltgres_install
