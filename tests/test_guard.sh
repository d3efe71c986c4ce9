#!/usr/bin/env bash
# tests/test_guard.sh: sipring protecting itself on loopback (issue 6 §3): while one outside
# source floods REGISTER and INVITE as fast as it can (bounded in count and time), a SIPp call
# series from the inside completes 100 %; the flooder is banned, logged once per ban, and let in
# again after --ban-time; a denied network gets no answer; a scanner's User-Agent gets none;
# every message of corpus/sip is survived (the suite also runs this under ASan+UBSan); --allow
# answers only its networks, and a source's burst is twice its rate.
set -u
bin=$(realpath "$1") peer=$(realpath "$2") corpus=$(realpath "$3")
lib=$(realpath "$(dirname "$0")/lib.sh")
. "$lib"
base=$((22000 + (RANDOM % 300) * 10))
P=$base UAS=$((base + 1)) UAC=$((base + 2)) FLOOD_PORT=$((base + 3))

# only 127.0.0.1 is the inside: the flooder (127.0.0.5) is an outside source
"$bin" --state-dir "$tmp/st16" --listen "udp:127.0.0.1:$P" --inside 127.0.0.1/32 --threads 2 --media-relay no \
    --rate-limit 50 --ban-time 3 --deny outside:127.0.0.6/32 > proxy.log 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 50); do grep -q advertising proxy.log && break; sleep 0.1; done
check "an outside source is answered (OPTIONS: $(python3 "$peer" options 127.0.0.5 "$P"))" \
      "python3 '$peer' options 127.0.0.5 '$P' | grep -q '^SIP/2.0 200'"

timeout 60 sipp -sn uas -i 127.0.0.1 -p "$UAS" -m 300 > uas.out 2>&1 &
uas=$!
pids+=($uas)
sleep 0.3
GUARD_SRC_PORT=$FLOOD_PORT timeout 40 python3 "$peer" flood 127.0.0.5 "$P" 8 400000 > flood.out &
flood=$!
pids+=($flood)
timeout 50 sipp -sn uac "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" -m 300 -r 50 \
    -timeout 40s -timeout_error > uac.out 2>&1; rc=$?
wait "$flood"
check "under a flood of $(cat flood.out) REGISTER/INVITE from 127.0.0.5, 300 calls from the inside complete (rc $rc, ok $(sipp_calls uac.out))" \
      "[ $rc = 0 ] && [ \"\$(sipp_calls uac.out)\" = 300 ]"
wait "$uas" 2>/dev/null
check "the flooder was banned, and the ban logged (not every packet)" \
      "grep -q 'banned 127.0.0.5 for 3 s' proxy.log && [ \$(grep -c 'banned 127.0.0.5' proxy.log) -le 10 ]"
# The ban runs 3 s from the last flood datagram the worker read; under ASan a worker may still
# be reading queued ones after the flooder stopped, so the ban may end a little later. The
# probe comes from the flooder's own port: the same worker, the one that banned it.
sleep 3.5
for _ in $(seq 10); do
    answer=$(GUARD_SRC_PORT=$FLOOD_PORT python3 "$peer" options 127.0.0.5 "$P")
    echo "$answer" | grep -q '^SIP/2.0 200' && break
    sleep 0.5
done
check "after --ban-time the source is answered again ($answer)" \
      "echo '$answer' | grep -q '^SIP/2.0 200' && GUARD_SRC_PORT=$FLOOD_PORT python3 '$peer' options 127.0.0.5 '$P' | grep -q '^SIP/2.0 200' && grep -q 'ban on 127.0.0.5 lifted' proxy.log"
check "a denied outside network gets no response" \
      "[ \"\$(python3 '$peer' options 127.0.0.6 '$P')\" = none ]"
check "a scanner's User-Agent gets no response" \
      "[ \"\$(python3 '$peer' options 127.0.0.7 '$P' friendly-scanner)\" = none ]"
check "  while the same request without it gets 200" \
      "python3 '$peer' options 127.0.0.7 '$P' | grep -q '^SIP/2.0 200'"
files=("$corpus"/invalid/* "$corpus"/regress/* "$corpus"/generated/* "$corpus"/valid/*)
sent=$(python3 "$peer" files 127.0.0.8 "$P" "${files[@]}"); rc=$?
check "all ${#files[@]} messages of corpus/sip (malformed, regressions, fuzzer-made, valid) sent (rc $rc, $sent sent)" \
      "[ $rc = 0 ] && [ '$sent' = ${#files[@]} ]"
check "  sipring survived them: it still answers" \
      "kill -0 $proxy && python3 '$peer' options 127.0.0.9 '$P' | grep -q '^SIP/2.0 200'"
kill -TERM "$proxy"; wait "$proxy"; rc=$?
check "sipring exits 0" "[ $rc = 0 ]"
grep -E 'guard:|stopped:' proxy.log | sed 's/^/# /'

# --allow and the burst: only the allowed outside network is answered, and one source gets
# --rate-limit x 2 requests at once before the bucket is empty
P2=$((base + 5))
"$bin" --state-dir "$tmp/st69" --listen "udp:127.0.0.1:$P2" --inside 127.0.0.1/32 --threads 1 --media-relay no \
    --rate-limit 10 --ban-time 60 --allow outside:127.0.0.20/32 --allow inside:127.0.0.1/32 \
    > allow.log 2>&1 &
p2=$!
pids+=($p2)
for _ in $(seq 50); do grep -q advertising allow.log && break; sleep 0.1; done
check "--allow: a source outside the allowed networks gets nothing ($(python3 "$peer" options 127.0.0.21 "$P2"))" \
      "[ \"\$(python3 '$peer' options 127.0.0.21 '$P2')\" = none ]"
burst=$(python3 "$peer" burst 127.0.0.20 "$P2" 40)
check "  the allowed source's burst: $burst of 40 at once answered (--rate-limit 10: a burst of 20)" \
      "[ '$burst' -ge 19 ] && [ '$burst' -le 21 ]"
check "  and then it is banned" "grep -q 'banned 127.0.0.20 for 60 s' allow.log"
stop_daemon "the --allow sipring" $p2 allow.log
[ $fail = 0 ] || tail -20 proxy.log
exit $fail
