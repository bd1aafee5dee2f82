#!/usr/bin/env bash
# Faults under DTLS telemetry load, on the production shape (PostgreSQL + nats-server with JetStream + a production
# silo; a standalone gateway where the fault needs one). For each fault, on a fresh stack:
#   silo                kill -9 of the silo that co-hosts the gateway the devices talk to, restarted at once
#   gateway             kill -9 of a standalone gateway (an Orleans client of the silo), restarted at once
#   silo-under-gateway  kill -9 of the silo while devices keep talking to a live standalone gateway
#   nats                kill -9 of nats-server (JetStream file store kept), restarted at once
#   postgres            PostgreSQL stopped with -m immediate, started again after --pg-down seconds (3)
# The devices are `NHub.DeviceSimulator --scenario telemetry-audit`: numbered readings, each kept until 2.01
# (retransmitted with the same Message ID, then sent again after a reconnect or an error code). Afterwards
# `stream-audit` reads the whole JetStream telemetry stream and compares it with every acknowledged reading.
# Reported per fault: acknowledged readings, missing (goal 0), stored twice under one request (goal 0), stored twice
# after the device's own retry (at-least-once, docs/telemetry-envelope.md), the outage, and the time from the
# restarted process being ready to the first 2.01 (goal <= 2 s). Exit 1 if a reading is missing or duplicated.
#   bench/faults.sh [devices=200] [seconds=30] [faults="silo gateway silo-under-gateway nats postgres"]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
devices="${1:-200}"; seconds="${2:-30}"; faults="${3:-silo gateway silo-under-gateway nats postgres}"
kill_at="${FAULT_AT:-8}"; pg_down="${PG_DOWN:-3}"
bench_begin

now_ms() { date +%s%3N; }
# The command line and environment of a running process, to start it again exactly so (same ports, same store).
capture() { tr '\0' '\n' <"/proc/$1/environ" >"$BENCH_WORK/$2.env"; tr '\0' '\n' <"/proc/$1/cmdline" >"$BENCH_WORK/$2.cmd"; }
relaunch() { # NAME LOG: starts the captured process again; sets RELAUNCHED_PID
  local envs cmd; mapfile -t envs <"$BENCH_WORK/$1.env"; mapfile -t cmd <"$BENCH_WORK/$1.cmd"
  env -i "${envs[@]}" "${cmd[@]}" >"$BENCH_WORK/$2.log" 2>&1 &
  RELAUNCHED_PID=$!; BENCH_PIDS+=("$RELAUNCHED_PID")
}
kill9() { kill -9 "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The stack runs with its defaults: nothing is tuned for this test.
results=()
for fault in $faults; do
  echo
  echo "== fault: $fault ($devices DTLS devices, ${seconds} s, fault at ${kill_at} s)"
  start_production_silo "silo-$fault"
  target_port=$COAPS_PORT
  if [[ $fault == gateway || $fault == silo-under-gateway ]]; then
    start_production_gateway "gw-$fault"
    target_port=$GW_COAPS_PORT
  fi
  provision_devices "$devices" "f-$fault-" >/dev/null
  rm -f "$BENCH_WORK/$fault.ready"
  sim --scenario telemetry-audit --target "coaps://127.0.0.1:$target_port/telemetry" --credentials "$BENCH_WORK/creds.csv" \
      --devices "$devices" --duration "$seconds" --timeout 0.5 --handshake-timeout 5 --ready-file "$BENCH_WORK/$fault.ready" \
      --acked "$BENCH_WORK/$fault.acked.csv" --json "$BENCH_WORK/$fault.json" >"$BENCH_WORK/$fault.sim.log" 2>&1 &
  sim_pid=$!; BENCH_PIDS+=("$sim_pid")
  for _ in $(seq 1 600); do [[ -f $BENCH_WORK/$fault.ready ]] && break; kill -0 $sim_pid 2>/dev/null || break; sleep 0.1; done
  sleep "$kill_at"
  case $fault in
    silo|silo-under-gateway)
      victim=$SILO_PID; capture "$victim" silo; kill9 "$victim"
      restart_ms=$(now_ms); relaunch silo "silo-$fault-restarted"; wait_for_line "silo-$fault-restarted" "Application started" "$RELAUNCHED_PID"
      SILO_PID=$RELAUNCHED_PID ;;
    gateway)
      victim=$GW_PID; capture "$victim" gw; kill9 "$victim"
      restart_ms=$(now_ms); relaunch gw "gw-$fault-restarted"; wait_for_line "gw-$fault-restarted" "Application started" "$RELAUNCHED_PID" ;;
    nats)
      victim=$NATS_PID; capture "$victim" nats; kill9 "$victim"
      restart_ms=$(now_ms); relaunch nats nats-restarted; wait_for_line nats-restarted "Server is ready" "$RELAUNCHED_PID" 30; NATS_PID=$RELAUNCHED_PID ;;
    postgres)
      pg_run pg_ctl -D "$BENCH_PG_ROOT/data" -m immediate -w stop >/dev/null
      sleep "$pg_down"; restart_ms=$(now_ms); pg_start ;;
    *) echo "unknown fault $fault" >&2; exit 2 ;;
  esac
  ready_ms=$(now_ms)
  wait "$sim_pid" || true
  sed -n '/^telemetry-audit/,$p' "$BENCH_WORK/$fault.sim.log"
  audit_rc=0
  sim stream-audit --nats "nats://127.0.0.1:$NATS_PORT" --acked "$BENCH_WORK/$fault.acked.csv" --json "$BENCH_WORK/$fault.audit.json" || audit_rc=$?
  line=$(python3 - "$BENCH_WORK/$fault.acked.csv" "$BENCH_WORK/$fault.audit.json" "$restart_ms" "$ready_ms" "$fault" "$BENCH_WORK/$fault.json" <<'PY'
import csv, json, sys
acked, audit, restart, ready, fault = sys.argv[1], json.load(open(sys.argv[2])), *map(int, sys.argv[3:5]), sys.argv[5]
gap = json.load(open(sys.argv[6]))["audit"]["longest_gap_ms"]
# "restart" is taken once the killed process is gone (or PostgreSQL has stopped): a 2.01 before it may still be one
# the dying process sent.
first = min((t for t in (int(r["acked_unix_ms"]) for r in csv.DictReader(open(acked))) if t > restart), default=None)
outage = gap if first else None  # the longest time in the run without any 2.01
to_ready = ready - restart
recovery = (first - ready) if first else None
ok = audit["missing"] == 0 and audit["duplicates_one_request"] == 0
print(f"| {fault} | {audit['acked']:,} | {audit['missing']} | {audit['duplicates_one_request']} | {audit['duplicates_after_retry']} | "
      f"{audit['stored_not_acked']} | {outage / 1000 if outage is not None else 'none'} s | {to_ready / 1000:.1f} s | "
      f"{(str(max(recovery, 0) / 1000) + ' s') if recovery is not None else 'no 2.01 after'} | {'ok' if ok else 'FAILED'} |")
PY
)
  echo "$line"; results+=("$line")
  bench_cleanup; BENCH_PIDS=(); BENCH_PG_ROOT=""; bench_workdir
  [[ $audit_rc == 0 ]] || failed=1
done
echo
echo "| fault | acked | missing | stored twice, one request | stored twice after a retry | stored, not acked | outage | restart to ready | ready to first 2.01 | |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${results[@]}"
[[ -z "${failed:-}" ]]
