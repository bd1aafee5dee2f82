#!/usr/bin/env bash
# Floods of malformed input against the production shape (PostgreSQL + JetStream + one silo with the gateway; plain
# CoAP enabled so the CoAP flood reaches the stack), each beside a control device posting telemetry every 50 ms:
#   1. --datagrams (1,000,000) mutated CoAP datagrams to the plain port (random bytes, bit flips, bogus options,
#      Block1 fragments, requests for random device ids and firmware versions)
#   2. the same again (what the first left behind must not grow: a plateau, not a leak)
#   3. a tenth as many mutated DTLS records to the DTLS port
# Reports per flood: the control device's latency before/during/after, answers by class and 5.00s, the silo's RSS
# before/peak/after, and the silo's warning and error log lines during the flood.
# Goals (issue #18): control within 1 s of normal, RSS growth < 50 MiB after, zero 5.00, no per-datagram log lines.
#   bench/flood.sh [coap_datagrams=1000000] [rate=0]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
datagrams="${1:-1000000}"; rate="${2:-0}"
bench_begin

start_production_silo silo Gateway__PlainMode=Enabled
curl -sf -X POST -H "Authorization: Bearer $BENCH_API_KEY" -H 'Content-Type: application/json' \
    -d '{"device_id":"flood-control","model":"KM-3","serial":"SN-flood"}' "$API_URL/api/v4/manage/devices/" >/dev/null
control="coap://127.0.0.1:$COAP_PORT/telemetry?id=flood-control"

flood() { # NAME TARGET DATAGRAMS
  local mark; mark=$(log_mark silo)
  echo "== $1: $3 datagrams to $2 (rate ${rate:-0}/s, 0 = flat out)"
  sim flood --target "$2" --control "$control" --datagrams "$3" --rate "$rate" --server-pid "$SILO_PID" --json "$BENCH_WORK/$1.json"
  log_problems silo "$mark"
}
# Reference in the same invocation: libcoap's coap-server-notls under the same flood and control device (it has no
# /telemetry: its control answers are 4.xx, counted as "not 2.01"; the latency is what counts). It also shows the
# generator's reach: the datagrams/s it sends when the server is cheaper than ours.
lc_port=$(free_udp_port)
coap-server-notls -A 127.0.0.1 -p "$lc_port" >"$BENCH_WORK/libcoap.log" 2>&1 &
LC_PID=$!; BENCH_PIDS+=("$LC_PID")
for _ in $(seq 1 40); do ss -Hlun "sport = :$lc_port" | grep -q . && break; sleep 0.25; done
echo "== libcoap $(coap-server-notls -h 2>&1 | grep -oE 'v[0-9.]+' | head -1) coap-server-notls: $datagrams datagrams"
sim flood --target "coap://127.0.0.1:$lc_port" --control "coap://127.0.0.1:$lc_port/telemetry?id=flood-control" --datagrams "$datagrams" \
    --rate "$rate" --server-pid "$LC_PID" --json "$BENCH_WORK/libcoap.json"
stop_pid "$LC_PID"

flood coap "coap://127.0.0.1:$COAP_PORT" "$datagrams"
# The same flood again: memory that the first one left (GC heap grown to its new working set) must not grow again.
flood coap-again "coap://127.0.0.1:$COAP_PORT" "$datagrams"
flood dtls "coaps://127.0.0.1:$COAPS_PORT" "$((datagrams / 10))"
