#!/usr/bin/env bash
# Plain-CoAP GET throughput: NHub's gateway vs libcoap's coap-server-notls, same machine, same load generator
# (tools/DeviceSimulator), same resource (/.well-known/core), one after the other. Prints both and the ratio.
#   bench/plain-vs-libcoap.sh [devices=50] [seconds=15]
set -euo pipefail
cd "$(dirname "$0")/.."
devices="${1:-50}"; seconds="${2:-15}"
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
command -v coap-server-notls >/dev/null || bash scripts/install-deps.sh
dotnet build Silo -c Release -nologo -v q -clp:ErrorsOnly
dotnet build tools/DeviceSimulator -c Release -nologo -v q -clp:ErrorsOnly
sim() { dotnet tools/DeviceSimulator/bin/Release/net10.0/NHub.DeviceSimulator.dll --scenario get --devices "$devices" --duration "$seconds" --target "$1" --json "$2" 2>/dev/null; }
work="$(mktemp -d)"; trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

port=$(free_port)
coap-server-notls -A 127.0.0.1 -p "$port" >"$work/libcoap.log" 2>&1 &
libcoap=$!
sleep 1
echo "== libcoap coap-server-notls $(dpkg-query -W -f='${Version}' libcoap3-bin 2>/dev/null)"
sim "coap://127.0.0.1:$port/.well-known/core" "$work/libcoap.json"
kill $libcoap; wait $libcoap 2>/dev/null || true

port=$(free_port); dtls=$(free_port); silo_port=$(free_port); gateway_port=$(free_port); http=$(free_port)
env Gateway__Udp__BindAddress=127.0.0.1 Gateway__Udp__Port="$port" Gateway__Dtls__Port="$dtls" Gateway__PlainMode=Enabled \
    Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$gateway_port" Logging__LogLevel__Default=Warning \
    "Logging__LogLevel__Microsoft.Hosting.Lifetime=Information" \
    dotnet Silo/bin/Release/net10.0/NHub.Silo.dll --urls "http://127.0.0.1:$http" >"$work/silo.log" 2>&1 &
silo=$!
for _ in $(seq 1 120); do grep -q "Application started" "$work/silo.log" && break; sleep 0.5; done
echo "== NHub gateway (embedded silo, Release)"
sim "coap://127.0.0.1:$port/.well-known/core" "$work/nhub.json"
kill $silo; wait $silo 2>/dev/null || true

python3 - "$work/libcoap.json" "$work/nhub.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"ratio NHub/libcoap: {b['throughput_rps'] / a['throughput_rps']:.2f}x  ({b['throughput_rps']} vs {a['throughput_rps']} req/s; p99 {b['latency_ms']['p99']} vs {a['latency_ms']['p99']} ms)")
PY
