#!/usr/bin/env bash
# Validates every core system's OpenAPI document with a pinned openapi-spec-validator (from
# PyPI, in a private virtualenv under the state folder). The documents come from the binaries
# themselves (`<system> --openapi`), so what is checked is exactly what Swagger shows.
# Usage: scripts/check-openapi.sh [target/debug|target/release]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VALIDATOR_VERSION=0.7.1
BIN_DIR="${1:-$ROOT/target/debug}"
VENV="$STATE_DIR/python"
SYSTEMS=(serviceregistry authorization orchestrator eventhandler certificate-authority onboarding deviceregistry systemregistry gatekeeper gateway)

if ! "$VENV/bin/pip" show openapi-spec-validator 2>/dev/null | grep -x "Version: $VALIDATOR_VERSION" >/dev/null; then
  log "installing openapi-spec-validator $VALIDATOR_VERSION into $VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "python3 -m venv failed; run: sudo apt-get install -y python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q "openapi-spec-validator==$VALIDATOR_VERSION"
fi

out="$STATE_DIR/openapi"
mkdir -p "$out"
for s in "${SYSTEMS[@]}"; do
  [ -x "$BIN_DIR/$s" ] || (cd "$ROOT" && cargo build -q --bin "$s")
  "$BIN_DIR/$s" --openapi > "$out/$s.json"
  "$VENV/bin/openapi-spec-validator" "$out/$s.json"
done
log "every OpenAPI document is valid (openapi-spec-validator $VALIDATOR_VERSION)"
