#!/usr/bin/env bash
# CoAP over TLS 1.2 (RFC 8323, coaps+tcp) PSK throughput: NHub's gateway vs libcoap's coap-server-openssl, same
# machine, same load generator (tools/DeviceSimulator: one TCP connection and thread per device, BouncyCastle TLS
# client, TLS_PSK_WITH_AES_128_GCM_SHA256, the suite both servers pick), same request (GET /.well-known/core: libcoap
# has no /telemetry), one server after the other. Plain coap+tcp too. Prints each run, the ratios and the generator's
# own CPU (its headroom: the machine has `nproc` cores for server and generator together).
#   bench/tls-vs-libcoap.sh [devices=16] [seconds=15]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
devices="${1:-16}"; seconds="${2:-15}"
command -v coap-server-openssl >/dev/null || bash scripts/install-deps.sh
bench_begin

key="nhub-bench-libcoap-psk-0123456789abcdef"
# libcoap listens on -p (UDP and TCP) and -p + 1 (DTLS and TLS): both TCP ports must be free.
port=$(free_tcp_port)
while ! python3 -c "import socket; [socket.socket().bind(('127.0.0.1', p)) for p in ($port, $port + 1)]" 2>/dev/null; do port=$(free_tcp_port); done
coap-server-openssl -A 127.0.0.1 -p "$port" -k "$key" -v 0 >"$BENCH_WORK/libcoap.log" 2>&1 &
libcoap=$!; BENCH_PIDS+=("$libcoap")
sleep 1
echo "== libcoap coap-server-openssl $(dpkg-query -W -f='${Version}' libcoap3-bin 2>/dev/null) (coaps+tcp on $((port + 1)), coap+tcp on $port)"
sim --scenario get --target "coaps+tcp://127.0.0.1:$((port + 1))/.well-known/core" --devices "$devices" --duration "$seconds" --cipher-suites gcm \
    --psk-identity bench --psk-key "$key" --server-pid "$libcoap" --json "$BENCH_WORK/libcoap-tls.json"
sim --scenario get --target "coap+tcp://127.0.0.1:$port/.well-known/core" --devices "$devices" --duration "$seconds" \
    --psk-identity bench --psk-key "$key" --server-pid "$libcoap" --json "$BENCH_WORK/libcoap-tcp.json"
stop_pid "$libcoap"

start_silo silo Gateway__PlainMode=Enabled
echo "== NHub gateway (embedded silo, Release; coaps+tcp on $TLS_PORT, coap+tcp on $TCP_PORT)"
provision_devices "$devices" tlsbench
sim --scenario get --target "coaps+tcp://127.0.0.1:$TLS_PORT/.well-known/core" --devices "$devices" --duration "$seconds" --cipher-suites gcm \
    --credentials "$BENCH_WORK/creds.csv" --server-pid "$SILO_PID" --json "$BENCH_WORK/nhub-tls.json"
sim --scenario get --target "coap+tcp://127.0.0.1:$TCP_PORT/.well-known/core" --devices "$devices" --duration "$seconds" \
    --credentials "$BENCH_WORK/creds.csv" --server-pid "$SILO_PID" --json "$BENCH_WORK/nhub-tcp.json"
stop_pid "$SILO_PID"

python3 - "$BENCH_WORK" <<'PY'
import json, sys, os
w = sys.argv[1]
for kind in ("tls", "tcp"):
    a, b = (json.load(open(os.path.join(w, f"{who}-{kind}.json"))) for who in ("libcoap", "nhub"))
    def cpu(r): return r.get("server", {}).get("cpu_s")
    def gen(r): return r.get("client_cpu_s", r.get("simulator_cpu_s"))
    print(f"ratio NHub/libcoap (coap{'s' if kind == 'tls' else ''}+tcp GET): {b['throughput_rps'] / max(a['throughput_rps'], 1e-9):.2f}x  "
          f"({b['throughput_rps']} vs {a['throughput_rps']} req/s; p99 {b['latency_ms']['p99']} vs {a['latency_ms']['p99']} ms; "
          f"server CPU {cpu(b)} vs {cpu(a)} s; generator CPU {gen(b)} vs {gen(a)} s)")
PY
