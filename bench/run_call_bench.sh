#!/usr/bin/env bash
# bench/run_call_bench.sh: call rate and CPU per call of sipring and Kamailio, in one run, on
# the same machine, with SIPp's built-in uac/uas (INVITE/100/180/200/ACK/BYE/200) through each.
# For each proxy and rate: SIPp places calls for SECONDS; the row keeps the highest rate with 0
# failed calls, and the proxy's CPU time (utime+stime from /proc/PID/stat) per call at that
# rate. Usage: bench/run_call_bench.sh [SECONDS per step] [rates...]   (on demand, not in CI)
# sipring runs with --media-relay no: Kamailio here does not anchor media either.
# THREADS (default 1) is both sipring's --threads and Kamailio's children. Kamailio runs with
# 256 MB of shared and 32 MB of private memory and the TLSF allocator (-x/-X tlsf), as
# production set-ups do: Debian's default "qm" is a debugging allocator whose linear search took
# over half of Kamailio's CPU here and ran out of its 64 MB pool at 500 calls/s.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
threads=${THREADS:-1}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(100 200 500 1000 2000 3000 4000 6000 8000)
cd "$top"
scripts/deps.sh
command -v kamailio >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q kamailio >&2
[ -f build/build.ninja ] || meson setup build >&2
ninja -C build src/sipring >&2
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # sipring's store (--state-dir): this run's own
trap 'pkill -P $$; rm -rf "$tmp"' EXIT
tck=$(getconf CLK_TCK)
cpu_ticks() { # total utime+stime of a process and its threads/children
    local t=0
    for pid in $(pgrep -P "$1") "$1"; do
        [ -r "/proc/$pid/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$t"
}

run_proxy() { # name port start-command...
    local name=$1 port=$2
    shift 2
    "$@" > "$tmp/$name.log" 2>&1 &
    local pid=$!
    sleep 1
    local best=0 best_ms=0
    for r in "${rates[@]}"; do
        local uas_port=$((port + 10)) uac_port=$((port + 20))
        sipp -sn uas -i 127.0.0.1 -p $uas_port -bg > /dev/null 2>&1
        sleep 0.3
        local calls=$((r * secs)) c0 c1
        c0=$(cpu_ticks $pid)
        timeout $((secs * 4 + 30)) sipp -sn uac "127.0.0.1:$uas_port" -rsa "127.0.0.1:$port" \
            -i 127.0.0.1 -p $uac_port -m $calls -r $r -l $((r * 4)) -timeout $((secs * 3 + 10))s \
            -trace_stat -stf "$tmp/$name-$r.csv" > "$tmp/$name-$r.out" 2>&1
        c1=$(cpu_ticks $pid)
        pkill -f "sipp -sn uas -i 127.0.0.1 -p $uas_port" ; sleep 0.5
        local ok failed ms
        ok=$(grep 'Successful call' "$tmp/$name-$r.out" | awk -F'|' '{print $3}' | tr -d ' ')
        failed=$(grep 'Failed call' "$tmp/$name-$r.out" | awk -F'|' '{print $3}' | tr -d ' ')
        ms=$(awk -v t=$((c1 - c0)) -v hz="$tck" -v n="${ok:-0}" 'BEGIN { if (n > 0) printf "%.3f", t / hz * 1000 / n; else print "n/a" }')
        printf '  %-9s %5d calls/s: %6s ok, %5s failed, %s ms CPU per call\n' "$name" "$r" "${ok:-0}" "${failed:-?}" "$ms" >&2
        if [ "${failed:-1}" = 0 ] && [ "${ok:-0}" = "$calls" ]; then
            best=$r
            best_ms=$ms
            echo "$r $ms" >> "$tmp/$name.clean"
        else
            break
        fi
    done
    kill $pid 2>/dev/null; sleep 0.5; pkill -9 -P $pid 2>/dev/null; kill -9 $pid 2>/dev/null
    echo "$best $best_ms"
}

sed -e "s|@PORT@|26060|; s|@CHILDREN@|$threads|; s|@MPATH@|/usr/lib/x86_64-linux-gnu/kamailio/modules/|" \
    bench/kamailio.cfg.in > "$tmp/kamailio.cfg"
echo "calls of ${secs}s per step, rates: ${rates[*]}, $threads thread(s)/children each (SIPp uac and uas on the same machine)" >&2
read -r s_rate s_ms < <(run_proxy sipring 25060 build/src/sipring --listen udp:127.0.0.1:25060 --log-level warn --threads "$threads" --media-relay no)
read -r k_rate k_ms < <(run_proxy kamailio 26060 kamailio -DD -E -m 256 -M 32 -x tlsf -X tlsf -f "$tmp/kamailio.cfg")
# CPU per call is compared at the highest rate both proxies carry cleanly.
common=$(( s_rate < k_rate ? s_rate : k_rate ))
s_cm=$(awk -v r="$common" '$1 == r {print $2}' "$tmp/sipring.clean" 2>/dev/null)
k_cm=$(awk -v r="$common" '$1 == r {print $2}' "$tmp/kamailio.clean" 2>/dev/null)
printf '\n%-10s %22s %26s %26s\n' proxy "clean rate (calls/s)" "CPU ms/call at clean rate" "CPU ms/call at $common/s"
printf '%-10s %22s %26s %26s\n' sipring "$s_rate" "$s_ms" "${s_cm:-n/a}"
printf '%-10s %22s %26s %26s\n' kamailio "$k_rate" "$k_ms" "${k_cm:-n/a}"
awk -v a="$s_rate" -v b="$k_rate" -v c="${s_cm:-0}" -v d="${k_cm:-0}" 'BEGIN {
    if (b > 0) printf "clean rate ratio sipring/kamailio: %.2fx\n", a / b;
    if (c > 0 && d > 0) printf "CPU per call ratio kamailio/sipring at the common rate: %.2fx\n", d / c }'
