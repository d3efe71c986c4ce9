#!/usr/bin/env bash
# tests/test_hep.sh: --hep with the collector admins use (issue 15): sngrep listens for HEP
# (-L) and writes what it gets to a pcap (-O); SIPp places calls through sipring, which sends a
# copy of every SIP message it receives and sends. The capture must hold each call's 13
# messages in the order they passed (INVITE in, 100 out, INVITE on, 180 in and on, 200 in and
# on, ACK in and on, BYE in and on, 200 in and on), with our side and the peers' addresses.
# usage: test_hep.sh SIPRING SCENARIO_DIR
bin=$(realpath "$1") scen=$(realpath "$2")
lib=$(realpath "$(dirname "$0")/lib.sh")
. "$lib"
base=$((25500 + (RANDOM % 200) * 10))
P=$base UAS=$((base + 1)) UAC=$((base + 2)) HP=$((base + 3))
CALLS=5

sngrep -N -q -L "udp:127.0.0.1:$HP" -O capture.pcap > sngrep.log 2>&1 &
sng=$!
pids+=($sng)
sleep 0.5
# one worker: every message is captured by the thread that handles it, in handling order
"$bin" --listen "udp:127.0.0.1:$P" --inside 127.0.0.1/32 --threads 1 --media-relay no \
    --hep "udp:127.0.0.1:$HP" --hep-id 77 > proxy.log 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 50); do grep -q 'HEP capture to' proxy.log && break; sleep 0.1; done
check "sipring sends HEP to the collector" "grep -q 'HEP capture to udp:127.0.0.1:$HP (agent id 77)' proxy.log"

calls_through "$scen" "$P" "$UAS" "$UAC" $CALLS 5
rc=$?
check "SIPp completes $CALLS calls through sipring (rc $rc)" "[ $rc = 0 ] && [ '$(sipp_calls uac.out)' = $CALLS ]"
sleep 1
stop_daemon sipring "$proxy" proxy.log
kill -INT "$sng" 2>/dev/null
wait "$sng" 2>/dev/null

python3 - "$P" "$UAS" "$UAC" > order.out 2>&1 <<'PY'
import re, struct, sys
P, UAS, UAC = (int(a) for a in sys.argv[1:])
data = open("capture.pcap", "rb").read()
off, calls = 24, {}
start = re.compile(rb"(INVITE|ACK|BYE|SIP/2\.0 [0-9]{3})[ \r]")
while off + 16 <= len(data):
    ts, us, incl, _ = struct.unpack("<IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    m = start.search(pkt)
    cid = re.search(rb"\r\nCall-ID: ([^\r]+)\r\n", pkt)
    if not m or not cid:
        continue
    # the UDP header just before the SIP message: source and destination ports
    udp = pkt[m.start() - 8:m.start()]
    sport, dport = struct.unpack(">HH", udp[:4])
    what = m.group(1).decode()
    what = what.split()[1] if what.startswith("SIP/2.0") else what
    calls.setdefault(cid.group(1), []).append((what, sport, dport))
want = [("INVITE", UAC, P), ("100", P, UAC), ("INVITE", P, UAS), ("180", UAS, P), ("180", P, UAC),
        ("200", UAS, P), ("200", P, UAC), ("ACK", UAC, P), ("ACK", P, UAS), ("BYE", UAC, P),
        ("BYE", P, UAS), ("200", UAS, P), ("200", P, UAC)]
bad = [c for c, seq in calls.items() if seq != want]
print(len(calls), "calls,", sum(len(s) for s in calls.values()), "messages,", len(bad), "out of order")
for c in bad[:2]:
    print(c, calls[c])
PY
check "the capture holds each call's 13 messages in order, with their ports ($(head -1 order.out))" \
      "[ \"\$(head -1 order.out)\" = '$CALLS calls, $((CALLS * 13)) messages, 0 out of order' ]"
"$bin" --hep 1.2.3.4 --check-config > bad.out 2>&1; rc=$?
check "--hep without a port is refused (rc $rc)" "[ $rc = 2 ] && grep -q -- '--hep' bad.out"
exit $fail
