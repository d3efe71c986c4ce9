#!/usr/bin/env bash
# tests/test_conn_limits.sh BINARY CONN_CHECKS_PY: the stream connection limits and time-outs
# (issue 14: claims without a test): --max-connections and --max-connections-per-ip refuse the
# connection over the limit at once and count it, a closed connection frees its place; an idle
# connection is closed after --tcp-idle-timeout; a peer that does not read what it is sent is
# closed once --max-send-queue bytes wait for it; a TCP server that never completes the
# handshake fails its branch after the 10 s connect time-out with a final answer, not timer F;
# a UDP next hop that answers ICMP port unreachable fails its branch at once, not after timer B.
bin=$(realpath "$1") py=$(realpath "$2")
. "$(dirname "$0")/lib.sh"
port=$((31600 + RANDOM % 1000))
"$bin" --listen "udp:127.0.0.1:$port" --listen "tcp:127.0.0.1:$port" --threads 2 \
    --media-relay no --max-connections 6 --max-connections-per-ip 3 --tcp-idle-timeout 10 \
    --max-send-queue 65536 > sipring.log 2>&1 &
spid=$!
pids+=("$spid")
for _ in $(seq 50); do grep -q advertising sipring.log && break; sleep 0.1; done
timeout 60 python3 "$py" "$port" > checks.out 2>&1
sed 's/^/   /' checks.out
v() { awk -v k="$1" '$1 == k {print $2}' checks.out; }
check "three connections from one address are served ($(v ok0) $(v ok1) $(v ok2))" \
      "[ '$(v ok0) $(v ok1) $(v ok2)' = '200 200 200' ]"
check "--max-connections-per-ip 3: the fourth from that address is refused ($(v perip4))" \
      "[ '$(v perip4)' = closed ]"
check "  while other addresses still get in, up to six connections in all ($(v otherip) $(v sixth))" \
      "[ '$(v otherip) $(v sixth)' = '200 200' ]"
check "--max-connections 6: a seventh connection in all is refused ($(v total7))" \
      "[ '$(v total7)' = closed ]"
check "  and once one closes, its place is free again ($(v freed))" "[ '$(v freed)' = 200 ]"
check "  the refusals are logged" "grep -q 'refused: over --max-connections or --max-connections-per-ip' sipring.log"
idle=$(v idle)
check "--tcp-idle-timeout 10: a silent connection is closed after 10-13 s (${idle:-never})" \
      "[ -n '$idle' ] && awk 'BEGIN {exit !($idle >= 9.9 && $idle <= 13.5)}'"
check "--max-send-queue: a peer that never reads is closed ($(grep ^slow checks.out))" \
      "[ '$(v slow)' = closed ] && grep -q 'reads too slowly' sipring.log"
c=$(grep ^connect checks.out)
check "a TCP next hop that never completes the handshake: a final answer after the 10 s connect time-out ($c)" \
      "echo '$c' | awk '{exit !((\$2 == 503 || \$2 == 408) && \$3 >= 9.5 && \$3 <= 14)}'"
check "  and the failure is logged once, with the peer" "[ \$(grep -c 'connection.*timed out' sipring.log) -ge 1 ]"
ic=$(grep ^icmp checks.out)
check "a UDP next hop with nothing listening: ICMP port unreachable fails each INVITE at once, on either worker, not after timer B ($ic)" \
      "echo '$ic' | awk '{exit !(\$2 == \"503,503,503,503,503,503\" && \$3 < 2)}'"
stop_daemon sipring "$spid" sipring.log
check "  and the ICMP errors are counted" "grep -qE 'ICMP unreachables [1-9]' sipring.log"
grep -E '^.*connections:' sipring.log | sed 's/^/   /'
check "the stop summary counts refused, idle and slow-reader closes" \
      "grep -qE 'connections: .*refused [1-9].*slow reader [1-9][0-9]*, idle [1-9]' sipring.log"
exit "$fail"
