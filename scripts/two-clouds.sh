#!/usr/bin/env bash
# Two local clouds on one machine and an ActiveMQ relay between them: cloud A is the
# quickstart's cloud (standard ports, ./state, ./certificates), cloud B ("remotecloud", same
# operator, same master) runs on the ports 1000 higher with its own MariaDB (port 3307), state
# and certificates under ./state/remotecloud. Both Gatekeepers know the relay and each other's
# cloud; B demands its Gateway (gateway_is_mandatory), so A's consumers reach B's providers
# through both Gateways. B runs an example provider (thermometer, `temperature`) that A may use
# (an inter-cloud rule in B); the script ends by letting A's example consumer use it.
#
#   scripts/two-clouds.sh          start (or restart) everything, then run the consumer once
#   scripts/two-clouds.sh stop     stop cloud B, the provider and the relay (cloud A: scripts/stop.sh)
#
# Safe to re-run. Settings: ARROWHEAD_OPERATOR (operator), ARROWHEAD_CERT_PASSWORD (123456),
# ARROWHEAD_BUILD_PROFILE (release); cloud A's ARROWHEAD_STATE_DIR (./state), ARROWHEAD_CERT_DIR
# (./certificates) and ARROWHEAD_DB_PORT (3306) as for quickstart.sh (cloud B and the relay live
# under A's state folder), ARROWHEAD_B_DB_PORT (3307).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OPERATOR="${ARROWHEAD_OPERATOR:-operator}"
PASSWORD="${ARROWHEAD_CERT_PASSWORD:-123456}"
PROFILE="${ARROWHEAD_BUILD_PROFILE:-release}"
BIN="$ROOT/target/$PROFILE"
A_STATE="$STATE_DIR" A_CERTS="${ARROWHEAD_CERT_DIR:-$ROOT/certificates}" A_CLOUD=localcloud
B_STATE="$STATE_DIR/remotecloud" B_CERTS="$STATE_DIR/remotecloud/certificates" B_CLOUD=remotecloud
B_DB_PORT="${ARROWHEAD_B_DB_PORT:-3307}"
RELAY="$STATE_DIR/relay" RELAY_PORT=61614 RELAY_AUTO_PORT=61617
PROVIDER_PORT=9101

b_env() {
  ARROWHEAD_CLOUD=$B_CLOUD ARROWHEAD_STATE_DIR=$B_STATE ARROWHEAD_CERT_DIR=$B_CERTS \
    ARROWHEAD_DB_PORT=$B_DB_PORT ARROWHEAD_PORT_OFFSET=1000 "$@"
}

if [ "${1:-}" = stop ]; then
  [ -f "$B_STATE/run/provider.pid" ] && kill "$(cat "$B_STATE/run/provider.pid")" 2>/dev/null || true
  rm -f "$B_STATE/run/provider.pid"
  b_env "$ROOT/scripts/stop.sh"
  "$ROOT/scripts/relay.sh" stop --dir "$RELAY" || true
  exit 0
fi

# The relay's own PKI: a relay master and the broker's certificate under it (as the Java
# samples' relay1/); the broker trusts the Arrowhead master, the systems trust the relay master.
mkdir -p "$RELAY/pki" "$A_STATE/config" "$B_STATE/config"
if [ ! -f "$RELAY/pki/broker.p12" ]; then
  log "relay certificates in $RELAY/pki"
  (cd "$RELAY/pki"
   openssl req -x509 -newkey rsa:2048 -nodes -keyout relay-master.key -out relay-master.crt -days 3650 \
     -subj "/CN=relay.arrowhead.eu" -addext basicConstraints=critical,CA:true >/dev/null 2>&1
   openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=broker.relay.arrowhead.eu" >/dev/null 2>&1
   printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:false\n' > broker.ext
   openssl x509 -req -in broker.csr -CA relay-master.crt -CAkey relay-master.key -CAcreateserial -days 3650 \
     -extfile broker.ext -out broker.crt >/dev/null 2>&1
   openssl pkcs12 -export -in broker.crt -certfile relay-master.crt -inkey broker.key -name broker \
     -passout "pass:$PASSWORD" -out broker.p12)
fi

# Cloud A: the Gatekeeper and the Gateway reach the relay; A has a Gateway.
cat > "$A_STATE/config/gatekeeper.extra.properties" <<CONF
gateway_is_present=true
gateway_is_mandatory=false
relay.trust-store=$RELAY/pki/relay-master.crt
CONF
echo "relay.trust-store=$RELAY/pki/relay-master.crt" > "$A_STATE/config/gateway.extra.properties"
echo "gatekeeper_is_present=true" > "$A_STATE/config/orchestrator.extra.properties"
ARROWHEAD_CLOUD=$A_CLOUD ARROWHEAD_CERT_DIR=$A_CERTS "$ROOT/scripts/quickstart.sh" > "$A_STATE/two-clouds-a.out" 2>&1 \
  || { tail -30 "$A_STATE/two-clouds-a.out" >&2; die "cloud A did not start"; }
log "cloud A ($A_CLOUD.$OPERATOR) is running on the standard ports"

# Cloud B: same master (copied before its certificates are made), Gateway demanded.
mkdir -p "$B_CERTS"
for f in master.p12 master.crt; do
  [ -f "$B_CERTS/$f" ] || cp "$A_CERTS/$f" "$B_CERTS/$f"
done
cat > "$B_STATE/config/gatekeeper.extra.properties" <<CONF
gateway_is_present=true
gateway_is_mandatory=true
relay.trust-store=$RELAY/pki/relay-master.crt
CONF
printf 'relay.trust-store=%s\nmin_port=10000\nmax_port=10100\n' "$RELAY/pki/relay-master.crt" > "$B_STATE/config/gateway.extra.properties"
echo "gatekeeper_is_present=true" > "$B_STATE/config/orchestrator.extra.properties"
b_env "$ROOT/scripts/quickstart.sh" > "$B_STATE/two-clouds-b.out" 2>&1 \
  || { tail -30 "$B_STATE/two-clouds-b.out" >&2; die "cloud B did not start"; }
log "cloud B ($B_CLOUD.$OPERATOR) is running on the ports 1000 higher (Service Registry 9443)"

if ! "$ROOT/scripts/relay.sh" status --dir "$RELAY" >/dev/null 2>&1; then
  log "starting the relay (stomp+ssl $RELAY_PORT, auto+ssl $RELAY_AUTO_PORT)"
  "$ROOT/scripts/relay.sh" start --dir "$RELAY" --keystore "$RELAY/pki/broker.p12" --trust-pem "$A_CERTS/master.crt" \
    --password "$PASSWORD" --stomp-ssl-port $RELAY_PORT --auto-ssl-port $RELAY_AUTO_PORT >/dev/null
fi

# Calls as the sysop of a cloud: sysop <certs> <method> <url> [json]
sysop() {
  local certs=$1 method=$2 url=$3
  curl -s --cert "$certs/sysop.chain.pem" --key "$certs/sysop.key" --cacert "$certs/master.crt" \
    -X "$method" -H 'Content-Type: application/json' ${4:+-d "$4"} "$url"
}
pubkey() { grep -v -- ----- "$1" | tr -d '\n'; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# know <certs> <gatekeeper port> <other cloud> <other certs>: the relay and the other cloud.
know() {
  local certs=$1 gk=https://localhost:$2/gatekeeper other=$3 other_certs=$4 relay_id
  relay_id=$(sysop "$certs" GET "$gk/mgmt/relays/127.0.0.1/$RELAY_PORT" | json 'd.get("id","")')
  if [ -z "$relay_id" ]; then
    relay_id=$(sysop "$certs" POST "$gk/mgmt/relays" \
      "[{\"address\":\"127.0.0.1\",\"port\":$RELAY_PORT,\"secure\":true,\"exclusive\":false,\"type\":\"GENERAL_RELAY\"}]" \
      | json 'd["data"][0]["id"]')
  fi
  if ! sysop "$certs" GET "$gk/mgmt/clouds" | json '[c["name"] for c in d["data"]]' | grep -q "'$other'"; then
    sysop "$certs" POST "$gk/mgmt/clouds" "[{\"operator\":\"$OPERATOR\",\"name\":\"$other\",\"secure\":true,\"neighbor\":true,
      \"authenticationInfo\":\"$(pubkey "$other_certs/gatekeeper.pub")\",\"gatekeeperRelayIds\":[$relay_id]}]" >/dev/null
  fi
}
know "$A_CERTS" 8449 $B_CLOUD "$B_CERTS"
know "$B_CERTS" 9449 $A_CLOUD "$A_CERTS"
log "both Gatekeepers know the relay 127.0.0.1:$RELAY_PORT and each other's cloud"

# B's provider and the rule that lets cloud A use it; A's consumer.
"$BIN/arrowhead-certgen" --out "$B_CERTS" --cloud $B_CLOUD --operator "$OPERATOR" --password "$PASSWORD" --system thermometer >/dev/null
"$BIN/arrowhead-certgen" --out "$A_CERTS" --cloud $A_CLOUD --operator "$OPERATOR" --password "$PASSWORD" --system dashboard >/dev/null
[ -f "$B_STATE/run/provider.pid" ] && kill "$(cat "$B_STATE/run/provider.pid")" 2>/dev/null || true
nohup "$BIN/example-provider" --certificates "$B_CERTS" --system thermometer --port $PROVIDER_PORT \
  > "$B_STATE/logs/provider.out" 2>&1 &
echo $! > "$B_STATE/run/provider.pid"
registered=$(curl -s --cert "$B_CERTS/thermometer.chain.pem" --key "$B_CERTS/thermometer.key" --cacert "$B_CERTS/master.crt" \
  -H 'Content-Type: application/json' https://localhost:9443/serviceregistry/register -d "{\"serviceDefinition\":\"temperature\",
  \"providerSystem\":{\"systemName\":\"thermometer\",\"address\":\"127.0.0.1\",\"port\":$PROVIDER_PORT,
  \"authenticationInfo\":\"$(pubkey "$B_CERTS/thermometer.pub")\"},\"serviceUri\":\"/temperature\",\"secure\":\"CERTIFICATE\",
  \"interfaces\":[\"HTTP-SECURE-JSON\"]}")
if ! echo "$registered" | grep -q '"id"'; then
  registered=$(sysop "$B_CERTS" GET "https://localhost:9443/serviceregistry/mgmt/servicedef/temperature" | json 'json.dumps(d["data"][0])')
fi
ids=$(echo "$registered" | json '"%s %s %s" % (d["provider"]["id"], d["serviceDefinition"]["id"], d["interfaces"][0]["id"])')
read -r provider_id service_id interface_id <<<"$ids"
a_in_b=$(sysop "$B_CERTS" GET "https://localhost:9449/gatekeeper/mgmt/clouds" | json "[c['id'] for c in d['data'] if c['name']=='$A_CLOUD'][0]")
sysop "$B_CERTS" POST https://localhost:9445/authorization/mgmt/intercloud "{\"cloudId\":$a_in_b,\"providerIdList\":[$provider_id],
  \"serviceDefinitionIdList\":[$service_id],\"interfaceIdList\":[$interface_id]}" >/dev/null
log "cloud B: thermometer serves temperature on $PROVIDER_PORT; cloud A may use it"

consumer=("$BIN/example-consumer" --certificates "$A_CERTS" --system dashboard --mode intercloud orchestrate)
ok=0
for _ in $(seq 1 30); do
  if "${consumer[@]}" > "$A_STATE/two-clouds-consumer.out" 2>&1; then ok=1; break; fi
  sleep 1  # the Gatekeepers subscribe to the relay within a few seconds
done
cat "$A_STATE/two-clouds-consumer.out"
[ "$ok" = 1 ] || die "the consumer of cloud A could not use the provider of cloud B"
cat <<SUMMARY

Two clouds are running: $A_CLOUD.$OPERATOR (Service Registry 8443) and $B_CLOUD.$OPERATOR (9443),
joined by the relay at 127.0.0.1:$RELAY_PORT (STOMP over mutual TLS; Java systems use
ssl://127.0.0.1:$RELAY_AUTO_PORT). A consumer of cloud A uses the provider of cloud B through
both Gateways:

  ${consumer[*]}

Sysop certificates: $A_CERTS/sysop.p12 and $B_CERTS/sysop.p12. Gateway sessions:
  curl --cert $A_CERTS/sysop.chain.pem --key $A_CERTS/sysop.key --cacert $A_CERTS/master.crt https://localhost:8453/gateway/mgmt/sessions
Stop: scripts/two-clouds.sh stop && scripts/stop.sh
SUMMARY
