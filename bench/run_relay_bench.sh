#!/usr/bin/env bash
# bench/run_relay_bench.sh: RTP relay throughput, in one run, for sipring, rtpengine in userspace
# mode (Debian's rtpengine-daemon, sessions opened over its ng control protocol) and a bare
# epoll + recvmmsg/sendmmsg loop. K streams of 20 ms G.711 packets (172 bytes, 50 packets/s
# each) are sent from one socket, spread over each 20 ms, to the relays and counted on arrival.
# CPU is the relay's utime+stime from /proc/PID/stat during the run. Memory per session comes
# two ways: "open" is the RSS growth while the first K sessions open (for sipring it includes the
# SIP transactions of the calls, which end 32 s after the 2xx); "kept" is the growth while a
# second batch of K opens once those transactions are over, reusing their memory: what a
# running call costs. Kernel socket buffers are not in RSS for any of them.
# Then the same with one stream's source blasting its relay port as fast as it can.
# sipring runs twice: with --media-fastpath off (the io_uring relay) and kernel (the tc program
# relays latched RTP). A relay in the kernel spends its CPU in softirq, charged to the task that
# sent the packet (the blaster, on loopback) or to ksoftirqd, so besides the relay's own CPU
# each row has "all us": the relay's, the blaster's (its getrusage) and ksoftirqd's CPU per
# packet, and the "direct" row (the blaster sending straight to its sink, no relay) is its
# floor: "relay us" is a row's all less the floor's, what relaying costs whoever pays it.
# (/proc/stat's busy time is not used: on these VMs it disagreed with the tasks' own times by
# a factor of four either way between runs.)
# With a third argument `srtp`, the callee's leg is SDES-SRTP (AES_CM_128_HMAC_SHA1_80) and the
# caller's plain RTP, so both relays encrypt every packet they relay (sipring with --inside
# 127.0.0.1/32 --srtp-outside required, the callee signalling from 127.0.0.3; rtpengine with
# transport-protocol RTP/SAVP towards the callee); the bare loop does not encrypt and stays as
# the floor. With `srtp-rev` the other way: the callee's source sends SRTP and both relays
# decrypt for the plain caller. Memory is not measured in these modes.
# Fair peers (issue 17, item 4): THREADS (default 1) is both sipring's --threads and
# rtpengine's --num-threads, and rtpengine's sessions carry its strict-source flag (it drops
# packets from anyone but the learned source, as sipring's latching does).
# usage: bench/run_relay_bench.sh [K streams] [SECONDS] [srtp|srtp-rev]   (on demand, not in CI)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
K=${1:-1000} SECS=${2:-10} SRTP=${3:-} THREADS=${THREADS:-1}
srtp_opts=()
[ -n "$SRTP" ] && srtp_opts=(--inside 127.0.0.1/32 --srtp-outside required)
# the callee's key in relay_setup.py, for rtpblast to encrypt with in srtp-rev
[ "$SRTP" = srtp-rev ] && export RTPBLAST_SRTP_KEY=PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR
cd "$top"
command -v rtpengine > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q rtpengine-daemon >&2
[ -f build/build.ninja ] || meson setup build >&2
ninja -C build src/sipring >&2
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # sipring's store (--state-dir): this run's own
trap 'pkill -P $$; rm -rf "$tmp"' EXIT
deps=${SIPRING_DEPS:-$top/.deps}/prefix
cc -O2 -I"$deps/include" -o "$tmp/rtpblast" bench/rtpblast.c "$deps/lib/libsrtp2.a" "$deps/lib/libcrypto.a" \
    -lpthread && cc -O2 -o "$tmp/bare_relay" bench/bare_relay.c || exit 1
tck=$(getconf CLK_TCK)
SRC=47000 SINK=47001
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# the kernel's share that no process is charged with: softirq run by ksoftirqd (what the
# kernel runs on the way out of a process's own system call is charged to that process)
ksoft() { for p in $(pgrep -x 'ksoftirqd/[0-9]*'); do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s + 0}'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run() { # name pid ports-file rss: before, after first batch, before second, after it [blast]
    local name=$1 pid=$2 ports=$3 rss0=$4 rss1=$5 rssm=$6 rss2=$7 blast=${8:-}
    local c0 c1 k0 k1 out
    c0=$(cpu "$pid")
    k0=$(ksoft)
    out=$("$tmp/rtpblast" $SRC $SINK "$SECS" "$ports" ${blast:+$(head -1 "$ports")})
    k1=$(ksoft)
    c1=$(cpu "$pid")
    echo "$name $out cpu_ticks $((c1 - c0)) ksoft_ticks $((k1 - k0)) rss0 $rss0 rss1 $rss1 rssm $rssm rss2 $rss2" >> "$tmp/rows"
}

start_bare() {
    "$tmp/bare_relay" 45000 "$K" $SINK > "$tmp/bare.out" 2>&1 &
    bare=$!
    for _ in $(seq 50); do grep -q ready "$tmp/bare.out" && break; sleep 0.1; done
    seq 45000 $((45000 + K - 1)) > "$tmp/bare.ports"
}
start_sipring() { # blast fastpath
    build/src/sipring --listen udp:127.0.0.1:25070 --threads "$THREADS" --log-level warn \
        --rtp-ports 30000-39999 --media-timeout 600 --media-fastpath "$2" "${srtp_opts[@]}" \
        > "$tmp/sipring.log" 2>&1 &
    sr=$!
    sleep 1
    sr_rss0=$(rss_kb $sr)
    python3 bench/relay_setup.py sipring 25070 "$K" $SRC $SINK b0 $SRTP > "$tmp/sipring.ports" || exit 1
    sr_rss_a=$(rss_kb $sr) sr_rss_b=0 sr_rss_m=0
    if [ -z "$1" ] && [ -z "$SRTP" ]; then
        sleep 34
        sr_rss_m=$(rss_kb $sr)
        python3 bench/relay_setup.py sipring 25070 "$K" $SRC $SINK b1 > /dev/null || exit 1
        sr_rss_b=$(rss_kb $sr)
    fi
}
start_rtpengine() {
    rtpengine --interface=127.0.0.1 --listen-ng=127.0.0.1:22299 --port-min=50000 --port-max=59999 \
        --table=-1 --foreground --log-stderr --num-threads="$THREADS" --log-level=3 --delete-delay=0 \
        --no-fallback --pidfile="$tmp/rtpe.pid" > "$tmp/rtpengine.log" 2>&1 &
    re=$!
    sleep 1
    re_rss0=$(rss_kb $re)
    python3 bench/relay_setup.py rtpengine 22299 "$K" $SRC $SINK b0 $SRTP > "$tmp/rtpengine.ports" || exit 1
    re_rss_a=$(rss_kb $re) re_rss_b=0 re_rss_m=$re_rss_a
    if [ -z "$1" ] && [ -z "$SRTP" ]; then
        python3 bench/relay_setup.py rtpengine 22299 "$K" $SRC $SINK b1 > /dev/null || exit 1
        re_rss_b=$(rss_kb $re)
    fi
}

echo "K=$K streams x 50 packets/s x 172 bytes, ${SECS}s per run, $THREADS thread(s) each, all on this machine${SRTP:+, mode $SRTP}" >&2
for blast in "" blast; do
    # the floor: no relay, the blaster's packets straight to its sink
    for _ in $(seq "$K"); do echo $SINK; done > "$tmp/direct.ports"
    sleep 1
    run direct $$ "$tmp/direct.ports" 0 0 0 0 $blast
    start_bare; run bare $bare "$tmp/bare.ports" 0 0 0 0 $blast; kill $bare
    start_sipring "$blast" off; run sipring $sr "$tmp/sipring.ports" $sr_rss0 $sr_rss_a $sr_rss_m $sr_rss_b $blast
    kill $sr
    wait $sr 2>/dev/null
    start_sipring "$blast" kernel
    run sipring-kernel $sr "$tmp/sipring.ports" $sr_rss0 $sr_rss_a $sr_rss_m $sr_rss_b $blast
    kill $sr
    start_rtpengine "$blast"; run rtpengine $re "$tmp/rtpengine.ports" $re_rss0 $re_rss_a $re_rss_m $re_rss_b $blast
    kill $re
    wait 2>/dev/null
    sleep 1
done
awk -v hz="$tck" -v k="$K" -v srtp="${SRTP:+1}" '
function row(name, blast) {
    if (!((name, blast, "sent") in v)) return
    sent = v[name, blast, "sent"]; rec = v[name, blast, "received"]; t = v[name, blast, "cpu_ticks"] / hz
    relayed = rec + v[name, blast, "blast_received"]
    us = relayed > 0 ? t * 1e6 / relayed : 0
    all_s = t + v[name, blast, "ksoft_ticks"] / hz + v[name, blast, "blaster_us"] / 1e6
    sys_us = relayed > 0 ? all_s * 1e6 / relayed : 0
    if (name == "direct") floor[blast] = sys_us
    rel = sys_us - floor[blast]
    open_b = (v[name, blast, "rss1"] - v[name, blast, "rss0"]) * 1024 / k
    kept_b = (v[name, blast, "rss2"] - v[name, blast, "rssm"]) * 1024 / k
    nomem = blast || name == "bare" || name == "direct" || name == "sipring-kernel"
    nomem = nomem || srtp
    printf "%-15s %-6s %9d %9d %7.1f%% %9d %7.2f %7.1f %8.1f %8s %9s %9s %7.1f%%\n", name, blast ? "blast" : "-", sent, rec,
        sent ? 100 * rec / sent : 0, v[name, blast, "blast_received"], t,
        name == "direct" ? 0 : us, sys_us, name == "direct" ? "floor" : sprintf("%.1f", rel),
        nomem ? "-" : sprintf("%.0f", open_b), nomem ? "-" : sprintf("%.0f", kept_b),
        relayed ? 100 * v[name, blast, "translated"] / relayed : 0
    if (!blast) { cost[name] = us; relay[name] = rel; pps[name] = t > 0 ? relayed / t : 0
                  mpps[name] = rel > 0 ? 1e6 / rel : 0 }
}
{ name = $1; blast = ($0 ~ / blast [1-9]/) ? 1 : 0
  for (i = 2; i < NF; i += 2) v[name, blast, $i] = $(i + 1) }
END {
    printf "\n%-15s %-6s %9s %9s %8s %9s %7s %7s %8s %8s %9s %9s %8s\n", "relay", "mode", "sent", "delivered",
        "ratio", "blast out", "CPU s", "us/pkt", "all us", "relay us", "B/s open", "B/s kept", "SRTP"
    for (b = 0; b < 2; b++) {
        row("direct", b); row("bare", b); row("sipring", b); row("sipring-kernel", b); row("rtpengine", b)
    }
    printf "\n(us/pkt: the relay process'"'"'s own CPU per packet relayed; all us: the relay'"'"'s, the blaster'"'"'s\n"
    printf " and ksoftirqd'"'"'s CPU per packet; relay us: that less the direct row'"'"'s, what relaying costs\n"
    printf " whoever pays it)\n"
    if (cost["sipring"] > 0) printf "\nprocess CPU per packet: rtpengine/sipring %.2fx, sipring/bare %.2fx\n",
        cost["rtpengine"] / cost["sipring"], cost["sipring"] / cost["bare"]
    if (relay["sipring-kernel"] > 0) printf "relay cost per packet (all CPU less the floor): sipring-kernel %.2f us, sipring %.2f us, bare %.2f us, rtpengine %.2f us\npackets per relay CPU second: sipring-kernel/bare %.2fx, sipring-kernel/sipring %.2fx\n",
        relay["sipring-kernel"], relay["sipring"], relay["bare"], relay["rtpengine"],
        relay["bare"] / relay["sipring-kernel"], relay["sipring"] / relay["sipring-kernel"]
}' "$tmp/rows"
