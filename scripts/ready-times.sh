#!/usr/bin/env bash
# How fast each core system of a running ./scripts/quickstart.sh cloud is ready: restarts the
# systems one at a time with their quickstart configuration and prints, per system, the time from
# start until /echo answers over mTLS (sysop certificate), and its resident memory 1 s later.
# Usage: ./scripts/ready-times.sh   (after ./scripts/quickstart.sh; the cloud keeps running)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CERT_DIR="${ARROWHEAD_CERT_DIR:-$ROOT/certificates}"
BIN="$ROOT/target/${ARROWHEAD_BUILD_PROFILE:-release}"
RUN_DIR="$STATE_DIR/run" LOG_DIR="$STATE_DIR/logs" CONF_DIR="$STATE_DIR/config"
[ -d "$RUN_DIR" ] || die "no cloud in $STATE_DIR: run ./scripts/quickstart.sh first"
for pidfile in "$RUN_DIR"/*.pid; do
  name=$(basename "$pidfile" .pid)
  port=$(sed -n 's/^server\.port=//p' "$CONF_DIR/$name.properties" | tail -1)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  fi
  start=$(date +%s%N)
  nohup "$BIN/$name" --config "$CONF_DIR/$name.properties" >"$LOG_DIR/$name.out" 2>&1 &
  pid=$!
  echo "$pid" > "$pidfile"
  ready=
  for _ in $(seq 1 2000); do
    if curl -sf --max-time 2 --cert "$CERT_DIR/sysop.chain.pem" --key "$CERT_DIR/sysop.key" \
      --cacert "$CERT_DIR/master.crt" "https://localhost:$port/$name/echo" >/dev/null 2>&1; then
      ready=$(( ($(date +%s%N) - start) / 1000000 ))
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
  done
  [ -n "$ready" ] || die "$name did not answer /echo; log: $LOG_DIR/$name.log"
  sleep 1
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  printf '%-22s ready %5d ms   idle RSS %5d.%d MB\n' "$name" "$ready" $((rss / 1024)) $((rss % 1024 * 10 / 1024))
done
