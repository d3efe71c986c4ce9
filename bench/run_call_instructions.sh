#!/usr/bin/env bash
# bench/run_call_instructions.sh [BINARY...]: instructions each sipring binary executes per call
# (callgrind's count, exact and unaffected by whatever else the machine is doing; perf has no
# hardware counters here). SIPp's built-in uac/uas place 200 and then 1200 calls at 50/s
# through each binary on loopback (the inside: no per-source caps apply, the MACs do); the
# difference of the two runs divided by 1000 is the cost of one call
# (INVITE/100/180/200/ACK/BYE/200), start-up excluded. Without arguments: build/src/sipring.
# The first binary is the reference the others are compared with. On demand, not in CI.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(build/src/sipring)
command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >&2
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # sipring's store (--state-dir): this run's own
trap 'pkill -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT
port=$((25200 + RANDOM % 500))
run() { # binary calls -> instructions
    local out="$tmp/cg.$RANDOM"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$1" --listen "udp:127.0.0.1:$port" \
        --threads 1 --media-relay no --log-level warn > "$tmp/sr.log" 2>&1 &
    local vg=$!
    for _ in $(seq 100); do ss -uln | grep -q "127.0.0.1:$port " && break; sleep 0.1; done
    timeout 120 sipp -sn uas -i 127.0.0.1 -p $((port + 1)) -m "$2" > /dev/null 2>&1 &
    local uas=$!
    sleep 0.5
    timeout 120 sipp -sn uac "127.0.0.1:$((port + 1))" -rsa "127.0.0.1:$port" -i 127.0.0.1 \
        -p $((port + 2)) -m "$2" -r 50 -timeout 100s > "$tmp/uac.out" 2>&1
    local ok
    ok=$(grep -E 'Successful call' "$tmp/uac.out" | tail -1 | awk '{print $NF}')
    wait $uas 2>/dev/null
    kill -TERM $vg; wait $vg
    [ "$ok" = "$2" ] || { echo "only $ok of $2 calls completed" >&2; echo 0; return; }
    awk '/^summary:/ {print $2}' "$out"
}
printf '%-40s %14s %14s %12s %8s\n' binary "Ir (200 calls)" "Ir (1200)" "Ir per call" ratio
ref=
for b in "${bins[@]}"; do
    a=$(run "$b" 200) z=$(run "$b" 1200)
    per=$(( (z - a) / 1000 ))
    [ -n "$ref" ] || ref=$per
    printf '%-40s %14s %14s %12s %8s\n' "$b" "$a" "$z" "$per" \
        "$(awk -v p=$per -v r=$ref 'BEGIN {printf "%.3f", p / r}')"
done
