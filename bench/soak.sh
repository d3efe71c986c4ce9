#!/usr/bin/env bash
# bench/soak.sh [MINUTES]: sipring with its defaults under a sustained load for MINUTES (default
# 30), as issue 17 item 5 asks: SIPp calls of 1 s at RATE calls/s (default 1400: 70 % of the
# clean maximum of 2,000 calls/s the 2-worker call benchmark found), REGS phones (default 5,000)
# re-registering every 60 s, and MEDIA_RATE calls/s (default 5) with G.711 audio both ways
# through the relay. Every 10 s it samples sipring's resident memory, open descriptors and the
# transactions in use (from its /metrics), and at the end prints the calls that failed, the
# 503s sipring sent, and the RSS slope after warm-up (the first fifth of the run, at least one
# minute): growth of at most 1 % from the end of warm-up to the end is flat. On demand, not in
# CI; figures go to the README with their date and commit.
# THREADS (default 2) is --threads. Everything listens on loopback.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
minutes=${1:-30}
rate=${RATE:-1400}
regs=${REGS:-5000}
media_rate=${MEDIA_RATE:-5}
threads=${THREADS:-2}
cd "$top"
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >&2
ninja -C build src/sipring >&2
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # sipring's store (--state-dir): this run's own
trap 'pkill -P $$ 2>/dev/null; sleep 0.5; pkill -9 -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT
P=25400 M=25401 UAS=25410 UAC=25420 REG=25430 MUAS=25440 MUAC=25450
secs=$((minutes * 60))

build/src/sipring --listen "udp:127.0.0.1:$P" --metrics "127.0.0.1:$M" --log-level warn \
    --threads "$threads" --rtp-ports 40000-49999 --domain soak.test > "$tmp/sipring.log" 2>&1 &
sr=$!
sleep 1
metric() { # the sum of a metric family's samples on /metrics
    curl -s --max-time 2 "http://127.0.0.1:$M/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 {s += $2} END {print s + 0}'
}

# the phones: REGS users at the callee's port, each re-registering every 60 s
python3 -c "
import sys
print('SEQUENTIAL')
for i in range($regs):
    print('u%05d;soak.test;' % i)" > "$tmp/users.csv"
sipp -sn uas -i 127.0.0.1 -p "$UAS" -bg > /dev/null 2>&1
sipp -sf tests/sipp/uas_media.xml -i 127.0.0.1 -p "$MUAS" -mp 30000 -bg > /dev/null 2>&1
sleep 0.3
timeout $((secs + 60)) sipp -sf tests/sipp/register_inf.xml "127.0.0.1:$P" -inf "$tmp/users.csv" \
    -key contact_port "$UAS" -key expires 120 -i 127.0.0.1 -p "$REG" -r "$((regs / 60 + 1))" \
    -m $((regs / 60 * secs + regs)) -timeout "$((secs + 30))s" > "$tmp/reg.out" 2>&1 &
timeout $((secs + 60)) sipp -sn uac "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" \
    -r "$rate" -d 1000 -l $((rate * 10)) -m $((rate * secs)) -timeout "$((secs + 30))s" \
    > "$tmp/uac.out" 2>&1 &
timeout $((secs + 60)) sipp -sf tests/sipp/uac_media.xml "127.0.0.1:$MUAS" -rsa "127.0.0.1:$P" \
    -i 127.0.0.1 -p "$MUAC" -mp 35000 -r "$media_rate" -m $((media_rate * secs)) \
    -timeout "$((secs + 30))s" > "$tmp/media.out" 2>&1 &
echo "soak: $minutes min, $rate calls/s of 1 s, $regs phones every 60 s, $media_rate calls/s with audio, $threads workers" >&2
printf '%6s %10s %6s %12s %8s\n' sec rss_kb fds txn_in_use 503s >&2
: > "$tmp/samples"
t0=$(date +%s)
while [ $(($(date +%s) - t0)) -lt "$secs" ] && kill -0 $sr 2>/dev/null; do
    sleep 10
    now=$(($(date +%s) - t0))
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$sr/status 2>/dev/null)
    fds=$(ls /proc/$sr/fd 2>/dev/null | wc -l)
    txn=$(metric sipring_transactions)
    r503=$(curl -s --max-time 2 "http://127.0.0.1:$M/metrics" | awk '/^sipring_replies_total/ && /class="5xx"/ {s += $2} END {print s + 0}')
    printf '%6d %10s %6s %12s %8s\n' "$now" "${rss:-0}" "$fds" "$txn" "$r503" >&2
    echo "$now ${rss:-0} $fds $txn $r503" >> "$tmp/samples"
done
sleep 45 # the last calls end and SIPp prints its totals
calls_of() { grep "$1" "$2" | tail -1 | awk -F'|' '{print $3}' | tr -d ' '; }
ok=$(calls_of 'Successful call' "$tmp/uac.out") failed=$(calls_of 'Failed call' "$tmp/uac.out")
mok=$(calls_of 'Successful call' "$tmp/media.out") mfailed=$(calls_of 'Failed call' "$tmp/media.out")
rok=$(calls_of 'Successful call' "$tmp/reg.out") rfailed=$(calls_of 'Failed call' "$tmp/reg.out")
kill -TERM $sr; wait $sr; rc=$?
python3 - "$tmp/samples" "$minutes" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
warm = max(60, int(sys.argv[2]) * 60 / 5)
after = [r for r in rows if r[0] >= warm]
if len(after) < 3:
    print("too few samples after warm-up"); sys.exit()
xs, ys = [r[0] for r in after], [r[1] for r in after]
n = len(xs); mx, my = sum(xs) / n, sum(ys) / n
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
growth = (ys[-1] - ys[0]) / ys[0] * 100
print("RSS after warm-up (%d s): %.0f kB -> %.0f kB (%+.2f %%), slope %+.2f kB/min; fds %d -> %d; max txn in use %d"
      % (warm, ys[0], ys[-1], growth, slope * 60, after[0][2], after[-1][2], max(r[3] for r in rows)))
print("flat" if abs(growth) <= 1 else "NOT flat")
PY
echo "calls: ${ok:-?} ok, ${failed:-?} failed; with audio: ${mok:-?} ok, ${mfailed:-?} failed; REGISTERs: ${rok:-?} ok, ${rfailed:-?} failed; 503s sent $(tail -1 "$tmp/samples" | awk '{print $5}'); sipring exit $rc"
