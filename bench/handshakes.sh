#!/usr/bin/env bash
# Full DTLS 1.2 PSK handshakes per second (target >= 2,000/s): a handshake storm from tools/DeviceSimulator (every
# handshake a new UDP socket = a new peer, cookie exchange, PSK, Finished, then close_notify) against the gateway of
# an embedded silo; libcoap's coap-server-openssl under the same storm for reference.
# BENCH_LIMITS=default keeps the gateway's per-address handshake budget at its defaults (20/s, burst 100) instead of
# raising it: the storm then comes from one address, as from a carrier NAT after a restart (docs/handshake-limits.md).
#   bench/handshakes.sh [seconds=15] [client-threads=32] [devices=200]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
seconds="${1:-15}"; threads="${2:-32}"; devices="${3:-200}"
limits=()
[[ "${BENCH_LIMITS:-raised}" == default ]] && limits=(Gateway__Dtls__HandshakesPerSecondPerIp=20 Gateway__Dtls__HandshakeBurstPerIp=100)
bench_begin

start_silo silo "${limits[@]}"
provision_devices "$devices" hs
# Warm up (JIT, credential cache) so the measured storm is the steady state.
sim --scenario handshakes --target "coaps://127.0.0.1:$COAPS_PORT" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
    --duration 3 --handshake-threads "$threads" >/dev/null
echo "== NHub gateway (embedded silo, Release): $threads client threads, $devices identities, per-address limits ${BENCH_LIMITS:-raised}"
sim --scenario handshakes --target "coaps://127.0.0.1:$COAPS_PORT" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
    --duration "$seconds" --handshake-threads "$threads" --server-pid "$SILO_PID" --json "$BENCH_WORK/nhub.json"
stop_pid "$SILO_PID"

key="nhub-bench-libcoap-psk-0123456789abcdef"
port=$(free_udp_port)
while ! python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $port + 1))" 2>/dev/null; do port=$(free_udp_port); done
coap-server-openssl -A 127.0.0.1 -p "$port" -k "$key" -v 0 >"$BENCH_WORK/libcoap.log" 2>&1 &
libcoap=$!; BENCH_PIDS+=("$libcoap")
sleep 1
echo "== libcoap coap-server-openssl (reference), same storm"
sim --scenario handshakes --target "coaps://127.0.0.1:$((port + 1))" --psk-identity bench --psk-key "$key" --devices "$devices" \
    --duration "$seconds" --handshake-threads "$threads" --server-pid "$libcoap" --json "$BENCH_WORK/libcoap.json"
stop_pid "$libcoap"

python3 - "$BENCH_WORK/nhub.json" "$BENCH_WORK/libcoap.json" <<'PY'
import json, sys
n, l = (json.load(open(p))["handshakes"] for p in sys.argv[1:3])
print(f"handshakes/s NHub {n['per_second']} (p99 {n['latency_ms']['p99']} ms, failed {n['failed']}) | libcoap {l['per_second']}; "
      f"target 2000/s: {'met' if n['per_second'] >= 2000 else 'NOT met (%.0f%% of it)' % (100 * n['per_second'] / 2000)}; "
      f"100,000 devices at this rate: {100000 / max(n['per_second'], 1e-9):.0f} s (issue #15: <= 60 s)")
PY
