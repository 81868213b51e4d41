#!/usr/bin/env bash
# A private ActiveMQ relay (Debian's activemq package, run as a plain Java process: no service,
# no root-owned state), for tests and for operators trying inter-cloud on one machine.
#
#   scripts/relay.sh start --dir DIR --keystore broker.p12 --trust-pem master.crt
#                          [--password 123456] [--stomp-ssl-port 0] [--auto-ssl-port 0]
#                          [--gc-ms 60000] [--purge-ms 10000]
#   scripts/relay.sh stop --dir DIR
#   scripts/relay.sh status --dir DIR      (exit status 0 while the broker runs)
#
# The broker presents broker.p12 (its certificate and chain, e.g. under a relay master) and
# requires clients to present a certificate chain ending at a certificate of --trust-pem
# (relays trust only the master). Connectors: stomp+ssl (our Gatekeeper and Gateway) and
# auto+ssl (one port for Java's OpenWire ssl:// and STOMP). Port 0 picks free ports; `start`
# prints the real ones as `stomp+ssl=PORT` and `auto+ssl=PORT` once the broker has started
# (about 2 s), and writes its pid to DIR/broker.pid. Destinations nobody uses are removed after
# 60 s as the Arrowhead relay guide configures it. Java reads the truststore only when keytool
# wrote it (an OpenSSL 3.0 certificate-only PKCS#12 shows no entries to Java).
set -euo pipefail

die() { echo "relay.sh: $*" >&2; exit 1; }

cmd=${1:-}; shift || true
DIR="" KEYSTORE="" TRUST_PEM="" PASSWORD=123456 STOMP_PORT=0 AUTO_PORT=0 GC_MS=60000 PURGE_MS=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --keystore) KEYSTORE=$2; shift 2 ;;
    --trust-pem) TRUST_PEM=$2; shift 2 ;;
    --password) PASSWORD=$2; shift 2 ;;
    --stomp-ssl-port) STOMP_PORT=$2; shift 2 ;;
    --auto-ssl-port) AUTO_PORT=$2; shift 2 ;;
    --gc-ms) GC_MS=$2; shift 2 ;;
    --purge-ms) PURGE_MS=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[ -n "$DIR" ] || die "--dir is required"
JAR=/usr/share/activemq/bin/activemq.jar

ensure_activemq() {
  [ -f "$JAR" ] && command -v keytool >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || die "ActiveMQ is not installed; run: sudo apt-get update && sudo apt-get install -y activemq"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq activemq >/dev/null
}

case "$cmd" in
  start)
    [ -n "$KEYSTORE" ] && [ -n "$TRUST_PEM" ] || die "--keystore and --trust-pem are required"
    ensure_activemq
    mkdir -p "$DIR/conf" "$DIR/data" "$DIR/tmp"
    DIR=$(cd "$DIR" && pwd)
    cp "$KEYSTORE" "$DIR/conf/broker.p12"
    rm -f "$DIR/conf/trust.p12"
    keytool -importcert -noprompt -alias master -file "$TRUST_PEM" -keystore "$DIR/conf/trust.p12" \
      -storetype PKCS12 -storepass "$PASSWORD" >/dev/null 2>&1 || die "keytool could not write the truststore"
    cat > "$DIR/conf/log4j.properties" <<'LOG'
log4j.rootLogger=INFO, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=%d %-5p %c{1} - %m%n
LOG
    cat > "$DIR/conf/activemq.xml" <<XML
<beans xmlns="http://www.springframework.org/schema/beans" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="relay" persistent="false"
          dataDirectory="$DIR/data" schedulePeriodForDestinationPurge="$PURGE_MS">
    <destinationPolicy><policyMap><policyEntries>
      <policyEntry queue=">" gcInactiveDestinations="true" inactiveTimoutBeforeGC="$GC_MS"/>
    </policyEntries></policyMap></destinationPolicy>
    <systemUsage><systemUsage><memoryUsage><memoryUsage limit="64 mb"/></memoryUsage></systemUsage></systemUsage>
    <sslContext><sslContext keyStore="file:$DIR/conf/broker.p12" keyStorePassword="$PASSWORD" keyStoreType="PKCS12"
        trustStore="file:$DIR/conf/trust.p12" trustStorePassword="$PASSWORD" trustStoreType="PKCS12"/></sslContext>
    <transportConnectors>
      <transportConnector name="stompssl" uri="stomp+ssl://0.0.0.0:$STOMP_PORT?needClientAuth=true&amp;transport.tcpNoDelay=true"/>
      <transportConnector name="autossl" uri="auto+ssl://0.0.0.0:$AUTO_PORT?needClientAuth=true&amp;transport.tcpNoDelay=true"/>
    </transportConnectors>
  </broker>
</beans>
XML
    : > "$DIR/broker.out"
    java -Xms64m -Xmx256m -Djava.awt.headless=true -Djava.io.tmpdir="$DIR/tmp" \
      -Dactivemq.classpath="$DIR/conf" -Dactivemq.home=/usr/share/activemq -Dactivemq.base="$DIR" \
      -Dactivemq.conf="$DIR/conf" -Dactivemq.data="$DIR/data" \
      -jar "$JAR" start "xbean:file:$DIR/conf/activemq.xml" >> "$DIR/broker.out" 2>&1 &
    echo $! > "$DIR/broker.pid"
    for _ in $(seq 1 300); do
      if grep -q 'Apache ActiveMQ .* started' "$DIR/broker.out"; then
        stomp=$(sed -n 's#.*Listening for connections at: stomp+ssl://[^:]*:\([0-9]*\).*#\1#p' "$DIR/broker.out" | head -1)
        auto=$(sed -n 's#.*Listening for connections at: auto+ssl://[^:]*:\([0-9]*\).*#\1#p' "$DIR/broker.out" | head -1)
        echo "stomp+ssl=$stomp"
        echo "auto+ssl=$auto"
        exit 0
      fi
      kill -0 "$(cat "$DIR/broker.pid")" 2>/dev/null || { tail -20 "$DIR/broker.out" >&2; die "the broker stopped"; }
      sleep 0.1
    done
    tail -20 "$DIR/broker.out" >&2
    die "the broker did not start within 30 s"
    ;;
  stop)
    if [ -f "$DIR/broker.pid" ]; then
      pid=$(cat "$DIR/broker.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$DIR/broker.pid"
    fi
    ;;
  status)
    [ -f "$DIR/broker.pid" ] && kill -0 "$(cat "$DIR/broker.pid")" 2>/dev/null
    ;;
  *) die "usage: relay.sh start|stop|status --dir DIR ..." ;;
esac
