# Shared by the bench scripts (sourced, not run): free ports, the embedded or production silo, the simulator.
# Every server gets fresh free loopback ports and a temp dir; the caller's EXIT trap runs bench_cleanup.
# Sourcing it also sets strict mode and moves to the repository root, where every path below starts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BENCH_API_KEY="${BENCH_API_KEY:-nhub-bench-management-api-key-0123456789}"
BENCH_MASTER_KEY="bmh1Yi1iZW5jaC1tYXN0ZXIta2V5LTMyLWJ5dGVzISE="
BENCH_PIDS=()

free_udp_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_tcp_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bench_workdir() { BENCH_WORK="$(mktemp -d /tmp/nhub-bench.XXXXXX)"; }

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [[ -n "${BENCH_PG_ROOT:-}" ]] && pg_run pg_ctl -D "$BENCH_PG_ROOT/data" -m fast -w stop >/dev/null 2>&1 || true
  [[ -n "${BENCH_PG_ROOT:-}" && -d "$BENCH_PG_ROOT" ]] && rm -rf "$BENCH_PG_ROOT"
  [[ -n "${BENCH_WORK:-}" && -d "$BENCH_WORK" ]] && rm -rf "$BENCH_WORK"
  return 0
}

bench_build() {
  [[ -n "${BENCH_SKIP_BUILD:-}" ]] && return 0   # built beforehand (so an exclusive lock is not held through a build)
  dotnet build Silo -c Release -nologo -v q -clp:ErrorsOnly
  dotnet build Gateway.Udp -c Release -nologo -v q -clp:ErrorsOnly   # start_gateway's standalone gateway
  dotnet build tools/DeviceSimulator -c Release -nologo -v q -clp:ErrorsOnly
}

SIM_DLL=tools/DeviceSimulator/bin/Release/net10.0/NHub.DeviceSimulator.dll
sim() { dotnet "$SIM_DLL" "$@"; }

# Every benchmark's start: build, a work dir that is removed (with the servers stopped) on exit, the machine line.
bench_begin() { bench_build; bench_workdir; trap bench_cleanup EXIT; machine_line; }

# Provisions devices through the REST API into $BENCH_WORK/creds.csv: provision_devices COUNT PREFIX [more sim options]
provision_devices() {
  sim provision --api "$API_URL" --api-key "$BENCH_API_KEY" --devices "$1" --device-prefix "$2" --out "$BENCH_WORK/creds.csv" "${@:3}"
}

# BENCH_SILO_ENV="K=V ..." is added to the environment of every silo and gateway (not of the simulator), to compare a
# runtime setting on the server side alone, e.g. BENCH_SILO_ENV=DOTNET_TC_QuickJit=1 (tier 0 back on).
server_env() { SERVER_ENV=(); [[ -n "${BENCH_SILO_ENV:-}" ]] && read -ra SERVER_ENV <<<"$BENCH_SILO_ENV"; return 0; }

# start_silo NAME [ENV=VALUE ...]: an NHub silo (gateway + API co-hosted) on free ports. Sets SILO_PID, COAP_PORT,
# COAPS_PORT, TCP_PORT (coap+tcp), TLS_PORT (coaps+tcp), HTTP_PORT, API_URL. Embedded (in memory) unless the extra settings configure PostgreSQL/NATS.
start_silo() {
  local name="$1"; shift; server_env
  COAP_PORT=$(free_udp_port); COAPS_PORT=$(free_udp_port); HTTP_PORT=$(free_tcp_port); TCP_PORT=$(free_tcp_port); TLS_PORT=$(free_tcp_port)
  local silo_port gateway_port; silo_port=$(free_tcp_port); gateway_port=$(free_tcp_port); ORLEANS_GATEWAY_PORT=$gateway_port
  API_URL="http://127.0.0.1:$HTTP_PORT"
  env DOTNET_ENVIRONMENT=Production ASPNETCORE_ENVIRONMENT=Production \
      Orleans__SiloPort="$silo_port" Orleans__GatewayPort="$gateway_port" Orleans__AdvertisedIPAddress=127.0.0.1 \
      Gateway__Udp__BindAddress=127.0.0.1 Gateway__Udp__Port="$COAP_PORT" \
      Gateway__Dtls__BindAddress=127.0.0.1 Gateway__Dtls__Port="$COAPS_PORT" \
      Gateway__Tcp__BindAddress=127.0.0.1 Gateway__Tcp__Port="$TCP_PORT" Gateway__Tcp__TlsPort="$TLS_PORT" \
      Gateway__Dtls__HandshakesPerSecondPerIp=1000000 Gateway__Dtls__HandshakeBurstPerIp=1000000 \
      ManagementApi__ApiKeys__0="$BENCH_API_KEY" \
      Logging__LogLevel__Default=Warning "Logging__LogLevel__Microsoft.Hosting.Lifetime=Information" \
      "${SERVER_ENV[@]}" "$@" \
      dotnet Silo/bin/Release/net10.0/NHub.Silo.dll --urls "$API_URL" >"$BENCH_WORK/$name.log" 2>&1 &
  SILO_PID=$!
  BENCH_PIDS+=("$SILO_PID")
  wait_started silo "$name" "$SILO_PID"
}

# start_gateway NAME [ENV=VALUE ...]: the standalone CoAP gateway (Gateway.Udp, an Orleans client) of the silo started
# by start_silo. Sets GW_PID, GW_COAP_PORT, GW_COAPS_PORT, GW_HTTP_PORT (its /metrics).
start_gateway() {
  local name="$1"; shift; server_env
  GW_COAP_PORT=$(free_udp_port); GW_COAPS_PORT=$(free_udp_port); local http; http=$(free_tcp_port)
  env DOTNET_ENVIRONMENT=Production ASPNETCORE_ENVIRONMENT=Production Orleans__GatewayPort="$ORLEANS_GATEWAY_PORT" \
      Gateway__Udp__BindAddress=127.0.0.1 Gateway__Udp__Port="$GW_COAP_PORT" \
      Gateway__Dtls__BindAddress=127.0.0.1 Gateway__Dtls__Port="$GW_COAPS_PORT" \
      Gateway__Tcp__BindAddress=127.0.0.1 Gateway__Tcp__Port="$(free_tcp_port)" Gateway__Tcp__TlsPort="$(free_tcp_port)" \
      Gateway__Dtls__HandshakesPerSecondPerIp=1000000 Gateway__Dtls__HandshakeBurstPerIp=1000000 \
      Logging__LogLevel__Default=Warning "Logging__LogLevel__Microsoft.Hosting.Lifetime=Information" \
      "${SERVER_ENV[@]}" "$@" \
      dotnet Gateway.Udp/bin/Release/net10.0/NHub.Gateway.Udp.dll --urls "http://127.0.0.1:$http" >"$BENCH_WORK/$name.log" 2>&1 &
  GW_PID=$!; GW_HTTP_PORT=$http
  BENCH_PIDS+=("$GW_PID")
  wait_started gateway "$name" "$GW_PID"
}

# wait_for_line NAME PATTERN PID [SECONDS=120]: until PATTERN appears in $BENCH_WORK/NAME.log; fails (with the log's
# tail) if the process exits first or the time runs out.
wait_for_line() {
  local name="$1" pattern="$2" pid="$3" tries=$(( ${4:-120} * 10 )) _
  for _ in $(seq 1 "$tries"); do
    grep -q "$pattern" "$BENCH_WORK/$name.log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name: no '$pattern' in its log:" >&2; tail -30 "$BENCH_WORK/$name.log" >&2; return 1
}

# wait_started KIND NAME PID: an NHub host's "Application started" line in $BENCH_WORK/NAME.log (2 min).
wait_started() { wait_for_line "$2" "Application started" "$3" || { echo "$1 $2 did not start" >&2; return 1; }; }

# log_mark NAME: the current length of $BENCH_WORK/NAME.log. log_problems NAME MARK: its warning and error lines since
# the mark, counted, then by event (the most frequent 8) with the first message of each event kind.
log_mark() { wc -l <"$BENCH_WORK/$1.log"; }
log_problems() {
  local lines; lines=$(sed -n "$(($2 + 1)),\$p" "$BENCH_WORK/$1.log")
  echo "$1 log during the run: $(grep -c '^warn:' <<<"$lines" || true) warnings, $(grep -cE '^(fail|crit):' <<<"$lines" || true) errors"
  grep -E '^(warn|fail|crit):' <<<"$lines" | sort | uniq -c | sort -rn | head -8 || true
  grep -A1 -E '^(warn|fail|crit):' <<<"$lines" | awk '/^(warn|fail|crit):/ { k = $0; next } k != "" && !(k in seen) { seen[k] = 1; print "  " k ":" substr($0, 1, 240) } { k = "" }' || true
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# json FILE EXPR: a value from a simulator JSON result (python expression over `r`).
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

machine_line() { echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) $(nproc) cores; load:$(uptime | sed 's/.*load average://')"; }

# PostgreSQL as the tests start it (tests/NHub.Testing/PostgresServer.cs): initdb in a temp dir, trust auth, a free
# port, run as the postgres user when we are root. fsync stays ON here (a benchmark of the production path).
pg_run() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$(command -v "$1")" "${@:2}"; else "$@"; fi; }
# pg_start: (re)starts the server of start_postgres on its data dir and port.
pg_start() {
  pg_run pg_ctl -D "$BENCH_PG_ROOT/data" -l "$BENCH_PG_ROOT/server.log" -w -t 60 \
      -o "-p $PG_PORT -k $BENCH_PG_ROOT -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
}
start_postgres() {
  BENCH_PG_ROOT="$(mktemp -d /tmp/nhub-bench-pg.XXXXXX)"; PG_PORT=$(free_tcp_port)
  [[ $(id -u) == 0 ]] && chown postgres:postgres "$BENCH_PG_ROOT"
  pg_run initdb -D "$BENCH_PG_ROOT/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
  pg_start
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc 'CREATE DATABASE nhub_bench' >/dev/null
  PG_CS="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=nhub_bench;Pooling=true"
}

# start_production_silo NAME [ENV=VALUE ...]: PostgreSQL (migrated) + nats-server + a production-mode silo on them.
start_production_silo() {
  local name="$1"; shift
  start_postgres
  start_nats
  ConnectionStrings__Postgres="$PG_CS" dotnet Silo/bin/Release/net10.0/NHub.Silo.dll migrate >"$BENCH_WORK/migrate.log" 2>&1 \
    || { cat "$BENCH_WORK/migrate.log"; return 1; }
  start_silo "$name" ConnectionStrings__Postgres="$PG_CS" Nats__Url="nats://127.0.0.1:$NATS_PORT" Security__MasterKey="$BENCH_MASTER_KEY" \
      Orleans__ClusterId=bench Orleans__ServiceId=bench "$@"
}

# start_production_gateway NAME [ENV=VALUE ...]: a standalone gateway of the production silo (same cluster, found
# through PostgreSQL, streams on the same nats-server). Sets what start_gateway sets.
start_production_gateway() {
  local name="$1"; shift
  start_gateway "$name" ConnectionStrings__Postgres="$PG_CS" Nats__Url="nats://127.0.0.1:$NATS_PORT" Security__MasterKey="$BENCH_MASTER_KEY" \
      Orleans__ClusterId=bench Orleans__ServiceId=bench "$@"
}

# nats-server >= 2.10 with JetStream (from .tools/bin, as scripts/install-deps.sh installs it) and its monitoring port.
start_nats() {
  NATS_PORT=$(free_tcp_port); NATS_MONITOR=$(free_tcp_port)
  local bin=.tools/bin/nats-server; [[ -x $bin ]] || bin=$(command -v nats-server)
  "$bin" -js -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR" -sd "$BENCH_WORK/nats" -n nhub-bench >"$BENCH_WORK/nats.log" 2>&1 &
  NATS_PID=$!; BENCH_PIDS+=("$NATS_PID")
  wait_for_line nats "Server is ready" "$NATS_PID" 30
}

# stream_messages NAME: messages stored in a JetStream stream (monitoring endpoint /jsz).
stream_messages() {
  curl -s "http://127.0.0.1:$NATS_MONITOR/jsz?streams=true" | python3 -c '
import json, sys
name = sys.argv[1]; doc = json.load(sys.stdin)
print(sum(s["state"]["messages"] for a in doc.get("account_details", []) for s in a.get("stream_detail", []) if s["name"] == name))' "$1"
}

# cpu_seconds PID...: user+system CPU seconds used so far by the processes (from /proc/PID/stat, USER_HZ = 100).
cpu_seconds() {
  local total=0 pid
  for pid in "$@"; do
    [[ -r /proc/$pid/stat ]] || continue
    total=$(awk -v t="$total" '{ sub(/.*\) /, ""); split($0, f, " "); printf "%.2f", t + (f[12] + f[13]) / 100 }' /proc/$pid/stat)
  done
  echo "$total"
}

# trace_during PID DELAY SECONDS NAME: with BENCH_TRACE=1, a dotnet-trace CPU sample of PID for SECONDS starting after
# DELAY (in the background), reported with `dotnet-trace report ... topN` at the end (trace_report NAME).
trace_during() {
  [[ -n "${BENCH_TRACE:-}" ]] || return 0
  local tool; tool=$(command -v dotnet-trace || echo /tmp/dntools/dotnet-trace); [[ -x $tool ]] || { echo "dotnet-trace not installed" >&2; return 0; }
  ( sleep "$2"; "$tool" collect -p "$1" --profile dotnet-sampled-thread-time --format Speedscope --duration "00:00:$(printf %02d "$3")" \
      -o "$BENCH_WORK/$4.nettrace" >/dev/null 2>&1 ) &
  BENCH_TRACE_PID=$!
}
trace_report() {
  [[ -n "${BENCH_TRACE:-}" && -n "${BENCH_TRACE_PID:-}" ]] || return 0
  wait "$BENCH_TRACE_PID" || true
  local tool; tool=$(command -v dotnet-trace || echo /tmp/dntools/dotnet-trace)
  echo "== dotnet-trace thread-time sample of the server ($1), waits removed (bench/lib/profile.py)"
  python3 bench/lib/profile.py "$BENCH_WORK/$1.speedscope.json" "${BENCH_TRACE_TOP:-30}"
  [[ -n "${BENCH_TRACE_KEEP:-}" ]] && cp "$BENCH_WORK/$1".* "$BENCH_TRACE_KEEP/" 2>/dev/null || true
}

# Prometheus scrapes of a host's /metrics (URL = its HTTP base).
# prom URL NAME [LABEL-SUBSTRING...]: the sum of a Prometheus metric's samples at URL/metrics.
prom() {
  curl -s "$1/metrics" | python3 -c '
import re, sys
name, labels = sys.argv[1], sys.argv[2:]
total = 0.0
for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)", sys.stdin.read(), re.M):
    if m.group(1) == name and all(l in (m.group(2) or "") for l in labels):
        total += float(m.group(3))
print(int(total) if total.is_integer() else round(total, 3))' "${@:2}"
}
# by_label URL NAME LABEL: "value=count ..." of a metric's samples by one label.
by_label() {
  curl -s "$1/metrics" | python3 -c '
import re, sys, collections
name, label = sys.argv[1], sys.argv[2]; out = collections.Counter()
for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)", sys.stdin.read(), re.M):
    if m.group(1) == name:
        v = re.search(label + r"=\"([^\"]*)\"", m.group(2) or ""); out[v.group(1) if v else "-"] += float(m.group(3))
print(" ".join(f"{k}={int(v)}" for k, v in sorted(out.items())) or "none")' "$2" "$3"
}
# settled URL NAME...: the exporter serves a cached scrape for a moment; two reads a second apart that agree are current.
settled() { local a b; a=$(prom "$@"); while :; do sleep 1; b=$(prom "$@"); [[ "$a" == "$b" ]] && { echo "$b"; return; }; a=$b; done; }
