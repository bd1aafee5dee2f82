#!/usr/bin/env bash
# End to end on the production stack: PostgreSQL + nats-server (JetStream) + one production-mode silo (gateway,
# grains, API), 2,000 devices provisioned through the REST API, DTLS PSK telemetry flat out. Every 2.01 means
# gateway -> DeviceGrain -> JetStream-acked publish; the script then reads the telemetry stream's message count to
# confirm every 2.01 was stored. Targets (issue #15): >= 30,000 2.01/s flat out, p99 <= 20 ms at a fixed [rate].
# A first unmeasured run of [warmup] seconds warms the silo up (.NET's tiered JIT, pools), before the stream's
# count is read. BENCH_SIM_PROCESSES=N spreads the simulator over N processes (tools/DeviceSimulator --processes).
#   bench/e2e-production.sh [devices=2000] [seconds=20] [rate=15000] [warmup=5]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
devices="${1:-2000}"; seconds="${2:-20}"; rate="${3:-15000}"; warmup="${4:-5}"
processes="${BENCH_SIM_PROCESSES:-1}"
bench_begin

stream=NHUB_TELEMETRY
start_production_silo silo Gateway__Dtls__MaxPeers=200000
for _ in $(seq 1 60); do [[ $(stream_messages $stream) =~ ^[0-9]+$ ]] && curl -s "http://127.0.0.1:$NATS_MONITOR/jsz?streams=true" | grep -q "\"$stream\"" && break; sleep 0.5; done
echo "== production silo (PostgreSQL $(psql --version | awk '{print $3}'), $(.tools/bin/nats-server --version 2>/dev/null || nats-server --version))"
provision_devices "$devices" e2e
if (( warmup > 0 )); then
    echo "== warm-up: $warmup s flat out, not measured"
    sim --scenario telemetry --target "coaps://127.0.0.1:$COAPS_PORT/telemetry" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
        --duration "$warmup" --processes "$processes" | grep -E "requests/s"
fi
before=$(stream_messages $stream)
pg_pids() { pgrep -f "$BENCH_PG_ROOT" | tr '\n' ' '; }
cpu0="$(cpu_seconds "$SILO_PID") $(cpu_seconds "$NATS_PID") $(cpu_seconds $(pg_pids))"
# The silo's own garbage per request and its GC pauses (System.Runtime meter on /metrics): unlike rates, these do not
# move with how fast the machine is that day.
gc_now() {
  local g; echo -n "$(prom "$API_URL" dotnet_gc_heap_total_allocated_bytes_total) $(prom "$API_URL" dotnet_gc_pause_time_seconds_total)"
  for g in gen0 gen1 gen2; do echo -n " $(prom "$API_URL" dotnet_gc_collections_total "gc_heap_generation=\"$g\"")"; done
}
gc0="$(gc_now)"
trace_during "$SILO_PID" 5 10 e2e
sim --scenario telemetry --target "coaps://127.0.0.1:$COAPS_PORT/telemetry" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
    --duration "$seconds" --server-pid "$SILO_PID" --processes "$processes" --json "$BENCH_WORK/e2e.json"
cpu1="$(cpu_seconds "$SILO_PID") $(cpu_seconds "$NATS_PID") $(cpu_seconds $(pg_pids))"
gc1="$(gc_now)"
python3 - "$cpu0" "$cpu1" "$BENCH_WORK/e2e.json" <<'PY'
import json, sys
a, b = (list(map(float, x.split())) for x in sys.argv[1:3]); r = json.load(open(sys.argv[3])); d = r["duration_s"]
names = ["silo (gateway+grains+API)", "nats-server", "postgres (all)"]
print("CPU during the run: " + ", ".join(f"{n} {y - x:.1f} s ({(y - x) / d:.2f} cores)" for n, x, y in zip(names, a, b))
      + f", simulator {r['client_cpu_s']} s ({r['client_cpu_s'] / d:.2f} cores)")
PY
python3 - "$gc0" "$gc1" "$BENCH_WORK/e2e.json" <<'PY'
import json, sys
(a0, p0, *c0), (a1, p1, *c1) = (list(map(float, x.split())) for x in sys.argv[1:3]); r = json.load(open(sys.argv[3]))
n = max(1, r["codes"].get("2.01", 0))
print(f"silo GC during the run: {(a1 - a0) / n / 1024:.1f} KiB allocated per 2.01, paused {p1 - p0:.2f} s of {r['duration_s']:.0f} s, "
      f"collections gen0/gen1/gen2 {'/'.join(f'{y - x:.0f}' for x, y in zip(c0, c1))}")
PY
sleep 1
after=$(stream_messages $stream)
created=$(json "$BENCH_WORK/e2e.json" 'r["codes"].get("2.01", 0)')
stored=$((after - before))
echo "JetStream $stream: $stored messages stored during the run; simulator saw $created x 2.01"
if (( stored >= created )); then echo "every 2.01 is in the stream (stored - 2.01 = $((stored - created)): stored, but the answer came after the simulator's timeout)"; else echo "MISSING: $((created - stored)) acknowledged messages are not in the stream"; exit 1; fi
trace_report e2e
# The same devices at a fixed offered rate: latency without the queueing of 2,000 requests in flight.
echo "== fixed offered rate $rate/s, 10 s"
sim --scenario telemetry --target "coaps://127.0.0.1:$COAPS_PORT/telemetry" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
    --duration 10 --rate "$rate" --server-pid "$SILO_PID" --json "$BENCH_WORK/e2e-rate.json" | grep -E "requests|latency|codes|CPU"
python3 - "$BENCH_WORK/e2e.json" "$BENCH_WORK/e2e-rate.json" "$rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); f = json.load(open(sys.argv[2])); rate = int(sys.argv[3])
ok = r["codes"].get("2.01", 0) / r["duration_s"]
print(f"e2e DTLS telemetry: {ok:.0f} x 2.01/s flat out (target 30,000: {'met' if ok >= 30000 else 'NOT met, %.0f%% of it' % (100 * ok / 30000)}), "
      f"p99 {r['latency_ms']['p99']} ms; at {rate}/s offered: {f['codes'].get('2.01', 0) / f['duration_s']:.0f} x 2.01/s, "
      f"p99 {f['latency_ms']['p99']} ms (target 20: {'met' if f['latency_ms']['p99'] <= 20 else 'NOT met'})")
PY
