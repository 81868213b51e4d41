#!/usr/bin/env bash
# The docker-compose deployment, tested for real: builds the images (scripts/docker-images.sh),
# starts docker/docker-compose.yml from nothing, waits until every container is healthy, then
# runs the core flow through the published ports: a provider registers, the sysop adds a rule,
# a consumer orchestrates and gets a token, an event is published and delivered (to a subscriber
# on the Docker host), a device onboards (from a container on the compose network, where the
# registries' service names resolve). `down -v` must leave no container, volume or network.
# Needs the standard ports and 9002 free.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPOSE_FILE="$ROOT/docker/docker-compose.yml" PROJECT=arrowhead
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }
CERTS="$ROOT/docker/certificates"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/arrowhead-compose.XXXXXX")"
finish() {
  local rc=$?
  pkill -f "$ROOT/target/release/example-consumer --certificates $CERTS" 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    echo "the compose check failed; the containers' last words:" >&2
    compose ps >&2 || true
    compose logs --tail=15 >&2 2>/dev/null || true
  fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT

"$ROOT/scripts/docker-images.sh"
cargo build --release -q --bin example-consumer --bin arrowhead-onboard
"$ROOT/target/release/arrowhead-certgen" --out "$CERTS" --cloud localcloud --operator operator \
  --host host.docker.internal --system thermometer --system dashboard >/dev/null
chmod -R a+rX "$CERTS"

compose down -v --remove-orphans >/dev/null 2>&1 || true
log "docker compose up (a cold start: new database volume)"
started=$(date +%s%3N)
compose up -d >/dev/null 2>&1
services=$(compose config --services | wc -l)
healthy=0
for _ in $(seq 1 600); do
  healthy=$(docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Status}}' | grep -c '(healthy)' || true)
  [ "$healthy" = "$services" ] && break
  sleep 0.2
done
[ "$healthy" = "$services" ] || die "only $healthy of $services containers became healthy"
elapsed=$(( $(date +%s%3N) - started ))
log "all $services containers healthy $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s after up"

AS() { curl -sS --fail-with-body --cert "$CERTS/$1.chain.pem" --key "$CERTS/$1.key" \
         --cacert "$CERTS/master.crt" -H 'Content-Type: application/json' "${@:2}"; }
key() { grep -v -- ----- "$CERTS/$1.pub" | tr -d '\n'; }

log "a provider registers, the sysop adds a rule, a consumer orchestrates and gets a token"
REGISTERED=$(AS thermometer https://localhost:8443/serviceregistry/register -d '{
  "serviceDefinition": "temperature", "serviceUri": "/temperature", "secure": "TOKEN",
  "interfaces": ["HTTP-SECURE-JSON"], "providerSystem": {"systemName": "thermometer",
  "address": "127.0.0.1", "port": 9001, "authenticationInfo": "'"$(key thermometer)"'"}}')
DASHBOARD_ID=$(AS dashboard https://localhost:8443/serviceregistry/register-system -d '{
  "systemName": "dashboard", "address": "host.docker.internal", "port": 9002,
  "authenticationInfo": "'"$(key dashboard)"'"}' | jq .id)
AS sysop https://localhost:8445/authorization/mgmt/intracloud -d '{"consumerId": '"$DASHBOARD_ID"',
  "providerIds": ['"$(echo "$REGISTERED" | jq .provider.id)"'], "serviceDefinitionIds": ['"$(echo "$REGISTERED" | jq .serviceDefinition.id)"'],
  "interfaceIds": ['"$(echo "$REGISTERED" | jq '.interfaces[0].id')"']}' >/dev/null
ORCHESTRATED=$(AS dashboard https://localhost:8441/orchestrator/orchestration -d '{
  "requesterSystem": {"systemName": "dashboard", "address": "host.docker.internal", "port": 9002},
  "requestedService": {"serviceDefinitionRequirement": "temperature", "interfaceRequirements": ["HTTP-SECURE-JSON"]},
  "orchestrationFlags": {"overrideStore": true}}')
echo "$ORCHESTRATED" | jq -e '.response[0].provider.systemName == "thermometer" and (.response[0].authorizationTokens["HTTP-SECURE-JSON"] | length > 100)' >/dev/null \
  || die "no provider with a token: $ORCHESTRATED"

log "an event is published and delivered to a subscriber on the Docker host"
AS dashboard https://localhost:8455/eventhandler/subscribe -d '{"eventType": "temperature_changed",
  "notifyUri": "/events", "matchMetaData": false,
  "subscriberSystem": {"systemName": "dashboard", "address": "host.docker.internal", "port": 9002}}' >/dev/null
"$ROOT/target/release/example-consumer" --certificates "$CERTS" --system dashboard --port 9002 listen --events 1 > "$WORK/events.out" 2>&1 &
LISTENER=$!
AS thermometer https://localhost:8455/eventhandler/publish -d '{"eventType": "temperature_changed",
  "payload": "22.0", "source": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001}}' >/dev/null
for _ in $(seq 1 300); do kill -0 "$LISTENER" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$LISTENER" 2>/dev/null; then kill "$LISTENER"; die "no event delivered: $(cat "$WORK/events.out")"; fi
grep -q '22.0' "$WORK/events.out" || die "the event was not delivered: $(cat "$WORK/events.out")"

log "a device onboards from the compose network"
mkdir -p "$WORK/device" && cp "$CERTS/master.crt" "$WORK/device/" && chmod 0777 "$WORK/device"
network=$(docker network ls --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Name}}' | head -1)
docker run --rm --network "$network" -v "$ROOT/target/release/arrowhead-onboard:/usr/local/bin/arrowhead-onboard:ro" \
  -v "$WORK/device:/device" -w /device --entrypoint arrowhead-onboard arrowhead/serviceregistry:latest \
  --system hygrometer --device greenhouse-1 --mac 02:00:00:00:00:01 --secret hidden_secret \
  --onboarding https://onboarding:8435 --certificates /device --trust /device/master.crt \
  --address hygrometer --port 9003 --service humidity --service-uri /humidity > "$WORK/onboard.out" 2>&1 \
  || die "onboarding failed: $(cat "$WORK/onboard.out")"
AS sysop https://localhost:8437/systemregistry/mgmt | jq -e '[.data[] | select(.system.systemName == "hygrometer" and .provider.deviceName == "greenhouse-1")] | length == 1' >/dev/null \
  || die "hygrometer is not in the System Registry"
AS sysop https://localhost:8443/serviceregistry/mgmt/servicedef/humidity | jq -e '.count == 1' >/dev/null \
  || die "hygrometer's service is not registered"

log "docker compose down -v"
compose down -v --remove-orphans >/dev/null 2>&1
left=$(docker ps -a --filter "label=com.docker.compose.project=$PROJECT" -q; docker volume ls --filter "label=com.docker.compose.project=$PROJECT" -q; docker network ls --filter "label=com.docker.compose.project=$PROJECT" -q)
[ -z "$left" ] || die "compose down -v left: $left"
log "the compose deployment works"
