#!/usr/bin/env bash
# Stops what quickstart.sh started: every core system, then the private MariaDB.
# Data and certificates stay; quickstart.sh brings everything back.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for pidfile in "$STATE_DIR"/run/*.pid; do
  [ -f "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
done
if db_ping; then
  log "stopping the private MariaDB"
  stop_private_mariadb
fi
