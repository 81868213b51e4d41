#!/usr/bin/env bash
# The cloud that outgrows one instance, tested: docker/docker-compose.scale.yml (several instances
# of every stateless core system behind HAProxy, on a three-node MariaDB Galera cluster) under a steady load of registrations, orchestrations and
# event publications through the load balancer; one instance of each system and the database
# node in use are killed (SIGKILL), then started again. Every registration that was answered
# 201 must be in the registry afterwards, and nothing may fail from 10 s after the kill on
# (save 5 s around the restart); the script reports the failover time (first failed request to
# the first success after it), the errors during it, and the request rate.
# Needs the ports 8435, 8437, 8439, 8441, 8443, 8445, 8448 and 8455 free.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPOSE_FILE="$ROOT/docker/docker-compose.scale.yml" PROJECT=arrowhead-scale
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }
CERTS="$ROOT/docker/certificates-scale"
LOAD_SECONDS="${ARROWHEAD_SCALE_LOAD_SECONDS:-40}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/arrowhead-scale.XXXXXX")"
finish() {
  local rc=$?
  touch "$WORK/stop"; wait 2>/dev/null || true
  if [ "$rc" -ne 0 ]; then
    compose ps >&2 || true
    compose logs --tail=10 >&2 2>/dev/null || true
  fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT

[ "${ARROWHEAD_SKIP_IMAGES:-0}" = 1 ] || "$ROOT/scripts/docker-images.sh" >/dev/null
if [ ! -f "$CERTS/sysop.p12" ]; then
  hosts=(--host lb --host host.docker.internal)
  for s in serviceregistry authorization orchestrator eventhandler; do
    for i in 1 2 3; do hosts+=(--host "$s-$i"); done
  done
  for s in certificate-authority onboarding deviceregistry systemregistry; do
    for i in 1 2; do hosts+=(--host "$s-$i"); done
  done
  "$ROOT/target/release/arrowhead-certgen" --out "$CERTS" --cloud localcloud --operator operator \
    "${hosts[@]}" --system thermometer --system dashboard --system benchprovider --system benchconsumer >/dev/null
fi
chmod -R a+rX "$CERTS"

wait_healthy() {
  local want=$1
  for _ in $(seq 1 300); do
    [ "$(docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Status}}' | grep -c '(healthy)' || true)" -ge "$want" ] && return 0
    sleep 0.5
  done
  die "the scaled-out cloud did not become healthy"
}
compose down -v --remove-orphans >/dev/null 2>&1 || true
log "starting the scaled-out cloud (3 Galera nodes, HAProxy, 20 core system instances)"
compose up -d >/dev/null 2>&1
wait_healthy "$(( $(compose config --services | wc -l) - 1 ))"

# AS <system> <answer file> curl-arguments...: prints the status.
AS() { curl -sS --cert "$CERTS/$1.chain.pem" --key "$CERTS/$1.key" --cacert "$CERTS/master.crt" \
         -H 'Content-Type: application/json' -o "$2" -w '%{http_code}' "${@:3}"; }
key() { grep -v -- ----- "$CERTS/$1.pub" | tr -d '\n'; }
THERMOMETER_KEY=$(key thermometer)
curl -sS --fail-with-body --cert "$CERTS/thermometer.chain.pem" --key "$CERTS/thermometer.key" --cacert "$CERTS/master.crt" \
  -H 'Content-Type: application/json' https://localhost:8443/serviceregistry/register -d '{"serviceDefinition": "temperature",
  "serviceUri": "/temperature", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"],
  "providerSystem": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001, "authenticationInfo": "'"$THERMOMETER_KEY"'"}}' > "$WORK/reg.json"
DASHBOARD_ID=$(curl -sS --fail-with-body --cert "$CERTS/dashboard.chain.pem" --key "$CERTS/dashboard.key" --cacert "$CERTS/master.crt" \
  -H 'Content-Type: application/json' https://localhost:8443/serviceregistry/register-system -d '{"systemName": "dashboard",
  "address": "127.0.0.1", "port": 9002, "authenticationInfo": "'"$(key dashboard)"'"}' | jq .id)
curl -sS --fail-with-body --cert "$CERTS/sysop.chain.pem" --key "$CERTS/sysop.key" --cacert "$CERTS/master.crt" \
  -H 'Content-Type: application/json' https://localhost:8445/authorization/mgmt/intracloud -d '{"consumerId": '"$DASHBOARD_ID"',
  "providerIds": ['"$(jq .provider.id "$WORK/reg.json")"'], "serviceDefinitionIds": ['"$(jq .serviceDefinition.id "$WORK/reg.json")"'],
  "interfaceIds": ['"$(jq '.interfaces[0].id' "$WORK/reg.json")"']}' >/dev/null

# Each loop writes "<ms since epoch> <status> [<id>]" per request until told to stop.
register_loop() {
  local n=0 code
  until [ -f "$WORK/stop" ]; do
    n=$((n + 1))
    code=$(AS thermometer "$WORK/register.body" https://localhost:8443/serviceregistry/register -d '{"serviceDefinition": "load-'"$n"'",
      "serviceUri": "/load", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"],
      "providerSystem": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001,
      "authenticationInfo": "'"$THERMOMETER_KEY"'"}}' || true)
    echo "$(date +%s%3N) $code load-$n" >> "$WORK/register.log"
  done
}
orchestrate_loop() {
  local code
  until [ -f "$WORK/stop" ]; do
    code=$(AS dashboard "$WORK/orchestrate.body" https://localhost:8441/orchestrator/orchestration -d '{
      "requesterSystem": {"systemName": "dashboard", "address": "127.0.0.1", "port": 9002},
      "requestedService": {"serviceDefinitionRequirement": "temperature", "interfaceRequirements": ["HTTP-SECURE-JSON"]},
      "orchestrationFlags": {"overrideStore": true}}' || true)
    if [ "$code" = 200 ] && ! grep -q '"thermometer"' "$WORK/orchestrate.body"; then code=empty; fi
    echo "$(date +%s%3N) $code" >> "$WORK/orchestrate.log"
  done
}
publish_loop() {
  local code
  until [ -f "$WORK/stop" ]; do
    code=$(AS thermometer "$WORK/publish.body" https://localhost:8455/eventhandler/publish -d '{"eventType": "load",
      "payload": "1", "source": {"systemName": "thermometer", "address": "127.0.0.1", "port": 9001}}' || true)
    echo "$(date +%s%3N) $code" >> "$WORK/publish.log"
  done
}

log "steady load for $LOAD_SECONDS s: registrations, orchestrations, event publications"
register_loop & orchestrate_loop & publish_loop &
third=$((LOAD_SECONDS / 3))
sleep "$third"
killed_at=$(date +%s%3N)
SYSTEMS=(serviceregistry authorization orchestrator eventhandler certificate-authority onboarding deviceregistry systemregistry)
log "killing instance 1 of every system (${SYSTEMS[*]}) and db1"
docker kill $(for s in "${SYSTEMS[@]}"; do echo "${PROJECT}_$s-1_1"; done) "${PROJECT}_db1_1" >/dev/null
sleep "$third"
log "starting them again"
restarted_at=$(date +%s%3N)
docker start "${PROJECT}_db1_1" >/dev/null
docker start $(for s in "${SYSTEMS[@]}"; do echo "${PROJECT}_$s-1_1"; done) >/dev/null
sleep "$third"
touch "$WORK/stop"; wait

report() {
  local name=$1 ok=$2 file="$WORK/$1.log"
  local total okc errors first_err recovered
  total=$(wc -l < "$file"); okc=$(awk -v ok="$ok" '$2 == ok' "$file" | wc -l); errors=$((total - okc))
  first_err=$(awk -v ok="$ok" -v t="$killed_at" '$1 >= t && $2 != ok {print $1; exit}' "$file")
  recovered=""
  [ -n "$first_err" ] && recovered=$(awk -v ok="$ok" -v t="$first_err" '$1 > t && $2 == ok {print $1; exit}' "$file")
  printf '  %-12s %5d requests, %5d ok, %3d errors (%s), %.1f req/s; failover %s\n' "$name" "$total" "$okc" "$errors" \
    "$(awk -v ok="$ok" '$2 != ok {print $2}' "$file" | sort | uniq -c | tr -s ' ' | tr '\n' ',' | sed 's/,$//')" \
    "$(echo "$total $LOAD_SECONDS" | awk '{print $1 / $2}')" \
    "$( [ -n "$recovered" ] && echo "$(( recovered - first_err )) ms" || echo "none needed")"
}
log "results"
report register 201
report orchestrate 200
report publish 200

wait_healthy "$(( $(compose config --services | wc -l) - 1 ))"
log "every acknowledged registration is in the registry"
missing=0
curl -sS --fail-with-body --cert "$CERTS/sysop.chain.pem" --key "$CERTS/sysop.key" --cacert "$CERTS/master.crt" \
  https://localhost:8443/serviceregistry/mgmt > "$WORK/all.json"
jq -r '.data[].serviceDefinition.serviceDefinition' "$WORK/all.json" | sort -u > "$WORK/present"
awk '$2 == 201 {print $3}' "$WORK/register.log" | sort -u > "$WORK/acknowledged"
missing=$(comm -23 "$WORK/acknowledged" "$WORK/present" | wc -l)
log "$(wc -l < "$WORK/acknowledged") acknowledged registrations, $missing missing"
[ "$missing" = 0 ] || die "acknowledged registrations were lost: $(comm -23 "$WORK/acknowledged" "$WORK/present" | head -5 | tr '\n' ' ')"
# The load is served again well before the killed parts are back: no failure from 10 s after
# the kill on (they are restarted about 13 s after it), nor after the restart settled.
for f in register orchestrate publish; do
  late=$(awk -v k="$killed_at" -v r="$restarted_at" '(($1 > k + 10000 && $1 < r) || $1 > r + 5000) && $2 !~ /^20/' "$WORK/$f.log")
  [ -z "$late" ] || die "$f still failed long after the kill or the restart: $(echo "$late" | head -3)"
done
log "the scaled-out cloud keeps serving and loses no acknowledged write"
