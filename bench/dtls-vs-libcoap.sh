#!/usr/bin/env bash
# DTLS 1.2 PSK throughput: NHub's gateway vs libcoap's coap-server-openssl, same machine, same load generator
# (tools/DeviceSimulator, BouncyCastle DTLS client, TLS_PSK_WITH_AES_128_CCM_8), same request (GET /.well-known/core:
# libcoap has no /telemetry), one server after the other. Prints both and the ratio.
# Both servers are first warmed up for [warmup] seconds, unmeasured (.NET's tiered JIT; as in plain-vs-libcoap.sh).
# [rate] > 0 offers that many requests/s in total to both servers instead of flat out: a p99 comparison at a load
# both sustain, without the queue of a closed loop (whose latency is just sessions / throughput).
#   bench/dtls-vs-libcoap.sh [devices=50] [seconds=15] [warmup=3] [rate=0]
# NHub: embedded silo (Release), devices provisioned through the REST API. libcoap: one PSK (-k) for every identity.
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
devices="${1:-50}"; seconds="${2:-15}"; warmup="${3:-3}"; rate="${4:-0}"
command -v coap-server-openssl >/dev/null || bash scripts/install-deps.sh
bench_begin

key="nhub-bench-libcoap-psk-0123456789abcdef"
port=$(free_udp_port)   # libcoap listens for DTLS on -p + 1
while ! python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $port + 1))" 2>/dev/null; do port=$(free_udp_port); done
coap-server-openssl -A 127.0.0.1 -p "$port" -k "$key" -v 0 >"$BENCH_WORK/libcoap.log" 2>&1 &
libcoap=$!; BENCH_PIDS+=("$libcoap")
sleep 1
echo "== libcoap coap-server-openssl $(dpkg-query -W -f='${Version}' libcoap3-bin 2>/dev/null) (DTLS on $((port + 1)))"
sim --scenario get --target "coaps://127.0.0.1:$((port + 1))/.well-known/core" --devices "$devices" --duration "$seconds" --warmup "$warmup" --rate "$rate" \
    --psk-identity bench --psk-key "$key" --server-pid "$libcoap" --json "$BENCH_WORK/libcoap.json"
stop_pid "$libcoap"

start_silo silo
echo "== NHub gateway (embedded silo, Release)"
provision_devices "$devices" dtlsbench
sim --scenario get --target "coaps://127.0.0.1:$COAPS_PORT/.well-known/core" --devices "$devices" --duration "$seconds" --warmup "$warmup" --rate "$rate" \
    --credentials "$BENCH_WORK/creds.csv" --server-pid "$SILO_PID" --json "$BENCH_WORK/nhub.json"
stop_pid "$SILO_PID"

python3 - "$BENCH_WORK/libcoap.json" "$BENCH_WORK/nhub.json" "$rate" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"ratio NHub/libcoap (DTLS GET{', offered %s/s' % sys.argv[3] if sys.argv[3] != '0' else ''}): {b['throughput_rps'] / max(a['throughput_rps'], 1e-9):.2f}x  "
      f"({b['throughput_rps']} vs {a['throughput_rps']} req/s; p99 {b['latency_ms']['p99']} vs {a['latency_ms']['p99']} ms; "
      f"server CPU {b.get('server', {}).get('cpu_s')} vs {a.get('server', {}).get('cpu_s')} s)")
PY
