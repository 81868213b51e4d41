#!/usr/bin/env bash
# Shared helpers for the operator scripts: package installation and a private MariaDB
# instance whose data, socket, pid and log live under the state folder, so nothing on the
# host (a system MariaDB, systemd) is needed or touched. Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${ARROWHEAD_STATE_DIR:-$ROOT/state}"
DB_HOST=127.0.0.1
DB_PORT="${ARROWHEAD_DB_PORT:-3306}"
DB_NAME="${ARROWHEAD_DB_NAME:-arrowhead}"
DB_USER="${ARROWHEAD_DB_USER:-arrowhead}"
DB_PASSWORD="${ARROWHEAD_DB_PASSWORD:-arrowhead}"
DB_DIR="$STATE_DIR/mariadb"

# mariadbd and mariadb-install-db live in /usr/sbin, which is not on every user's PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build and the database need. Installs them when running as root;
# otherwise names exactly what to install.
ensure_packages() {
  local missing=()
  command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
  command -v mariadb-install-db >/dev/null 2>&1 || missing+=(mariadb-server)
  pkg-config --exists mysqlclient 2>/dev/null || missing+=(default-libmysqlclient-dev)
  pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # jq: the README walk-through reads ids out of answers with it.
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  # The openssl command: a test resumes a TLS session with s_client.
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  # The /usr/bin/kill binary (not the shell builtin): tests stop systems with SIGTERM.
  [ -x /usr/bin/kill ] || [ -x /bin/kill ] || missing+=(procps)
  # ActiveMQ (with Java and keytool): the inter-cloud relay the relay tests start privately.
  [ -f /usr/share/activemq/bin/activemq.jar ] || missing+=(activemq)
  command -v keytool >/dev/null 2>&1 || missing+=(activemq)
  # javac: the relay interop test compiles a small Java OpenWire peer.
  command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages; run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_cargo() {
  command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] || die "cargo not found: install Rust (https://rustup.rs) first"
  command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
}

# Whether user mysql can reach $1: every folder above it must let it pass.
mysql_can_use() {
  id mysql >/dev/null 2>&1 || return 1
  if command -v runuser >/dev/null 2>&1; then
    runuser -u mysql -- sh -c 'cd "$1"' _ "$1" 2>/dev/null
  else
    su -s /bin/sh mysql -c "cd '$1'" 2>/dev/null
  fi
}

db_ping() { mariadb-admin --protocol=socket --socket="$DB_DIR/mysqld.sock" -uroot ping >/dev/null 2>&1; }

# Starts (or reuses) the private MariaDB on loopback. Idempotent.
start_private_mariadb() {
  mkdir -p "$STATE_DIR"
  if db_ping; then return 0; fi
  local as_user=()
  mkdir -p "$DB_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    # As root, MariaDB normally drops to user mysql, which cannot enter a private folder
    # (a clone under /root or any 0700 home). Then it runs as root: it is a private database
    # on loopback, and its files stay in the folder of the one who started it.
    if mysql_can_use "$DB_DIR"; then
      as_user=(--user=mysql)
      chown -R mysql:mysql "$DB_DIR"
    else
      as_user=(--user=root)
    fi
  fi
  if [ ! -d "$DB_DIR/mysql" ]; then
    log "initialising private MariaDB in $DB_DIR"
    mariadb-install-db "${as_user[@]}" --datadir="$DB_DIR" --auth-root-authentication-method=socket \
      --skip-test-db >"$STATE_DIR/mariadb-install.log" 2>&1 || die "mariadb-install-db failed, see $STATE_DIR/mariadb-install.log"
  fi
  log "starting private MariaDB on $DB_HOST:$DB_PORT"
  # innodb_flush_log_at_trx_commit=2: a local-cloud development database trades the last second
  # of commits on an OS crash for far faster writes; set it to 1 for production data.
  nohup mariadbd --no-defaults "${as_user[@]}" --datadir="$DB_DIR" --port="$DB_PORT" --bind-address="$DB_HOST" \
    --socket="$DB_DIR/mysqld.sock" --pid-file="$DB_DIR/mysqld.pid" --log-error="$DB_DIR/mariadb.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci --max-connections=500 \
    --innodb-flush-log-at-trx-commit=2 --skip-name-resolve >/dev/null 2>&1 &
  for _ in $(seq 1 100); do db_ping && break; sleep 0.1; done
  db_ping || die "MariaDB did not start, see $DB_DIR/mariadb.log"
}

db_root() { mariadb --protocol=socket --socket="$DB_DIR/mysqld.sock" -uroot "$@"; }

# Creates the database and the application user. The user may also create and drop the
# per-run test databases (ah_test_*).
create_database_and_user() {
  db_root -e "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;
    CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
    CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
    GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
    GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON \`ah\\_test\\_%\`.* TO '$DB_USER'@'localhost';
    GRANT ALL PRIVILEGES ON \`ah\\_test\\_%\`.* TO '$DB_USER'@'127.0.0.1';
    FLUSH PRIVILEGES;"
}

stop_private_mariadb() {
  local pid
  pid=$(cat "$DB_DIR/mysqld.pid" 2>/dev/null || true)
  if db_ping; then
    # mariadb-admin waits for the server's pid file to go; seen waiting on after the server had
    # stopped, so it gets a bound, and the process is checked (and ended) directly.
    timeout 30 mariadb-admin --protocol=socket --socket="$DB_DIR/mysqld.sock" -uroot shutdown >/dev/null 2>&1 || true
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}
