#!/usr/bin/env bash
# Command round trip over Observe: N DTLS devices observe /commands/<id>; commands are posted through the REST API
# at a fixed rate (round robin); latency is POST sent -> notification received (the device ACKs it, which marks the
# command delivered). No target in issue #7; a figure for the record.
#   bench/commands.sh [devices=1000] [commands-per-second=500] [seconds=15]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
devices="${1:-1000}"; rate="${2:-500}"; seconds="${3:-15}"
bench_begin

start_silo silo
provision_devices "$devices" cmd
echo "== NHub (embedded silo, Release): $devices observing devices, $rate commands/s"
sim --scenario observe-commands --target "coaps://127.0.0.1:$COAPS_PORT" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
    --duration "$seconds" --command-rate "$rate" --api "$API_URL" --api-key "$BENCH_API_KEY" --server-pid "$SILO_PID" --json "$BENCH_WORK/cmd.json"
