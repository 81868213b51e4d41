#!/usr/bin/env bash
# Property-based fuzzing of every endpoint of every core system from its own OpenAPI document:
# schemathesis (pinned, from PyPI, in a virtualenv under ./state) sends generated requests,
# valid and invalid, with the sysop certificate to a fresh cloud of its own (a quickstart cloud
# in a temporary folder, MariaDB on 3320, ports 2000 above the standard ones, debug binaries),
# and checks that no answer is a 500/502, that every 4xx/5xx is Arrowhead error JSON, that the
# answers match the documented schemas, status codes and content types, and that every system
# still answers afterwards. ARROWHEAD_FUZZ_EXAMPLES (25) bounds the examples per
# operation; ARROWHEAD_FUZZ_SEED (1) makes a run repeatable.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEMATHESIS_VERSION=3.39.16
# schemathesis 3.39 breaks on newer hypothesis releases ('many' object has no attribute 'more').
HYPOTHESIS_VERSION=6.112.0
EXAMPLES="${ARROWHEAD_FUZZ_EXAMPLES:-25}"
SEED="${ARROWHEAD_FUZZ_SEED:-1}"
OFFSET=2000
VENV="$STATE_DIR/fuzz-venv"

ensure_packages
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION" \
    || ! "$VENV/bin/pip" show hypothesis 2>/dev/null | grep -q "^Version: $HYPOTHESIS_VERSION$"; then
  log "installing schemathesis $SCHEMATHESIS_VERSION (hypothesis $HYPOTHESIS_VERSION) into $VENV"
  mkdir -p "$STATE_DIR"
  python3 -m venv "$VENV" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/arrowhead-fuzz.XXXXXX")"
export ARROWHEAD_STATE_DIR="$WORK/state" ARROWHEAD_CERT_DIR="$WORK/certificates"
export ARROWHEAD_DB_PORT=3320 ARROWHEAD_PORT_OFFSET=$OFFSET
export ARROWHEAD_BUILD_PROFILE="${ARROWHEAD_BUILD_PROFILE:-debug}"
finish() {
  local rc=$?
  "$ROOT/scripts/stop.sh" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$WORK"/state/logs/*.log 2>/dev/null >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT
mkdir -p "$ARROWHEAD_STATE_DIR" && chmod 0700 "$ARROWHEAD_STATE_DIR"
log "a fresh cloud to fuzz, in $WORK"
"$ROOT/scripts/quickstart.sh" >"$WORK/quickstart.out" 2>&1 || { cat "$WORK/quickstart.out" >&2; die "quickstart failed"; }

CA="$ARROWHEAD_CERT_DIR/master.crt"
echo_ok() {
  curl -sf --max-time 5 --cert "$ARROWHEAD_CERT_DIR/sysop.chain.pem" --key "$ARROWHEAD_CERT_DIR/sysop.key" \
    --cacert "$CA" "https://localhost:$1/$2/echo" >/dev/null
}
# The Service Registry last: deleting its entries makes the others' lookups fail (503, rightly).
SYSTEMS=(authorization:8445 orchestrator:8441 eventhandler:8455 certificate-authority:8448 onboarding:8435 deviceregistry:8439 systemregistry:8437 gatekeeper:8449 gateway:8453 serviceregistry:8443)
# As the operator (management endpoints) and as a core system (client and private endpoints).
CALLERS=(sysop orchestrator)
total_ops=0 total_calls=0 failed=0
for entry in "${SYSTEMS[@]}"; do
  name=${entry%%:*} port=$(( ${entry##*:} + OFFSET ))
  for caller in "${CALLERS[@]}"; do
    out="$WORK/fuzz-$name-$caller.out"
    log "fuzzing $name (port $port) as $caller, up to $EXAMPLES examples per operation"
    if ! PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=fuzz_checks "$VENV/bin/st" run \
        "https://localhost:$port/api-docs/openapi.json" --base-url "https://localhost:$port" \
        --experimental=openapi-3.1 -D all \
        --checks no_internal_error,error_json,response_schema_conformance,status_code_conformance,content_type_conformance \
        --hypothesis-max-examples "$EXAMPLES" --hypothesis-seed "$SEED" \
        --hypothesis-suppress-health-check all --hypothesis-derandomize \
        --request-cert "$ARROWHEAD_CERT_DIR/$caller.chain.pem" --request-cert-key "$ARROWHEAD_CERT_DIR/$caller.key" \
        --request-tls-verify "$CA" --request-timeout 30000 --no-color --show-trace >"$out" 2>&1; then
      failed=1
      sed -n '/FAILURES\|ERRORS/,$p' "$out" | head -n 80 >&2
    fi
    ops=$(grep -aoE 'Collected API operations: [0-9]+' "$out" | grep -oE '[0-9]+$' || echo 0)
    calls=$(grep -aE '^ +no_internal_error +[0-9]+ / [0-9]+' "$out" | grep -oE '/ [0-9]+' | tr -dc '0-9' || true)
    echo "  $name as $caller: ${ops:-0} operations, ${calls:-0} requests checked"
    total_ops=$(( total_ops + ${ops:-0} )) total_calls=$(( total_calls + ${calls:-0} ))
    echo_ok "$port" "$name" || { failed=1; echo "$name does not answer after fuzzing" >&2; }
  done
done
[ "$failed" = 0 ] || die "fuzzing found failures (see above)"
log "fuzzing passed: $total_ops operations, $total_calls requests; no 500/502, every error is Arrowhead JSON, every system still answers"
