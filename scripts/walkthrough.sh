#!/usr/bin/env bash
# Runs the README walk-through literally against a fresh cloud of its own, and checks what it
# printed. The cloud is a quickstart cloud with its own state folder, MariaDB (on
# ARROWHEAD_WALKTHROUGH_DB_PORT, default 3317) and certificates in a temporary folder; the core
# systems use their standard ports (8443, 8445, 8441, 8455, 8448, 8435, 8439, 8437, 8449, 8453) and the examples 9001 and 9002, so
# nothing else may be listening there (stop a quickstart cloud first: ./scripts/stop.sh).
# ARROWHEAD_BUILD_PROFILE (debug here) picks the binaries; the README's ./target/release points
# at them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export ARROWHEAD_BUILD_PROFILE="${ARROWHEAD_BUILD_PROFILE:-debug}"
for port in 8443 8445 8441 8455 8448 8435 8439 8437 8449 8453 9001 9002; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use; the walk-through needs the standard ports (stop a running cloud: ./scripts/stop.sh)"
  fi
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arrowhead-walkthrough.XXXXXX")"
export ARROWHEAD_STATE_DIR="$WORK/state" ARROWHEAD_CERT_DIR="$WORK/certificates"
export ARROWHEAD_DB_PORT="${ARROWHEAD_WALKTHROUGH_DB_PORT:-3317}"
finish() {
  local rc=$?
  # Whatever the walk-through left running, then the cloud and its database.
  pkill -f "$WORK/target/release/example-" 2>/dev/null || true
  "$ROOT/scripts/stop.sh" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    echo "walk-through failed; the cloud's logs:" >&2
    tail -n 20 "$WORK"/state/logs/*.log "$WORK"/*.log 2>/dev/null >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT

log "starting a fresh cloud for the walk-through in $WORK"
"$ROOT/scripts/quickstart.sh" >"$WORK/quickstart.out" 2>&1 || { cat "$WORK/quickstart.out" >&2; die "quickstart failed"; }

# The walk-through's working directory: certificates/ and target/release/ as in a checkout.
mkdir -p "$WORK/target"
ln -s "$ROOT/target/$ARROWHEAD_BUILD_PROFILE" "$WORK/target/release"
ln -s "$ARROWHEAD_CERT_DIR" "$WORK/certificates"
awk '/<!-- walkthrough:start -->/ {on=1; next} /<!-- walkthrough:end -->/ {on=0}
     on && /^```sh/ {block=1; next} on && /^```/ {block=0; next} on && block {print}' \
  "$ROOT/README.md" > "$WORK/walkthrough.sh"
[ -s "$WORK/walkthrough.sh" ] || die "no walk-through found in README.md"

log "running the README walk-through ($(wc -l < "$WORK/walkthrough.sh") lines)"
(cd "$WORK" && timeout 300 bash -euo pipefail walkthrough.sh) 2>&1 | tee "$WORK/walkthrough.out"

expect() {
  grep -q -- "$1" "$WORK/walkthrough.out" || die "the walk-through did not print '$1'"
}
expect '"provider":"thermometer","address":"127.0.0.1","port":9001,"serviceUri":"/temperature"'
expect '{"provider":"thermometer","serviceUri":"/temperature"}'
expect '"celsius":21.5,"askedBy":"dashboard.localcloud.operator.arrowhead.eu"'
expect 'orchestrated: thermometer at https://127.0.0.1:9001/temperature'
expect 'thermometer answered 200'
expect '^event temperature_changed at 20[0-9-]*T[0-9:]*Z: "22.0" {"unit":"celsius"}$'
expect 'onboarded: hygrometer.localcloud.operator.arrowhead.eu'
expect 'registered service humidity'
expect '{"commonName":"greenhouse-1.localcloud.operator.arrowhead.eu","createdBy":"onboardingcontroller.localcloud.operator.arrowhead.eu","status":"GOOD"}'
expect '{"commonName":"greenhouse-1.localcloud.operator.arrowhead.eu","createdBy":"deviceregistry.localcloud.operator.arrowhead.eu","status":"GOOD"}'
expect '{"commonName":"hygrometer.localcloud.operator.arrowhead.eu","createdBy":"systemregistry.localcloud.operator.arrowhead.eu","status":"GOOD"}'
expect '{"system":"hygrometer","device":"greenhouse-1"}'
log "the README walk-through works"
