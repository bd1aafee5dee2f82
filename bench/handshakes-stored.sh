#!/usr/bin/env bash
# Full DTLS 1.2 PSK handshakes per second on the production stack (PostgreSQL, nats-server, a production silo with
# its gateway), without and with the session store: the same storm from tools/DeviceSimulator three times, first
# without the connection_id extension (the session stays local: nothing is written), then with it (--cid on: every
# session is stored before the server's Finished, docs/stateless-gateway.md) on each store: the session table the
# gateway writes itself (Gateway:SessionStore:Kind=Postgres, the production default), then, after a silo restart on
# the same database, the session grains (Kind=Grains); each store twice, with every session closed (close_notify:
# erased again) and kept (--close-notify off). Prints handshakes/s, p50/p99 and the PostgreSQL writes per
# handshake (pg_stat_database: commits and rows written).
#   [HANDSHAKE_THREADS=32] bench/handshakes-stored.sh [seconds=15] [client-threads=32] [devices=200]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
seconds="${1:-15}"; threads="${2:-32}"; devices="${3:-200}"
bench_begin

tuning=(Gateway__Dtls__HandshakesPerSecondPerIp=100000 Gateway__Dtls__HandshakeBurstPerIp=100000
        Gateway__Dtls__HandshakeThreads="${HANDSHAKE_THREADS:-32}")
start_production_silo silo "${tuning[@]}"
provision_devices "$devices" hss

pg_writes() {
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d nhub_bench -Atc \
    "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = 'nhub_bench'"
}

storm() { # storm NAME CID [CLOSE_NOTIFY]
  local close="${3:-on}"
  sim --scenario handshakes --target "coaps://127.0.0.1:$COAPS_PORT" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
      --duration 3 --handshake-threads "$threads" --cid "$2" --close-notify "$close" >/dev/null
  local before after
  before=$(pg_writes)
  echo "== $1: $threads client threads, $devices identities, --cid $2, --close-notify $close"
  sim --scenario handshakes --target "coaps://127.0.0.1:$COAPS_PORT" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
      --duration "$seconds" --handshake-threads "$threads" --cid "$2" --close-notify "$close" --server-pid "$SILO_PID" --json "$BENCH_WORK/$1.json"
  sleep 1 # pg_stat_database is updated by each backend at transaction end and flushed within 500 ms
  after=$(pg_writes)
  python3 - "$BENCH_WORK/$1.json" "$before" "$after" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["handshakes"]
(c0, r0), (c1, r1) = (map(int, a.split("|")) for a in sys.argv[2:4])
total = h["completed"]
print(f"   {h['per_second']} handshakes/s, p50 {h['latency_ms']['p50']} ms, p99 {h['latency_ms']['p99']} ms, failed {h['failed']}; "
      f"PostgreSQL: {c1 - c0} commits, {r1 - r0} rows written"
      + (f" = {(c1 - c0) / total:.2f} commits and {(r1 - r0) / total:.2f} rows per handshake" if total else ""))
PY
}

storm local off
storm stored-table on
# Sessions kept, as devices keep them: no erase per handshake (the table grows by one row per handshake, trimmed to
# each device's newest 16).
storm stored-table-kept on off

stop_pid "$SILO_PID"
start_silo silo-grains ConnectionStrings__Postgres="$PG_CS" Nats__Url="nats://127.0.0.1:$NATS_PORT" Security__MasterKey="$BENCH_MASTER_KEY" \
    Orleans__ClusterId=bench Orleans__ServiceId=bench "${tuning[@]}" Gateway__SessionStore__Kind=Grains
storm stored-grains on
storm stored-grains-kept on off
