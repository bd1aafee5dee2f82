#!/usr/bin/env bash
# ECDHE-ECDSA handshakes per second with device certificates (#16): full handshakes, then resumed ones (RFC 5246
# §7.3), from tools/DeviceSimulator (every handshake a new UDP socket = a new peer, cookie exchange, mutual
# authentication with P-256 certificates, close_notify) against the gateway of an embedded silo, and against
# libcoap's coap-server-openssl (-c/-j/-C, the same CA) in the same invocation.
#   bench/handshakes-certificates.sh [seconds=15] [client-threads=32]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
seconds="${1:-15}"; threads="${2:-32}"
bench_begin

# One authority for devices and servers; one device certificate (CN = a device that exists) used by every client.
certs="$BENCH_WORK/certs"; mkdir -p "$certs"
openssl ecparam -name prime256v1 -genkey -noout -out "$certs/ca.key"
openssl req -x509 -new -key "$certs/ca.key" -subj "/CN=NHub Bench CA" -days 30 -out "$certs/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
issue() { # issue NAME CN EKU
  openssl ecparam -name prime256v1 -genkey -noout -out "$certs/$1.key"
  openssl req -new -key "$certs/$1.key" -subj "/CN=$2" -out "$certs/$1.csr" 2>/dev/null
  printf 'extendedKeyUsage=%s\nkeyUsage=critical,digitalSignature\n' "$3" >"$certs/$1.ext"
  openssl x509 -req -in "$certs/$1.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial -days 10 \
    -extfile "$certs/$1.ext" -out "$certs/$1.crt" 2>/dev/null
}
issue device bench-meter-1 clientAuth
issue server nhub-bench-gateway serverAuth

start_silo silo Gateway__Dtls__Certificate__Path="$certs/server.crt" Gateway__Dtls__Certificate__KeyPath="$certs/server.key"
curl -sf -H "Authorization: Bearer $BENCH_API_KEY" -H 'Content-Type: application/json' -d '{"device_id":"bench-meter-1"}' "$API_URL/api/v4/manage/devices/" >/dev/null
python3 -c 'import json,sys; print(json.dumps({"certificate": open(sys.argv[1]).read()}))' "$certs/ca.crt" >"$certs/ca.json"
curl -sf -H "Authorization: Bearer $BENCH_API_KEY" -H 'Content-Type: application/json' -d @"$certs/ca.json" "$API_URL/api/v4/manage/certificate-authorities/" >/dev/null

storm() { # storm TARGET SERVER_PID JSON RESUME
  sim --scenario handshakes --target "$1" --certificate "$certs/device.crt" --certificate-key "$certs/device.key" --devices 1 \
      --duration "$seconds" --handshake-threads "$threads" --resume "$4" --server-pid "$2" --json "$3"
}
# Warm up (JIT, the enrollment, the credential cache) so the measured storms are the steady state.
sim --scenario handshakes --target "coaps://127.0.0.1:$COAPS_PORT" --certificate "$certs/device.crt" --certificate-key "$certs/device.key" \
    --devices 1 --duration 3 --handshake-threads "$threads" >/dev/null
echo "== NHub gateway (embedded silo, Release), full handshakes: $threads client threads"
storm "coaps://127.0.0.1:$COAPS_PORT" "$SILO_PID" "$BENCH_WORK/nhub-full.json" off
echo "== NHub gateway, resumed handshakes (each thread offers its previous session)"
storm "coaps://127.0.0.1:$COAPS_PORT" "$SILO_PID" "$BENCH_WORK/nhub-resumed.json" on
stop_pid "$SILO_PID"

port=$(free_udp_port)
while ! python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $port + 1))" 2>/dev/null; do port=$(free_udp_port); done
coap-server-openssl -A 127.0.0.1 -p "$port" -c "$certs/server.crt" -j "$certs/server.key" -C "$certs/ca.crt" -v 0 >"$BENCH_WORK/libcoap.log" 2>&1 &
libcoap=$!; BENCH_PIDS+=("$libcoap")
sleep 1
echo "== libcoap coap-server-openssl (reference), full handshakes, same storm"
storm "coaps://127.0.0.1:$((port + 1))" "$libcoap" "$BENCH_WORK/libcoap-full.json" off
echo "== libcoap coap-server-openssl, resumed handshakes"
storm "coaps://127.0.0.1:$((port + 1))" "$libcoap" "$BENCH_WORK/libcoap-resumed.json" on
stop_pid "$libcoap"

python3 - "$BENCH_WORK" <<'PY'
import json, sys, os
r = {k: json.load(open(os.path.join(sys.argv[1], k + ".json"))) for k in ("nhub-full", "nhub-resumed", "libcoap-full", "libcoap-resumed")}
def rate(k): return r[k]["handshakes"]["per_second"]
def resumed(k): return r[k].get("resumed", 0)
for kind in ("full", "resumed"):
    n, l = rate("nhub-" + kind), rate("libcoap-" + kind)
    print(f"{kind}: handshakes/s NHub {n} (resumed {resumed('nhub-' + kind)}, failed {r['nhub-' + kind]['handshakes']['failed']}) | "
          f"libcoap {l} (resumed {resumed('libcoap-' + kind)}, failed {r['libcoap-' + kind]['handshakes']['failed']}) | ratio {n / l if l else float('nan'):.2f}x")
PY
