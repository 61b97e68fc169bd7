#!/usr/bin/env bash
# compare-switches.sh: sluice beside the switches it is measured against, on one topology, in
# one run. Two network namespaces (cs-a 10.97.0.1, cs-b 10.97.0.2) are joined by:
#   sluice-tso   sluice run, two tap ports with vnet headers: TSO frames pass whole
#   sluice-mtu   sluice run, two plain tap ports: the kernel hands over MTU-sized frames
#   bridge       the Linux bridge, veth pairs (offloads as the kernel sets them)
#   ovs          Open vSwitch, userspace (netdev) datapath, tap ports
#   ovs-tso      the same with other_config:userspace-tso-enable=true
#   socat        tap <-> socat <-> UDP on loopback <-> socat <-> tap
#   tap-relay    two taps relayed by a busy-polling readv/writev loop on sluice's native module,
#                no switching: the floor of userspace tap forwarding on this machine
# and measured with iperf3 TCP x1 and x4, UDP with 64-byte frames (-l 18 -b 0: rx kpps and
# loss) and ping (p50/p99). The systems take turns within each run (interleaved), RUNS runs;
# the table gives medians, and the single values in results.tsv.
#
# Usage (root; installs iperf3, iputils-ping, openvswitch-switch, socat from Debian if missing):
#   scripts/compare-switches.sh [OUTDIR]
# Env: RUNS=3 DUR=5 PINGS=300 PING_INTERVAL=0.005 SYSTEMS="sluice-tso sluice-mtu bridge ovs ovs-tso socat tap-relay"
# Everything it makes (namespaces, links, daemons, temp files) is removed on exit or Ctrl-C.
# Build first (npm install); the script runs dist/src/cli.js.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/bench-results/compare-$(date +%Y%m%d-%H%M%S)}
RUNS=${RUNS:-3}
DUR=${DUR:-5}
PINGS=${PINGS:-300}
PING_INTERVAL=${PING_INTERVAL:-0.005}
SYSTEMS=${SYSTEMS:-"sluice-tso sluice-mtu bridge ovs ovs-tso socat tap-relay"}
NSA=cs-a NSB=cs-b IPA=10.97.0.1 IPB=10.97.0.2 PORT=5297
TMP=$(mktemp -d -t sluice-compare.XXXXXX)
mkdir -p "$OUT"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (namespaces, taps, OVS)"
[[ -f $ROOT/dist/src/cli.js ]] || die "dist/src/cli.js missing: run npm install first"

need=()
for p in iperf3:iperf3 ping:iputils-ping ovs-vswitchd:openvswitch-switch socat:socat ip:iproute2 python3:python3; do
  command -v "${p%%:*}" >/dev/null 2>&1 || need+=("${p#*:}")
done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# ---- teardown: whatever a system set up, undone in reverse; always on exit --------------------
UNDO=()
undo() { local i; for ((i = ${#UNDO[@]} - 1; i >= 0; i--)); do eval "${UNDO[i]}" >/dev/null 2>&1 || true; done; UNDO=(); }
cleanup() { undo; ip netns del "$NSA" 2>/dev/null || true; ip netns del "$NSB" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

namespaces() {
  # IPv6 off: no neighbour discovery or router solicitations in the measurements.
  for ns in "$NSA" "$NSB"; do
    ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  UNDO+=("ip netns del $NSA; ip netns del $NSB")
}
# plug NS DEV IP: move DEV into NS, address it, bring it up.
plug() { ip link set "$2" netns "$1"; ip -n "$1" addr add "$3/24" dev "$2"; ip -n "$1" link set "$2" up; }
wait_for() { local i; for ((i = 0; i < 100; i++)); do eval "$1" && return 0; sleep 0.1; done; return 1; }

# ---- the systems: set up the path between cs-a and cs-b ---------------------------------------
up_sluice() { # $1: vnetHdr true|false
  local cfg=$TMP/sluice.json pool=''
  [[ $1 == true ]] && pool='"pool": {"slots": 4096, "slotSize": 67584},'
  cat >"$cfg" <<EOF
{ "workers": 1, $pool "stats": {"intervalSeconds": 0}, "control": {"listen": "off"},
  "ports": [ {"name": "a", "endpoint": {"type": "tap", "name": "cs-tap-a", "vnetHdr": $1}},
             {"name": "b", "endpoint": {"type": "tap", "name": "cs-tap-b", "vnetHdr": $1}} ] }
EOF
  node "$ROOT/dist/src/cli.js" run --config "$cfg" --quiet >"$TMP/sluice.out" 2>"$TMP/sluice.err" &
  local pid=$!
  UNDO+=("kill -INT $pid; wait $pid")
  wait_for "ip link show cs-tap-b >/dev/null 2>&1" || die "sluice did not start: $(cat "$TMP/sluice.err")"
  plug "$NSA" cs-tap-a "$IPA"; plug "$NSB" cs-tap-b "$IPB"
}

up_bridge() {
  ip link add cs-br0 type bridge; ip link set cs-br0 up
  UNDO+=("ip link del cs-br0")
  for s in a b; do
    local ns=$NSA ipx=$IPA; [[ $s == b ]] && ns=$NSB ipx=$IPB
    ip link add "cs-$s-h" type veth peer name eth0 netns "$ns"
    ip link set "cs-$s-h" master cs-br0 up
    ip -n "$ns" addr add "$ipx/24" dev eth0; ip -n "$ns" link set eth0 up
  done
}

up_ovs() { # $1: userspace TSO true|false
  local d schema
  d=$(mktemp -d -p "$TMP" ovs.XXXXXX)
  schema=$(dpkg -L openvswitch-common openvswitch-switch 2>/dev/null | grep '/vswitch.ovsschema$' | head -1)
  [[ -r $schema ]] || die "vswitch.ovsschema not found"
  export OVS_RUNDIR=$d OVS_LOGDIR=$d OVS_DBDIR=$d OVS_SYSCONFDIR=$d
  local vsctl="ovs-vsctl --db=unix:$d/db.sock --timeout=10"
  ovsdb-tool create "$d/conf.db" "$schema"
  ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" --unixctl="$d/db.ctl" --pidfile="$d/db.pid" --log-file="$d/db.log" --detach --no-chdir -vconsole:off 2>/dev/null
  UNDO+=("kill \$(cat $d/db.pid)")
  wait_for "[[ -S $d/db.sock ]]" || die "ovsdb-server did not start"
  $vsctl --no-wait init
  $vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable="$1"
  ovs-vswitchd "unix:$d/db.sock" --unixctl="$d/vsd.ctl" --pidfile="$d/vsd.pid" --log-file="$d/vsd.log" --detach --no-chdir -vconsole:off 2>/dev/null
  UNDO+=("ovs-appctl -t $d/vsd.ctl exit --cleanup; sleep 0.3; kill \$(cat $d/vsd.pid); ip link del ovs-netdev")
  wait_for "[[ -S $d/vsd.ctl ]]" || die "ovs-vswitchd did not start: $(tail -3 "$d/vsd.log")"
  $vsctl add-br cs-ovs -- set bridge cs-ovs datapath_type=netdev
  UNDO+=("$vsctl --if-exists del-br cs-ovs")
  for s in a b; do $vsctl add-port cs-ovs "cs-tap-$s" -- set interface "cs-tap-$s" type=tap; done
  wait_for "ip link show cs-tap-b >/dev/null 2>&1" || die "OVS made no tap ports"
  plug "$NSA" cs-tap-a "$IPA"; plug "$NSB" cs-tap-b "$IPB"
}

up_socat() {
  # Each socat makes its tap (no packet-info header) and relays it to the other over UDP.
  socat -b 65536 TUN,tun-type=tap,tun-name=cs-tap-a,iff-no-pi UDP-DATAGRAM:127.0.0.1:47802,bind=127.0.0.1:47801 2>"$TMP/socat-a.err" &
  UNDO+=("kill $!")
  socat -b 65536 TUN,tun-type=tap,tun-name=cs-tap-b,iff-no-pi UDP-DATAGRAM:127.0.0.1:47801,bind=127.0.0.1:47802 2>"$TMP/socat-b.err" &
  UNDO+=("kill $!")
  wait_for "ip link show cs-tap-a >/dev/null 2>&1 && ip link show cs-tap-b >/dev/null 2>&1" || die "socat made no taps"
  plug "$NSA" cs-tap-a "$IPA"; plug "$NSB" cs-tap-b "$IPB"
}

up_relay() {
  node "$ROOT/dist/native-free-bench/socket/tap-relay.js" cs-tap-a cs-tap-b 3600 >/dev/null 2>"$TMP/relay.err" &
  UNDO+=("kill $!")
  wait_for "ip link show cs-tap-a >/dev/null 2>&1 && ip link show cs-tap-b >/dev/null 2>&1" || die "tap-relay made no taps: $(cat "$TMP/relay.err")"
  plug "$NSA" cs-tap-a "$IPA"; plug "$NSB" cs-tap-b "$IPB"
}

up() {
  case $1 in
    tap-relay) up_relay ;;
    sluice-tso) up_sluice true ;; sluice-mtu) up_sluice false ;; bridge) up_bridge ;;
    ovs) up_ovs false ;; ovs-tso) up_ovs true ;; socat) up_socat ;;
    *) die "unknown system $1" ;;
  esac
}

# ---- measurements -------------------------------------------------------------------------------
iperf() { # iperf OUTFILE ARGS...: one client run against a one-shot server in cs-b
  local out=$1; shift
  ip netns exec "$NSB" timeout $((DUR + 20)) iperf3 -s -1 -B "$IPB" -p "$PORT" >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  ip netns exec "$NSA" timeout $((DUR + 15)) iperf3 -c "$IPB" -p "$PORT" -t "$DUR" -J "$@" >"$out" 2>&1 || true
  wait "$srv" 2>/dev/null || true
}

measure() { # measure SYSTEM RUN: one line per figure into results.tsv
  local sys=$1 r=$2 f=$TMP/m
  ip netns exec "$NSA" ping -c 3 -i 0.05 -W 1 "$IPB" >/dev/null 2>&1 || log "  $sys: no ping reply before the measurements"
  iperf "$f-tcp1" ; iperf "$f-tcp4" -P 4 ; iperf "$f-udp" -u -l 18 -b 0
  ip netns exec "$NSA" ping -c "$PINGS" -i "$PING_INTERVAL" -W 1 "$IPB" >"$f-ping" 2>&1 || true
  python3 - "$sys" "$r" "$f" "$DUR" >>"$OUT/results.tsv" <<'EOF'
import json, re, sys
sysname, run, f, dur = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def j(path):
    try: return json.load(open(path))
    except Exception: return {}
def gbps(d): return d.get('end', {}).get('sum_received', {}).get('bits_per_second', float('nan')) / 1e9
u = j(f + '-udp').get('end', {}).get('sum', {})
sent, lost, secs = u.get('packets', 0), u.get('lost_packets', 0), u.get('seconds', dur) or dur
rtts = sorted(float(x) * 1000 for x in re.findall(r'time=([\d.]+) ms', open(f + '-ping').read()))
pct = lambda p: rtts[min(len(rtts) - 1, int(len(rtts) * p))] if rtts else float('nan')
rows = {'tcp1_gbps': gbps(j(f + '-tcp1')), 'tcp4_gbps': gbps(j(f + '-tcp4')),
        'udp64_rx_kpps': (sent - lost) / secs / 1000 if sent else float('nan'),
        'udp64_loss_pct': 100.0 * lost / sent if sent else float('nan'),
        'ping_p50_us': pct(0.5), 'ping_p99_us': pct(0.99), 'ping_replies': len(rtts)}
for k, v in rows.items(): print(f'{sysname}\t{run}\t{k}\t{v:.4g}')
EOF
}

printf 'system\trun\tmeasure\tvalue\n' >"$OUT/results.tsv"
log "node $(node --version), $(nproc) CPUs, kernel $(uname -r); $RUNS runs x {$SYSTEMS}, ${DUR}s per iperf3 test"
for ((r = 1; r <= RUNS; r++)); do
  for sys in $SYSTEMS; do
    log "run $r/$RUNS: $sys"
    namespaces
    up "$sys"
    measure "$sys" "$r"
    undo
  done
done

python3 - "$OUT/results.tsv" "$RUNS" "$DUR" >"$OUT/summary.md" <<'EOF'
import csv, statistics, sys, math
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
order, vals = [], {}
for r in rows:
    if r['system'] not in order: order.append(r['system'])
    vals.setdefault((r['system'], r['measure']), []).append(float(r['value']))
cols = [('tcp1_gbps', 'TCP x1 Gbit/s'), ('tcp4_gbps', 'TCP x4 Gbit/s'), ('udp64_rx_kpps', 'UDP 64 B rx kpps'),
        ('udp64_loss_pct', 'UDP loss %'), ('ping_p50_us', 'ping p50 µs'), ('ping_p99_us', 'ping p99 µs')]
def cell(s, m):
    v = [x for x in vals.get((s, m), []) if not math.isnan(x)]
    if not v: return '–'
    med = statistics.median(v)
    fmt = (lambda x: f'{x:.2f}') if 'gbps' in m else (lambda x: f'{x:.1f}') if 'loss' in m else (lambda x: f'{x:.0f}')
    return f'{fmt(med)} ({fmt(min(v))}–{fmt(max(v))})' if len(v) > 1 else fmt(med)
print(f'Medians of {sys.argv[2]} interleaved runs ({sys.argv[3]} s per iperf3 test), min–max in brackets.\n')
print('| system | ' + ' | '.join(c[1] for c in cols) + ' |')
print('|---|' + '---:|' * len(cols))
for s in order: print(f'| {s} | ' + ' | '.join(cell(s, m) for m, _ in cols) + ' |')
EOF
cat "$OUT/summary.md"
log "results in $OUT (summary.md, results.tsv)"
