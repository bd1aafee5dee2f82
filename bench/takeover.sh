#!/usr/bin/env bash
# Gateway takeover (issue #13): kill -9 of a standalone gateway holding N CID sessions with Observe relations; how
# long until 99 % of its devices are served again by the survivor, with how many handshakes (target: zero) and how
# much PostgreSQL write load per handshake and per takeover.
#
# The stack: PostgreSQL (fsync on) + nats-server + a production silo, and TWO standalone gateways (Gateway:NodeId 1
# and 2, the same Connection ID length) bound to ONE DTLS port: each gateway's receive sockets join the port's Linux
# SO_REUSEPORT group (DatagramSocket.BindGroup; processes of the same user may share a group), and the kernel hashes
# every client address to one socket of the group. When a process dies its sockets leave the group and the kernel
# hashes over the survivor's sockets only: every flow of the dead gateway now reaches the survivor, with no balancer.
#
# The devices: `NHub.DeviceSimulator --scenario observe-ping --cid on`: a DTLS handshake each (the empty
# connection_id extension: the device writes the gateway's CID, whose first byte is that gateway's NodeId), an
# Observe registration on /commands/<id>, then a CoAP ping (empty CON, answered by RST) every --uplink-every S from a
# random phase, retransmitted after --timeout up to twice. A device's session moves to the survivor only when its
# next record arrives, so the time to 99 % is bounded below by the ping interval.
#
# Measured: after setup the gateway holding more sessions (nhub_dtls_sessions on each /metrics) is killed with -9.
# From the kill: per device the first answer to a ping sent after it (the simulator; 50/90/99 %, for the victim's
# devices by the CID's node byte), the survivor's nhub_dtls_takeovers_total by result (sampled every second: the
# time to 99 % of the victim's sessions taken over) and its successful handshakes (target 0). PostgreSQL writes
# (pg_stat_wal, and rows per table from pg_stat_user_tables; see pg_writes) over the handshakes (the simulators pause
# after them), the Observe registrations, an idle window with the devices pinging (the background), a control batch
# of commands (one to each of --command-sample devices, delivery without a takeover), and the takeover phase. Then
# the same command batch after the kill: delivered, missing, delivered twice. RSS of both gateways before the kill,
# of the survivor after; the CPU of every process during the handshakes; the simulators' CPU.
#   bench/takeover.sh [devices=1000] [uplink-every=10] [command-sample=200]
source "$(dirname "$0")/lib/common.sh"   # strict mode, repository root
devices="${1:-1000}"; every="${2:-10}"; sample="${3:-200}"
bench_begin

now_ms() { date +%s%3N; }
# pg_writes FILE: PostgreSQL's write counters, read 11 s after the call (a backend flushes its statistics at most once
# a second while busy and within 10 s of going idle: the read holds everything done before the call), to FILE as
# "name value" lines:
#   wal_records wal_bytes wal_sync   pg_stat_wal (the whole server): WAL records, bytes, and WAL fsyncs (commits
#                                    flushed: a group commit flushes several), the write load that costs
#   xact_commit                      pg_stat_database of nhub_bench: transactions, read-only ones included
#   ins:T upd:T del:T                pg_stat_user_tables of nhub_bench: rows inserted/updated/deleted per table
# Our own reads connect to the postgres database (one more read-only transaction there, none in nhub_bench) and
# read nhub_bench's tables through a second connection (one read-only transaction in nhub_bench per read).
pg_read() {
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc "select 'wal_records', wal_records from pg_stat_wal union all
    select 'wal_bytes', wal_bytes from pg_stat_wal union all select 'wal_sync', wal_sync from pg_stat_wal union all
    select 'xact_commit', xact_commit from pg_stat_database where datname = 'nhub_bench'" | tr '|' ' '
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d nhub_bench -Atc "select 'ins:' || relname, n_tup_ins from pg_stat_user_tables union all
    select 'upd:' || relname, n_tup_upd from pg_stat_user_tables union all select 'del:' || relname, n_tup_del from pg_stat_user_tables" | tr '|' ' ' | sort
}
pg_writes() { sleep 11; pg_read >"$1"; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

start_production_silo silo Gateway__Dtls__MaxPeers=$((devices + 1000))
echo "== production silo (pid $SILO_PID); PostgreSQL $(psql --version | awk '{print $3}'), $(.tools/bin/nats-server --version 2>/dev/null || nats-server --version)"
dtls_port=$(free_udp_port)
gw_env=(Gateway__Dtls__Port="$dtls_port" Gateway__Dtls__ConnectionIdLength=6 Gateway__Dtls__MaxPeers=$((devices + 1000)))
start_production_gateway gw1 Gateway__NodeId=1 "${gw_env[@]}"; GW1_PID=$GW_PID; GW1_URL="http://127.0.0.1:$GW_HTTP_PORT"
start_production_gateway gw2 Gateway__NodeId=2 "${gw_env[@]}"; GW2_PID=$GW_PID; GW2_URL="http://127.0.0.1:$GW_HTTP_PORT"
# Both bound the port: the second start would have failed (EADDRINUSE) without SO_REUSEPORT on both sides.
echo "== two standalone gateways on udp/$dtls_port (SO_REUSEPORT group): gw1 pid $GW1_PID (NodeId 1), gw2 pid $GW2_PID (NodeId 2)"
ss -ulpn "sport = :$dtls_port" 2>/dev/null | awk 'NR > 1 { print "   ", $4, $NF }' || true

sim provision --api "$API_URL" --api-key "$BENCH_API_KEY" --devices "$devices" --device-prefix to --psk-format binary \
    --provision-concurrency 64 --out "$BENCH_WORK/creds.csv" | tail -1
# Simulator processes of at most `per` devices each (ulimit -n is capped at 20000 here), their sockets spread over
# loopback addresses (a port range per address). The run ends 3 uplink intervals + 60 s after the kill (the kill comes
# about `idle` s after setup); the commands are posted 2 intervals + 30 s after it, once the takeover phase is read.
per="${BENCH_PER_PROCESS:-17000}"; procs=$(( (devices + per - 1) / per ))
idle=$((every + 40)); after_kill=$((3 * every + 60)); command_after=${BENCH_COMMAND_AFTER:-$((2 * every + 30))}
mark="$BENCH_WORK/mark"
pg_writes "$BENCH_WORK/pg0"; h_gw0="$(prom "$GW1_URL" nhub_dtls_handshakes_total 'result="success"') $(prom "$GW2_URL" nhub_dtls_handshakes_total 'result="success"')"
# The postmaster (first line of postmaster.pid) and its children: the backends and background processes.
pg_pids() { local pm; pm=$(head -1 "$BENCH_PG_ROOT/data/postmaster.pid"); echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"; }
cpu_all() { echo "$(cpu_seconds "$GW1_PID") $(cpu_seconds "$GW2_PID") $(cpu_seconds "$SILO_PID") $(cpu_seconds $(pg_pids)) $(cpu_seconds "$NATS_PID") $(cpu_seconds "${sims[@]}")"; }
busy() { awk '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / 100 }' /proc/stat; }
t_setup=$(now_ms); sims=(); cpu_a="$(cpu_seconds "$GW1_PID") $(cpu_seconds "$GW2_PID") $(cpu_seconds "$SILO_PID") $(cpu_seconds $(pg_pids)) $(cpu_seconds "$NATS_PID") 0"; busy_a=$(busy)
for ((p = 0; p < procs; p++)); do
  offset=$((p * per)); n=$(( devices - offset < per ? devices - offset : per ))
  dotnet "$SIM_DLL" --scenario observe-ping --target "coaps://127.0.0.1:$dtls_port" --credentials "$BENCH_WORK/creds.csv" --device-offset "$offset" --devices "$n" \
      --cid on --uplink-every "$every" --timeout 2 --retransmits 2 --handshake-threads $(( 16 / procs > 4 ? 16 / procs : 4 )) --handshake-timeout 30 \
      --bind-addresses 8 --duration $((idle + after_kill)) --ready-file "$BENCH_WORK/ready$p" --mark-file "$mark" \
      --command-sample $(( sample / procs )) --command-before 0.1 --command-after "$command_after" --api "$API_URL" --api-key "$BENCH_API_KEY" \
      --answers "$BENCH_WORK/answers$p.csv" --json "$BENCH_WORK/sim$p.json" >"$BENCH_WORK/sim$p.out" 2>&1 &
  sims+=("$!"); BENCH_PIDS+=("$!")
done
# wait_all SUFFIX: until every simulator created its ready file + SUFFIX (fails if one exits first).
wait_all() {
  local p
  for ((p = 0; p < procs; p++)); do
    while [[ ! -e $BENCH_WORK/ready$p$1 ]]; do
      kill -0 "${sims[$p]}" 2>/dev/null || { echo "simulator $p exited during setup:"; tail -20 "$BENCH_WORK/sim$p.out"; return 1; }
      sleep 0.2
    done
  done
}
wait_all .handshakes
t_hs=$(( $(now_ms) - t_setup )); cpu_sim_hs=$(cpu_seconds "${sims[@]}"); cpu_b=$(cpu_all); busy_b=$(busy)
python3 -c '
import sys
a, b = [list(map(float, x.split())) for x in sys.argv[1:3]]; t = float(sys.argv[3]); busy = float(sys.argv[5]) - float(sys.argv[4])
names = ["gw1", "gw2", "silo", "PostgreSQL", "nats-server", "simulator"]
used = [y - x for x, y in zip(a, b)]
print(f"== CPU during the handshakes ({t:.0f} s; cores): " + ", ".join(f"{n} {u / t:.2f}" for n, u in zip(names, used)) + f"; other processes {max(busy - sum(used), 0) / t:.2f}")' \
  "$cpu_a" "$cpu_b" "$(( t_hs / 1000 ))" "$busy_a" "$busy_b"
pg_writes "$BENCH_WORK/pg1"
h1="$(settled "$GW1_URL" nhub_dtls_handshakes_total 'result="success"') $(settled "$GW2_URL" nhub_dtls_handshakes_total 'result="success"')"
for ((p = 0; p < procs; p++)); do touch "$BENCH_WORK/ready$p.go"; done
wait_all ""
pg_writes "$BENCH_WORK/pg2"
s1=$(settled "$GW1_URL" nhub_dtls_sessions); s2=$(settled "$GW2_URL" nhub_dtls_sessions)
echo "== setup: handshakes in $((t_hs / 1000)) s; sessions gw1 $s1, gw2 $s2; successful handshakes gw1/gw2 $h1"
# The idle window: the devices ping, nothing else happens; PostgreSQL's background writes (membership, the silo).
t_idle=$(now_ms); pg_writes "$BENCH_WORK/pg3"; t_idle_end=$(now_ms)
# The control batch of commands (delivery without a takeover), then its writes.
for ((p = 0; p < procs; p++)); do touch "$BENCH_WORK/ready$p.commands"; done
sleep 5; pg_writes "$BENCH_WORK/pg3c"; t_3c=$(now_ms)
if (( s1 >= s2 )); then victim=$GW1_PID; vnode=1; survivor=$GW2_PID; surl=$GW2_URL; vs=$s1; else victim=$GW2_PID; vnode=2; survivor=$GW1_PID; surl=$GW1_URL; vs=$s2; fi
rss_v=$(rss_mib "$victim"); rss_s=$(rss_mib "$survivor")
hs_s0=$(settled "$surl" nhub_dtls_handshakes_total 'result="success"'); to_s0=$(settled "$surl" nhub_dtls_takeovers_total 'result="taken_over"')
cpu_sim1=$(cpu_seconds "${sims[@]}"); cpu_surv1=$(cpu_seconds "$survivor"); cpu_silo1=$(cpu_seconds "$SILO_PID")
echo "== kill -9 of gateway NodeId $vnode (pid $victim, $vs sessions, RSS $rss_v MiB); survivor RSS $rss_s MiB; load $(cut -d' ' -f1-3 /proc/loadavg)"
t_kill=$(now_ms); kill -9 "$victim"; echo "$t_kill" >"$mark.tmp"; mv "$mark.tmp" "$mark"
wait "$victim" 2>/dev/null || true
# Takeovers on the survivor, once a second, until 99 % of the victim's sessions are taken over or the window ends.
t99=""; t50=""; t90=""; : >"$BENCH_WORK/timeline"
while (( $(now_ms) - t_kill < (2 * every + 15) * 1000 )); do
  sleep 1; n=$(( $(prom "$surl" nhub_dtls_takeovers_total 'result="taken_over"') - to_s0 )); el=$(( $(now_ms) - t_kill ))
  echo "$el $n" >>"$BENCH_WORK/timeline"
  [[ -z $t50 ]] && (( n * 100 >= vs * 50 )) && t50=$el
  [[ -z $t90 ]] && (( n * 100 >= vs * 90 )) && t90=$el
  [[ -z $t99 ]] && (( n * 100 >= vs * 99 )) && t99=$el
done
cpu_surv2=$(cpu_seconds "$survivor"); cpu_silo2=$(cpu_seconds "$SILO_PID"); t_to_end=$(now_ms)
pg_writes "$BENCH_WORK/pg4"; t_w4=$(now_ms)
to_s=$(by_label "$surl" nhub_dtls_takeovers_total result); hs_s1=$(settled "$surl" nhub_dtls_handshakes_total 'result="success"')
rss_s2=$(rss_mib "$survivor"); sess_s2=$(settled "$surl" nhub_dtls_sessions)
for pid in "${sims[@]}"; do wait "$pid" || true; done
# BENCH_KEEP=DIR keeps the logs, the simulators' output, JSON and per-device CSV, the takeover timeline.
[[ -n "${BENCH_KEEP:-}" ]] && mkdir -p "$BENCH_KEEP" && cp "$BENCH_WORK"/*.log "$BENCH_WORK"/sim* "$BENCH_WORK"/answers* "$BENCH_WORK"/timeline "$BENCH_KEEP"/ || true
for ((p = 0; p < procs; p++)); do
  echo "  simulator $p:"; grep -vE '\r' "$BENCH_WORK/sim$p.out" | grep -vE '^\s*$' | tail -9 | sed 's/^/    /'
done
echo "== survivor: takeovers by result: $to_s; successful handshakes since the kill: $((hs_s1 - hs_s0)) (target 0); sessions $sess_s2; RSS $rss_s2 MiB"
echo "   takeovers (server side) of the victim's $vs sessions: 50 % at ${t50:-never} ms, 90 % at ${t90:-never} ms, 99 % at ${t99:-never} ms after the kill"
echo "   survivor CPU during the takeover window: $(python3 -c "print(f'{$cpu_surv2 - $cpu_surv1:.1f}')") s; silo $(python3 -c "print(f'{$cpu_silo2 - $cpu_silo1:.1f}')") s"
log_problems gw$((3 - vnode)) 0 | head -12

python3 - "$BENCH_WORK" "$procs" "$vnode" "$devices" "$t_idle" "$t_idle_end" "$t_3c" "$t_w4" "$h1" "$h_gw0" "$to_s" \
    "$rss_v" "$vs" "$t_hs" "$cpu_sim_hs" <<'PY'
import collections, csv, json, math, sys
(work, procs, vnode, devices, t_idle, t_idle_end, t_from, t_w4, h1, h0, to_s, rss_v, vs, t_hs, cpu_hs) = sys.argv[1:]
procs, vs = int(procs), int(vs)
rs = [json.load(open(f"{work}/sim{p}.json")) for p in range(procs)]
rows = [row for p in range(procs) for row in csv.DictReader(open(f"{work}/answers{p}.csv"))]
W = [dict((k, int(v)) for k, v in (line.split() for line in open(f"{work}/pg{i}") if line.strip())) for i in ("0", "1", "2", "3", "4", "3c")]
d = lambda a, b: {k: W[b].get(k, 0) - W[a].get(k, 0) for k in W[b]}
hs = sum(map(int, h1.split())) - sum(map(int, h0.split()))
taken = dict(kv.split("=") for kv in to_s.split() if "=" in kv); taken_over = int(taken.get("taken_over", 0))
idle_s = (int(t_idle_end) - int(t_idle)) / 1000; to_sec = (int(t_w4) - int(t_from)) / 1000
idle = d(2, 3); bg = {k: v / idle_s for k, v in idle.items()}
observing = sum(r.get("observing", 0) for r in rs)
def show(label, delta, per, n, seconds=None):
    net = {k: v - bg.get(k, 0) * seconds for k, v in delta.items()} if seconds else delta
    tables = ", ".join(f"{k} {v:.0f}" for k, v in sorted(net.items()) if ":" in k and abs(v) >= 0.5) or "none"
    line = (f"WAL records {net['wal_records']:.0f}, WAL bytes {net['wal_bytes']:.0f}, WAL fsyncs {net['wal_sync']:.0f}, "
            f"transactions {net['xact_commit']:.0f}; rows {tables}")
    print(f"  {label}{f' (less the idle rate x {seconds:.0f} s)' if seconds else ''}: {line}")
    if n:
        print(f"    per {per}: WAL records {net['wal_records'] / n:.2f}, WAL bytes {net['wal_bytes'] / n:.0f}, WAL fsyncs {net['wal_sync'] / n:.2f}, "
              f"transactions {net['xact_commit'] / n:.2f}, rows written {sum(v for k, v in net.items() if ':' in k) / n:.2f}")
print("== PostgreSQL writes (pg_stat_wal; pg_stat_database and pg_stat_user_tables of nhub_bench)")
show(f"handshake phase ({hs} handshakes, {int(t_hs) / 1000:.0f} s)", d(0, 1), "handshake", hs)
show(f"observe registrations ({observing})", d(1, 2), "registration", observing)
show(f"idle window ({idle_s:.0f} s, devices pinging)", idle, None, 0)
cb = sum(r.get("commands_before", {}).get("posted", 0) for r in rs)
show(f"control commands ({cb} posted and delivered, the previous 11 s idle rate not subtracted)", d(3, 5), "command", cb)
show(f"takeover phase ({to_sec:.0f} s from just before the kill, {taken_over} takeovers; idle rate not subtracted)", d(5, 4), "takeover", taken_over)
def quant(values, n, q):
    k = math.ceil(q * n) - 1
    return values[max(k, 0)] if k < len(values) else None
def group(label, members):
    n = len(members)
    since = sorted(int(r["since_mark_ms"]) for r in members if r["since_mark_ms"])
    lat = sorted(int(r["first_ping_ms"]) for r in members if r["first_ping_ms"])
    f = lambda v: "never" if v is None else f"{v / 1000:.2f} s"
    print(f"  {label}: {len(since)}/{n} answered after the kill; first answer 50 % {f(quant(since, n, .5))}, 90 % {f(quant(since, n, .9))}, "
          f"99 % {f(quant(since, n, .99))}, all {f(since[-1] if len(since) == n and n else None)}; that ping's latency p50 {f(quant(lat, n, .5))} "
          f"p90 {f(quant(lat, n, .9))} p99 {f(quant(lat, n, .99))} max {f(lat[-1] if lat else None)}")
print("== devices (simulator, per device: the first answer to a ping sent after the kill)")
group(f"the victim's devices (CID node {vnode})", [r for r in rows if r["node"] == vnode])
group(f"the survivor's devices (CID node {3 - int(vnode)})", [r for r in rows if r["node"] == str(3 - int(vnode))])
other = [r for r in rows if r["node"] not in ("1", "2")]
if other:
    group("devices without a CID", other)
am = [r.get("after_mark", {}) for r in rs]
print(f"  pings after the kill: retransmissions {sum(a.get('retransmissions', 0) for a in am)}, lost (3 transmissions unanswered) {sum(a.get('lost', 0) for a in am)}; "
      f"whole run: pings {sum(r.get('pings', 0) for r in rs)}, lost {sum(r.get('lost', 0) for r in rs)}, failed {sum(r.get('failed', 0) for r in rs)}, "
      f"sessions failed {sum(r['link']['sessions_failed'] for r in rs)}; handshakes by the simulator {sum(r['handshakes']['completed'] for r in rs)} "
      f"(failed {sum(r['handshakes']['failed'] for r in rs)})")
for key, label in (("commands_before", "before the kill (control)"), ("commands", "after the kill")):
    cs = [r.get(key, {}) for r in rs]
    by = dict(sum((collections.Counter(c.get("by_node", {})) for c in cs), collections.Counter()))
    lat = [c.get("latency_ms", {}) for c in cs]
    print(f"  commands {label}: posted {sum(c.get('posted', 0) for c in cs)}, delivered {sum(c.get('delivered', 0) for c in cs)}, "
          f"not delivered {sum(c.get('not_delivered', 0) for c in cs)}, delivered twice (another notification) {sum(c.get('duplicates', 0) for c in cs)}, "
          f"notifications received again (same Message ID: a CON retransmitted) {sum(c.get('repeated_notifications', 0) for c in cs)}; "
          f"POST to notification ms p50 {max((l.get('p50', 0) for l in lat), default=0):.0f} max {max((l.get('max', 0) for l in lat), default=0):.0f}; by node {by}")
    for c in cs:
        for node, l in c.get("latency_ms_by_node", {}).items():
            print(f"    {node}: POST to notification ms p50 {l['p50']:.0f} p90 {l['p90']:.0f} p99 {l['p99']:.0f} max {l['max']:.0f}")
print(f"  victim RSS {rss_v} MiB with {vs} sessions ({int(rss_v) * 1024 / max(vs, 1):.1f} KiB per session, process total)")
cpu = sum(r["client_cpu_s"] for r in rs); dur = max(r["duration_s"] for r in rs)
print(f"  simulator CPU: {float(cpu_hs):.1f} s during the {int(t_hs) / 1000:.0f} s of handshakes; {cpu:.1f} s over the {dur:.0f} s run = {cpu / dur:.2f} cores ({procs} processes)")
PY
echo "$(machine_line) (after)"
