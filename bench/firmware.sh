#!/usr/bin/env bash
# Firmware download over DTLS: 100 devices fetch the same image with Block2 (RFC 7959) again and again, each
# verifying the SHA-256 the management API published. Target: >= 5,000 blocks/s across 100 devices.
#   bench/firmware.sh [devices=100] [seconds=15] [block-size=512] [image-KiB=256]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
devices="${1:-100}"; seconds="${2:-15}"; block="${3:-512}"; kib="${4:-256}"
bench_begin

start_silo silo
head -c $((kib * 1024)) /dev/urandom >"$BENCH_WORK/fw.bin"
curl -sf -X PUT -H "Authorization: Bearer $BENCH_API_KEY" -H 'Content-Type: application/octet-stream' \
     --data-binary @"$BENCH_WORK/fw.bin" "$API_URL/api/v4/manage/firmware/bench-1.0" >/dev/null
provision_devices "$devices" fw
trace_during "$SILO_PID" 5 8 firmware
echo "== NHub gateway (embedded silo, Release): $devices devices, ${kib} KiB image, Block2 $block B"
sim --scenario firmware --target "coaps://127.0.0.1:$COAPS_PORT" --credentials "$BENCH_WORK/creds.csv" --devices "$devices" \
    --duration "$seconds" --firmware-version bench-1.0 --block-size "$block" --api "$API_URL" --api-key "$BENCH_API_KEY" \
    --server-pid "$SILO_PID" --json "$BENCH_WORK/fw.json"
trace_report firmware
python3 - "$BENCH_WORK/fw.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = r["blocks_per_s"]
print(f"firmware: {b} blocks/s, {r['downloads_verified']} downloads verified, {r['sha256_mismatches']} mismatches; "
      f"target 5,000 blocks/s: {'met' if b >= 5000 else 'NOT met (%.0f%% of it)' % (100 * b / 5000)}")
PY
