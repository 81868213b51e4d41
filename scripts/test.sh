#!/usr/bin/env bash
# Runs every check and test of the workspace: formatting, clippy, unit and integration tests.
# Installs what it needs (Debian packages, as root) and starts a private MariaDB under ./state
# unless ARROWHEAD_TEST_DB_URL (or DATABASE_URL) names a server the tests may create databases on,
# e.g. ARROWHEAD_TEST_DB_URL=mysql://user:password@127.0.0.1:3306
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_packages
ensure_cargo
cd "$ROOT"

started_db=0
if [ -z "${ARROWHEAD_TEST_DB_URL:-}" ] && [ -n "${DATABASE_URL:-}" ]; then
  # A DATABASE_URL names a database; the tests need the server and create their own.
  export ARROWHEAD_TEST_DB_URL="$(printf '%s' "$DATABASE_URL" | sed -E 's#^(mysql://[^/]+).*#\1#')"
fi
if [ -z "${ARROWHEAD_TEST_DB_URL:-}" ]; then
  # The state folder is private (0700), as a home folder is: the database must start from it
  # whoever runs this (as root, MariaDB cannot drop to user mysql there).
  mkdir -p "$STATE_DIR" && chmod 0700 "$STATE_DIR"
  start_private_mariadb
  create_database_and_user
  started_db=1
  export ARROWHEAD_TEST_DB_URL="mysql://$DB_USER:$DB_PASSWORD@$DB_HOST:$DB_PORT"
fi
log "tests use the database server ${ARROWHEAD_TEST_DB_URL%%:*}://…@${ARROWHEAD_TEST_DB_URL##*@}"

log "cargo fmt --check"
cargo fmt --all -- --check
log "every system binary allocates with mimalloc"
# Without it nothing fails, only memory grows (common/src/alloc.rs): guard it here.
for main in "$ROOT"/*/src/main.rs; do
  grep -q 'common::web::run_main' "$main" || continue
  grep -q '^common::global_allocator!();' "$main" || die "$main does not call common::global_allocator!()"
done
log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
log "cargo test"
cargo test --workspace
log "OpenAPI documents"
"$ROOT/scripts/check-openapi.sh" "$ROOT/target/debug"
log "fuzzing: every endpoint from its OpenAPI document (schemathesis), the parsers (cargo fuzz)"
"$ROOT/scripts/fuzz-api.sh"
"$ROOT/scripts/fuzz-parsers.sh"
log "the README walk-through, on a fresh cloud"
"$ROOT/scripts/walkthrough.sh"
log "the two-cloud demo, on fresh clouds"
"$ROOT/scripts/check-two-clouds.sh"
log "the docker-compose deployment (images built from Debian packages)"
"$ROOT/scripts/check-compose.sh"
log "the scaled-out cloud: instances and a database node killed under load"
ARROWHEAD_SKIP_IMAGES=1 "$ROOT/scripts/check-scale.sh"

if [ "$started_db" = 1 ]; then
  # Databases of interrupted runs (a test that crashed before its fixture dropped it).
  for db in $(db_root -N -e "SHOW DATABASES LIKE 'ah\\_test\\_%'"); do db_root -e "DROP DATABASE \`$db\`"; done
fi
log "all checks passed"
