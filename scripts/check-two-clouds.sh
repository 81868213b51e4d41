#!/usr/bin/env bash
# Runs scripts/two-clouds.sh against fresh state of its own (a temporary folder, MariaDB on
# 3318 and 3319, the debug binaries) and checks that cloud A's consumer got cloud B's answer
# through both Gateways; then stops everything. Needs the standard ports, those 1000 higher and
# the relay's 61614/61617 free.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arrowhead-two-clouds.XXXXXX")"
export ARROWHEAD_STATE_DIR="$WORK/state" ARROWHEAD_CERT_DIR="$WORK/certificates"
export ARROWHEAD_DB_PORT=3318 ARROWHEAD_B_DB_PORT=3319
export ARROWHEAD_BUILD_PROFILE="${ARROWHEAD_BUILD_PROFILE:-debug}"
finish() {
  local rc=$?
  "$ROOT/scripts/two-clouds.sh" stop >/dev/null 2>&1 || true
  "$ROOT/scripts/stop.sh" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    echo "the two-cloud demo failed; logs:" >&2
    tail -n 15 "$WORK"/state/logs/gatekeeper.log "$WORK"/state/logs/gateway.log \
      "$WORK"/state/remotecloud/logs/gatekeeper.log "$WORK"/state/remotecloud/logs/gateway.log \
      "$WORK"/two-clouds.out 2>/dev/null >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT
mkdir -p "$ARROWHEAD_STATE_DIR" && chmod 0700 "$ARROWHEAD_STATE_DIR"
log "the two-cloud demo, on fresh clouds in $WORK"
"$ROOT/scripts/two-clouds.sh" > "$WORK/two-clouds.out" 2>&1
grep -q 'gateway answered 200: {"celsius":21.5,"askedBy":"gateway.remotecloud.operator.arrowhead.eu"}' "$WORK/two-clouds.out" \
  || die "cloud A's consumer did not get cloud B's answer through the Gateways"
grep 'orchestrated:\|answered' "$WORK/two-clouds.out"
log "the two-cloud demo works"
