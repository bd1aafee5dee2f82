#!/usr/bin/env bash
# Issue #18's whole harness in one command: the fault scenarios (bench/faults.sh: kill -9 of each process under DTLS
# load, every acknowledged reading compared with the JetStream stream) and the floods of malformed input
# (bench/flood.sh: control device latency, RSS growth, 5.00 count, error-log lines). The correctness cases
# (Message ID reuse in a new session, 4.29 per peer, storage outages, malformed REST) are tests in ./test.sh.
#   bench/reliability.sh [devices=200] [seconds=30] [coap_datagrams=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0
bench/faults.sh "${1:-200}" "${2:-30}" || rc=1
BENCH_SKIP_BUILD=1 bench/flood.sh "${3:-1000000}" || rc=1
exit $rc
