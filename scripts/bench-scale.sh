#!/usr/bin/env bash
# Request rate of the scaled-out cloud (docker/docker-compose.scale.yml) with three instances of
# each system and with one, measured in one run by arrowhead-bench through the load balancer:
# registry queries and dynamic orchestration. Needs the images (scripts/docker-images.sh) and
# the ports 8441, 8443, 8445 and 8455 free. Settings: ARROWHEAD_BENCH_SECONDS (5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPOSE_FILE="$ROOT/docker/docker-compose.scale.yml" PROJECT=arrowhead-scale
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }
CERTS="$ROOT/docker/certificates-scale"
SECONDS_PER_PHASE="${ARROWHEAD_BENCH_SECONDS:-5}"
trap 'compose down -v --remove-orphans >/dev/null 2>&1 || true' EXIT

cargo build --release -q -p bench
# check-scale.sh makes the certificates (and checks the cloud); run it first if they are absent.
[ -f "$CERTS/benchprovider.p12" ] || ARROWHEAD_SKIP_IMAGES=1 ARROWHEAD_SCALE_LOAD_SECONDS=9 "$ROOT/scripts/check-scale.sh" >/dev/null
compose down -v --remove-orphans >/dev/null 2>&1 || true
compose up -d >/dev/null 2>&1
want=$(( $(compose config --services | wc -l) - 1 ))
for _ in $(seq 1 300); do
  [ "$(docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Status}}' | grep -c '(healthy)' || true)" -ge "$want" ] && break
  sleep 0.5
done
bench() {
  "$ROOT/target/release/arrowhead-bench" --url https://localhost:8443 --orch-url https://localhost:8441 \
    --auth-url https://localhost:8445 --certs "$CERTS" --connections 16 --seconds "$SECONDS_PER_PHASE" \
    --entries 2000 "$@" 2>&1 | grep -E 'req/s|maximum|half' || true
}
log "three instances of each system"
bench --only query
bench --only orchestration:dynamic
log "one instance of each system (the others stopped)"
docker stop $(for s in serviceregistry authorization orchestrator eventhandler; do for i in 2 3; do echo "${PROJECT}_$s-${i}_1"; done; done) >/dev/null
sleep 3
bench --only query
bench --only orchestration:dynamic
