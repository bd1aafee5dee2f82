#!/usr/bin/env bash
# Plain-CoAP GET throughput: NHub's gateway vs libcoap's coap-server-notls, same machine, same load generator
# (tools/DeviceSimulator), same resource (/.well-known/core), one after the other. Three runs:
#   libcoap     coap-server-notls
#   embedded    NHub all-in-one: the silo process co-hosting the gateway (the development default)
#   standalone  NHub production shape: the Gateway.Udp process (an Orleans client) serves CoAP alone; a silo with
#               its gateway sockets off runs beside it, because the gateway cannot start without a cluster. The
#               benchmarked request never reaches the silo, which only idles (membership, dashboard).
# Every run first warms up for [warmup] seconds, unmeasured (the same for all three: .NET's tiered JIT reaches its
# optimized code under load, libcoap's caches fill), then measures for [seconds]. Prints each (throughput, latency,
# and the serving process's CPU per request; standalone: the gateway process, not the idle silo) and the ratios.
#   bench/plain-vs-libcoap.sh [devices=50] [seconds=15] [runs="libcoap embedded standalone"] [warmup=3]
set -euo pipefail
cd "$(dirname "$0")/.."
devices="${1:-50}"; seconds="${2:-15}"; runs="${3:-libcoap embedded standalone}"; warmup="${4:-3}"
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_tcp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
command -v coap-server-notls >/dev/null || bash scripts/install-deps.sh
for project in Silo Gateway.Udp tools/DeviceSimulator; do
    dotnet build "$project" -c Release -nologo -v q -clp:ErrorsOnly
done
sim() { dotnet tools/DeviceSimulator/bin/Release/net10.0/NHub.DeviceSimulator.dll --scenario get --devices "$devices" --duration "$seconds" --warmup "$warmup" --target "$1" --json "$2" --server-pid "$3" 2>/dev/null; }
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_started() { for _ in $(seq 1 120); do grep -q "Application started" "$1" && return 0; sleep 0.5; done; echo "did not start: $1" >&2; tail -20 "$1" >&2; exit 1; }
stop() { kill "$@" 2>/dev/null || true; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }
quiet=(Logging__LogLevel__Default=Warning "Logging__LogLevel__Microsoft.Hosting.Lifetime=Information")
# BENCH_SILO_ENV="K=V ...": added to the silo's and the gateway's environment, to compare a server-side setting (as in
# the scripts on bench/lib/common.sh).
server_env=(); [[ -n "${BENCH_SILO_ENV:-}" ]] && read -ra server_env <<<"$BENCH_SILO_ENV"

# A silo on free ports; $1: its log, then extra environment (the gateway's sockets and policy).
start_silo() {
    local log="$1"; shift
    silo_port=$(free_tcp); orleans_gateway=$(free_tcp)
    : >"$log"
    env Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$orleans_gateway" "${quiet[@]}" "${server_env[@]}" "$@" \
        dotnet Silo/bin/Release/net10.0/NHub.Silo.dll --urls "http://127.0.0.1:$(free_tcp)" >"$log" 2>&1 &
    silo=$!; pids+=("$silo")
    wait_started "$log"
}

for run in $runs; do
    port=$(free_port)
    case "$run" in
    libcoap)
        coap-server-notls -A 127.0.0.1 -p "$port" >"$work/libcoap.log" 2>&1 &
        server=$!; pids+=("$server")
        sleep 1
        echo "== libcoap coap-server-notls $(dpkg-query -W -f='${Version}' libcoap3-bin 2>/dev/null)"
        sim "coap://127.0.0.1:$port/.well-known/core" "$work/libcoap.json" "$server"
        stop "$server" ;;
    embedded)
        start_silo "$work/embedded.log" Gateway__Udp__BindAddress=127.0.0.1 Gateway__Udp__Port="$port" \
            Gateway__Dtls__Port="$(free_port)" Gateway__PlainMode=Enabled
        echo "== NHub embedded (silo co-hosting the gateway, Release)"
        sim "coap://127.0.0.1:$port/.well-known/core" "$work/embedded.json" "$silo"
        stop "$silo" ;;
    standalone)
        start_silo "$work/cluster.log" Gateway__PlainMode=Off Gateway__DtlsEnabled=false
        : >"$work/standalone.log"
        env Orleans__GatewayPort="$orleans_gateway" Gateway__Udp__BindAddress=127.0.0.1 Gateway__Udp__Port="$port" \
            Gateway__Dtls__Port="$(free_port)" Gateway__PlainMode=Enabled "${quiet[@]}" "${server_env[@]}" \
            dotnet Gateway.Udp/bin/Release/net10.0/NHub.Gateway.Udp.dll --urls "http://127.0.0.1:$(free_tcp)" \
            >"$work/standalone.log" 2>&1 &
        gateway=$!; pids+=("$gateway")
        wait_started "$work/standalone.log"
        echo "== NHub standalone (Gateway.Udp process alone serving; idle silo beside it, Release)"
        sim "coap://127.0.0.1:$port/.well-known/core" "$work/standalone.json" "$gateway"
        stop "$gateway" "$silo" ;;
    *) echo "unknown run: $run" >&2; exit 2 ;;
    esac
done

python3 - "$work" $runs <<'PY'
import json, os, sys
work, runs = sys.argv[1], sys.argv[2:]
r = {n: json.load(open(os.path.join(work, n + ".json"))) for n in runs}
for n in runs:
    # Server CPU (user + system, from /proc) per request over the measured window: the cost of one answer, which the
    # throughput (a closed loop sharing two cores with the generator) only shows through scheduling noise.
    cpu = r[n].get("server", {}).get("cpu_s")
    per = f"  server CPU {cpu * 1e6 / r[n]['requests']:.1f} us/req" if cpu and r[n]["requests"] else ""
    print(f"{n:>10}: {r[n]['throughput_rps']:>9} req/s  p50 {r[n]['latency_ms']['p50']} ms  p99 {r[n]['latency_ms']['p99']} ms{per}")
if "libcoap" in r:
    base = r["libcoap"]["throughput_rps"]
    for n in runs:
        if n != "libcoap":
            print(f"ratio {n}/libcoap: {r[n]['throughput_rps'] / base:.2f}x")
PY
