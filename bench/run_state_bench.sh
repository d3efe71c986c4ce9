#!/usr/bin/env bash
# bench/run_state_bench.sh: what the durable store and the metrics cost (issue 15), in one run.
#   1. REGISTERs: 2 x COUNT (default 100,000) distinct AORs register through SIPp at RATE/s,
#      once with --state-dir and once with --state-dir off: sipring's CPU per REGISTER each way
#      and its resident memory per registration (over the second COUNT, see register_run;
#      target at most 2 KiB), and the store's bytes per registration on disk (state.db after
#      the SIGTERM's checkpoint).
#   2. Calls: SIPp's built-in uac/uas at CALL_RATE/s for SECONDS through sipring with the store
#      on and /metrics scraped every second, and through sipring with neither: CPU per call
#      each, and their ratio (target within 5 %).
# Usage: bench/run_state_bench.sh [COUNT] [RATE] [CALL_RATE] [SECONDS]   (on demand, not in CI)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-100000} rate=${2:-2000} call_rate=${3:-2000} secs=${4:-10}
cd "$top"
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >&2
ninja -C build src/sipring >&2
tmp=$(mktemp -d)
trap 'pkill -P $$; rm -rf "$tmp"' EXIT
tck=$(getconf CLK_TCK)
page=$(getconf PAGESIZE)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_bytes() { awk -v p="$page" '{print $2 * p}' "/proc/$1/statm"; }
start() { # start NAME OPTIONS...: a sipring on 127.0.0.1:25080; prints its pid
    local name=$1
    shift
    build/src/sipring --listen udp:127.0.0.1:25080 --inside 127.0.0.1/32 --threads 1 \
        --media-relay no --domain example.test --log-level warn --max-registrations 250000 \
        --max-transactions 262144 \
        "$@" > "$tmp/$name.log" 2>&1 &
    echo $!
}
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null; }

{ echo SEQUENTIAL; for i in $(seq "$count"); do echo "ua$i;example.test;"; done; } > "$tmp/a.csv"
{ echo SEQUENTIAL; for i in $(seq "$count"); do echo "ub$i;example.test;"; done; } > "$tmp/b.csv"
sipp_register() { # sipp_register CSV OUT: COUNT REGISTERs from CSV at RATE/s
    timeout $((count / rate * 3 + 60)) sipp -sf tests/sipp/register_inf.xml 127.0.0.1:25080 \
        -inf "$1" -key contact_port 5099 -key expires 3600 -i 127.0.0.1 -p 25082 \
        -m "$count" -r "$rate" -l $((rate * 2)) -timeout $((count / rate * 2 + 30))s > "$2" 2>&1
}
# register_run NAME OPTIONS...: prints "registered cpu_ms_per_register rss_bytes_per_reg".
# The first COUNT AORs warm up: a REGISTER's transaction lingers 32 s (timer J), so about
# RATE x 32 of the pool's slots get touched, and their pages stay resident. The second COUNT,
# new AORs at the same rate, then add only what a registration itself holds.
register_run() {
    local name=$1
    shift
    local pid
    pid=$(start "$name" "$@")
    sleep 1
    sipp_register "$tmp/a.csv" "$tmp/$name-a.out"
    sleep 1
    local r0 c0 c1 r1
    r0=$(rss_bytes "$pid")
    c0=$(cpu_ticks "$pid")
    sipp_register "$tmp/b.csv" "$tmp/$name-b.out"
    sleep 1 # the writer's last batch
    c1=$(cpu_ticks "$pid")
    r1=$(rss_bytes "$pid")
    stop "$pid"
    local ok
    ok=$(grep 'Successful call' "$tmp/$name-b.out" | awk -F'|' '{print $3}' | tr -d ' ')
    awk -v ok="${ok:-0}" -v t=$((c1 - c0)) -v hz="$tck" -v d=$((r1 - r0)) 'BEGIN {
        printf "%d %.4f %.0f\n", ok, ok ? t / hz * 1000 / ok : 0, ok ? d / ok : 0 }'
}

echo "1. 2 x $count REGISTERs of distinct AORs at $rate/s (SIPp, one worker, --max-transactions 262144:"
echo "   at 2,000/s the lingering REGISTER transactions alone fill the default 65,536), $(date -u +%F), commit $(git rev-parse --short HEAD)"
read -r ok_s cpu_s rss_s < <(register_run store --state-dir "$tmp/st")
read -r ok_m cpu_m rss_m < <(register_run memory --state-dir off)
db=$(stat -c %s "$tmp/st/state.db" 2>/dev/null || echo 0)
printf '  %-22s %8s registered, %7s ms CPU per REGISTER, %5s B resident per registration\n' \
    "with the store" "$ok_s" "$cpu_s" "$rss_s"
printf '  %-22s %8s registered, %7s ms CPU per REGISTER, %5s B resident per registration\n' \
    "in memory only" "$ok_m" "$cpu_m" "$rss_m"
awk -v db="$db" -v n="$ok_s" -v a="$cpu_s" -v b="$cpu_m" 'BEGIN {
    if (n > 0) printf "  on disk: %d B (state.db), %.0f B per registration\n", db, db / (2 * n);
    if (b > 0) printf "  CPU per REGISTER, store / memory only: %.2fx\n", a / b }'

calls_run() { # calls_run NAME SCRAPE(0|1) OPTIONS...: prints "ok cpu_ms_per_call"
    local name=$1 scrape=$2
    shift 2
    local pid
    pid=$(start "$name" "$@")
    sleep 1
    sipp -sn uas -i 127.0.0.1 -p 25090 -bg > /dev/null 2>&1
    sleep 0.3
    local sc=""
    if [ "$scrape" = 1 ]; then
        (while sleep 1; do curl -s -o /dev/null http://127.0.0.1:25089/metrics; done) &
        sc=$!
    fi
    local c0 c1 calls=$((call_rate * secs))
    c0=$(cpu_ticks "$pid")
    timeout $((secs * 4 + 30)) sipp -sn uac 127.0.0.1:25090 -rsa 127.0.0.1:25080 -i 127.0.0.1 \
        -p 25091 -m "$calls" -r "$call_rate" -l $((call_rate * 4)) -timeout $((secs * 3 + 10))s \
        > "$tmp/$name.out" 2>&1
    c1=$(cpu_ticks "$pid")
    [ -n "$sc" ] && kill "$sc"
    pkill -f "sipp -sn uas -i 127.0.0.1 -p 25090"
    stop "$pid"
    local ok
    ok=$(grep 'Successful call' "$tmp/$name.out" | awk -F'|' '{print $3}' | tr -d ' ')
    awk -v ok="${ok:-0}" -v t=$((c1 - c0)) -v hz="$tck" 'BEGIN {
        printf "%d %.4f\n", ok, ok ? t / hz * 1000 / ok : 0 }'
}
echo "2. calls: SIPp uac/uas at $call_rate/s for ${secs} s"
read -r ok_on ms_on < <(calls_run on 1 --state-dir "$tmp/st2" --metrics 127.0.0.1:25089)
read -r ok_off ms_off < <(calls_run off 0 --state-dir off)
printf '  %-34s %7s calls, %s ms CPU per call\n' "store on, /metrics every second" "$ok_on" "$ms_on"
printf '  %-34s %7s calls, %s ms CPU per call\n' "neither" "$ok_off" "$ms_off"
awk -v a="$ms_on" -v b="$ms_off" 'BEGIN { if (b > 0) printf "  ratio: %.3fx\n", a / b }'
