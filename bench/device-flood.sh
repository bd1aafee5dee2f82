#!/usr/bin/env bash
# One authenticated device floods its own twin (issue #18, finding 2): NON telemetry open-loop at [rate]/s on one DTLS
# session, on the production shape (PostgreSQL + JetStream + one silo co-hosting the gateway). Probes every 100 ms:
# the same device in a second session, another device, and the REST API's GET of the flooding device. First a
# baseline of the same probes with the flood at 1/s, then the flood. Reports the probes' latency, the flood's answers
# by code (4.29 = the per-device bound of Gateway:Coap:MaxRequestsInProgressPerPeer), the silo's RSS and its log.
#   bench/device-flood.sh [rate=5000] [seconds=15]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
rate="${1:-5000}"; seconds="${2:-15}"
bench_begin

start_production_silo silo
provision_devices 2 dflood- >/dev/null
run() { # NAME RATE
  local mark; mark=$(log_mark silo)
  echo "== $1: NON at $2/s for $seconds s"
  sim --scenario device-flood --target "coaps://127.0.0.1:$COAPS_PORT/telemetry" --credentials "$BENCH_WORK/creds.csv" --devices 2 \
      --rate "$2" --duration "$seconds" --api "$API_URL" --api-key "$BENCH_API_KEY" --server-pid "$SILO_PID" --json "$BENCH_WORK/$1.json" \
    | grep -E "flood:|second session|another device|API GET|server pid|simulator CPU"
  log_problems silo "$mark"
}
run baseline 1
run flood "$rate"
