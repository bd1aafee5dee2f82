#!/usr/bin/env bash
# Session capacity: N concurrent DTLS PSK sessions, each with an Observe relation on /commands/<id>, held on one
# gateway. By default that is the standalone gateway process (Gateway.Udp, an Orleans client of an embedded silo
# that holds the device grains), so its RSS is the gateway's own; BENCH_GATEWAY=embedded uses the silo's co-hosted
# gateway instead (one process with gateway + grains + API).
# Target (#15): one million sessions in <= 4 GiB RSS with a flat thread count; smaller runs are held to the same 4 KiB a session.
# A process here may open at most ~20,000 sockets (ulimit -n is capped at 20000), so the sessions come from several
# simulator processes, spread over 127.0.0.1..127.0.0.N with N = sessions / 16,000 (at least 8, at most 250): each
# address has ~28k ephemeral ports.
# BENCH_GCDUMP=/path/to/dotnet-gcdump: after the hold, the gateway's heap by type (ranked by bytes) and its RSS after
# the full collection the dump runs. The run stops itself when the machine has less than BENCH_MIN_AVAILABLE_MIB
# (1024) left.
#   bench/sessions.sh [sessions=100000] [hold-seconds=20] [per-process=17000]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
total="${1:-100000}"; hold="${2:-20}"; per="${3:-17000}"
bench_begin

# BENCH_SILO_SETTINGS (space-separated KEY=VALUE) goes to the silo, e.g. for a million sessions a twin that goes offline
# and is collected soon after its relation was registered, so the silo beside the gateway fits this machine:
#   BENCH_SILO_SETTINGS="Devices__OfflineAfter=00:00:30 Orleans__GrainCollectionAge=00:01:30"
# shellcheck disable=SC2086
start_silo silo Gateway__Dtls__MaxPeers=$((total + 10000)) Gateway__Dtls__HandshakeQueueCapacity=100000 ${BENCH_SILO_SETTINGS:-}
SERVER_PID=$SILO_PID; SERVER_COAPS=$COAPS_PORT
if [[ "${BENCH_GATEWAY:-standalone}" == standalone ]]; then
  # BENCH_GATEWAY_SETTINGS (space-separated KEY=VALUE) goes to the gateway, e.g. DOTNET_GCConserveMemory=5.
  # shellcheck disable=SC2086
  start_gateway gateway Gateway__Dtls__MaxPeers=$((total + 10000)) Gateway__Dtls__HandshakeQueueCapacity=100000 Gateway__Coap__MaxObserveRelations=$((total + 10000)) ${BENCH_GATEWAY_SETTINGS:-}
  SERVER_PID=$GW_PID; SERVER_COAPS=$GW_COAPS_PORT
  echo "== standalone gateway (pid $GW_PID) of an embedded silo (pid $SILO_PID)"
else
  echo "== embedded silo's co-hosted gateway (pid $SILO_PID)"
fi
sleep 2
idle_rss=$(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status); idle_threads=$(awk '/Threads/ {print $2}' /proc/$SERVER_PID/status)
echo "gateway process idle: RSS $((idle_rss / 1024)) MiB, $idle_threads threads"
provision_devices "$total" ses --provision-concurrency 64 | tail -1
after_provision=$(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status)
echo "gateway process after provisioning $total devices: RSS $((after_provision / 1024)) MiB (silo: $(( $(awk '/VmRSS/ {print $2}' /proc/$SILO_PID/status) / 1024 )) MiB)"

procs=$(( (total + per - 1) / per ))
# About 48 handshakes in flight in all (BENCH_HANDSHAKES_IN_FLIGHT), however many processes share them: more only
# queues them at the gateway past their timeout on two cores, and the retries then crowd out new ones.
threads=$(( ${BENCH_HANDSHAKES_IN_FLIGHT:-48} / procs )); (( threads < 1 )) && threads=1
addresses=$(( (total + 15999) / 16000 )); (( addresses < 8 )) && addresses=8; (( addresses > 250 )) && addresses=250
sims=()
# All simulators connect at once; each creates its ready file when its sessions and relations are up. The hold
# starts when every one is ready; SIGTERM then ends them (each still writes its JSON).
for ((p = 0; p < procs; p++)); do
  offset=$((p * per)); n=$(( total - offset < per ? total - offset : per ))
  # A small gen0 budget per simulator: dozens of generator processes would otherwise each keep tens of MiB of it.
  env DOTNET_GCgen0size="${BENCH_SIM_GEN0:-0x400000}" dotnet "$SIM_DLL" --scenario sessions --target "coaps://127.0.0.1:$SERVER_COAPS" --credentials "$BENCH_WORK/creds.csv" --device-offset "$offset" \
      --devices "$n" --bind-addresses "$addresses" --duration 100000 --handshake-threads "$threads" --timeout 30 --ready-file "$BENCH_WORK/ready$p" \
      --server-pid "$SERVER_PID" --json "$BENCH_WORK/s$p.json" >"$BENCH_WORK/s$p.out" 2>&1 &
  BENCH_PIDS+=("$!"); sims+=("$!")
done
sample() { echo "$(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status) $(awk '/Threads/ {print $2}' /proc/$SERVER_PID/status)"; }
# The simulators' RSS summed, and what the machine has left (MiB): the run must fit the machine with its generator.
generator_rss() { local sum=0 pid; for pid in "${sims[@]}"; do sum=$(( sum + $(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0) )); done; echo $((sum / 1024)); }
available() { echo $(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024 )); }
# The run stops itself (servers and simulators with it) before the machine runs out of memory.
guard_memory() {
  local left; left=$(available)
  (( left >= ${BENCH_MIN_AVAILABLE_MIB:-1024} )) && return 0
  echo "stopped: only $left MiB of memory left on the machine (gateway $(( $(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status) / 1024 )) MiB, silo $(( $(awk '/VmRSS/ {print $2}' /proc/$SILO_PID/status) / 1024 )) MiB, simulators $(generator_rss) MiB)"
  exit 1
}
start=$(date +%s)
while (( $(ls "$BENCH_WORK"/ready* 2>/dev/null | wc -l) < procs )); do
  alive=0; for pid in "${sims[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
  (( alive == procs )) || { echo "a simulator exited during setup:"; tail -n 5 "$BENCH_WORK"/s*.out; exit 1; }
  read -r rss threads < <(sample)
  guard_memory
  echo "setup $(( $(date +%s) - start ))s: server RSS $((rss / 1024)) MiB, $threads threads; silo $(( $(awk '/VmRSS/ {print $2}' /proc/$SILO_PID/status) / 1024 )) MiB, simulators $(generator_rss) MiB, machine $(available) MiB available"
  sleep 10
done
echo "all $procs simulators ready after $(( $(date +%s) - start )) s; holding $hold s"
max_rss=0; min_t=100000; max_t=0
for ((i = 0; i < hold; i++)); do
  read -r rss threads < <(sample)
  guard_memory
  (( rss > max_rss )) && max_rss=$rss; (( threads < min_t )) && min_t=$threads; (( threads > max_t )) && max_t=$threads
  sleep 1
done
echo "hold: gateway process RSS max $((max_rss / 1024)) MiB, threads $min_t..$max_t; silo RSS $(( $(awk '/VmRSS/ {print $2}' /proc/$SILO_PID/status) / 1024 )) MiB; simulators $(generator_rss) MiB over $procs processes; machine $(available) MiB available"
if [[ -n "${BENCH_GCDUMP:-}" ]]; then
  # What the sessions keep alive, by type (dotnet-gcdump, e.g. dotnet tool install --tool-path /tmp/dntools dotnet-gcdump);
  # taking it runs a full collection, so the RSS read after it is the floor without floating garbage.
  "${BENCH_GCDUMP}" collect -p "$SERVER_PID" -o "$BENCH_WORK/gateway.gcdump" >/dev/null 2>&1 || echo "gcdump failed"
  # The report gives each type's object size and count: ranked here by their product, the bytes the type holds.
  "${BENCH_GCDUMP}" report "$BENCH_WORK/gateway.gcdump" 2>/dev/null \
    | awk 'NR <= 2 { print; next } $1 ~ /^[0-9,]+$/ && $2 ~ /^[0-9,]+$/ { b = $1; c = $2; gsub(",", "", b); gsub(",", "", c); $1 = ""; $2 = ""; printf "%14d %10d %s\n", b * c, c, $0 }' \
    | sort -k1,1nr | head -40 > "${BENCH_GCDUMP_REPORT:-/tmp/sessions-gcdump.txt}" || true
  sleep 5
  read -r rss threads < <(sample)
  echo "after a full collection: gateway process RSS $((rss / 1024)) MiB; report in ${BENCH_GCDUMP_REPORT:-/tmp/sessions-gcdump.txt}"
fi
for pid in "${sims[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${sims[@]}"; do wait "$pid" || true; done
cat "$BENCH_WORK"/s*.out | grep -E "sessions:|handshakes:|server pid" || true
python3 - "$BENCH_WORK" "$procs" "$total" "$max_rss" "$min_t" "$max_t" "$idle_threads" "$idle_rss" <<'PY'
import json, sys, glob
work, procs, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold_rss, hold_tmin, hold_tmax, idle_threads = int(sys.argv[4]) / 1024, int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
idle_rss = int(sys.argv[8]) / 1024
rs = [json.load(open(f)) for f in sorted(glob.glob(work + "/s[0-9]*.json"))]
est = sum(r["sessions_established"] for r in rs); obs = sum(r["observing"] for r in rs); open_ = sum(r["sessions_open_at_end"] for r in rs)
hs = sum(r["handshakes"]["completed"] for r in rs); failed = sum(r["handshakes"]["failed"] for r in rs)
print(f"sessions: {est}/{total} established ({failed} handshakes failed), {obs} observing, {open_} open at the end")
# Issue #15's budget: a million sessions in 4 GiB, i.e. 4 KiB a session on top of the idle process, scaled to this run.
budget = idle_rss + 4 * total / 1024
per = (hold_rss - idle_rss) * 1024 * 1024 / total
print(f"gateway process during the hold: RSS max {hold_rss:.0f} MiB ({hold_rss / 1024:.2f} GiB; {per / 1000:.2f} KB a session over the idle "
      f"{idle_rss:.0f} MiB, a million would take {(idle_rss + per * 1e6 / 1048576) / 1024:.2f} GiB), threads {hold_tmin}..{hold_tmax} (idle {idle_threads}); "
      f"within 4 GiB per million ({budget:.0f} MiB here): {'met' if hold_rss <= budget and open_ >= total and obs >= total else 'NOT met'}")
PY
