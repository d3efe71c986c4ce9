#!/usr/bin/env bash
# tests/test_media.sh: media anchoring on loopback (issue 4): SDP rewritten to the relay, RTP
# relayed both ways, strangers dropped, and no relay port left open after BYE, a rejected call
# or media silence. Every wait is bounded.
set -u
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # registrations kept across restarts: this test's own (src/state.c)
base=$((31000 + (RANDOM % 200) * 20))
P=$((base + 19)) RMIN=$((base + 200)) RMAX=$((base + 299)) PM=$((base + 15))
"$bin" --state-dir "$tmp/st14" --listen "udp:127.0.0.1:$P" --inside 127.0.0.1/32 --public-address 127.0.0.4 --threads 2 --rtp-ports "$RMIN-$RMAX" --media-timeout 5 \
    --metrics "127.0.0.1:$PM" --call-log "$tmp/calls.jsonl" --media-fastpath kernel --log-level info > "$tmp/log" 2>&1 &
pid=$!
pid6=
trap 'kill -9 $pid $pid6 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do grep -q advertising "$tmp/log" && break; sleep 0.1; done
relay_ports() { # relay sockets sipring holds now in the range
    ss -uanp | grep "pid=$pid," | awk '{print $4}' | sed 's/.*://' |
        awk -v lo="$RMIN" -v hi="$RMAX" '$1 >= lo && $1 <= hi' | wc -l
}

timeout 30 python3 "$here/media_call.py" "$P" "$base" bye > "$tmp/bye.out" 2>&1; rc=$?
cat "$tmp/bye.out"
check "call with BYE: every media check passed (rc $rc)" "[ $rc = 0 ]"
sleep 0.3
check "after BYE no relay port is open ($(relay_ports))" "[ $(relay_ports) = 0 ]"

timeout 30 python3 "$here/media_call.py" "$P" "$((base + 40))" reject > "$tmp/rej.out" 2>&1; rc=$?
cat "$tmp/rej.out"
sleep 0.3
check "rejected call: no relay port is open ($(relay_ports), rc $rc)" "[ $rc = 0 ] && [ $(relay_ports) = 0 ]"

timeout 30 python3 "$here/media_call.py" "$P" "$((base + 80))" silent > "$tmp/sil.out" 2>&1; rc=$?
cat "$tmp/sil.out"
check "silent call: media checks passed and ports are held while it lasts ($(relay_ports))" \
      "[ $rc = 0 ] && [ $(relay_ports) = 4 ]"
# /calls while it is up: the page is at most a second old, and what the kernel relayed is
# counted in within a second more (asked up to three times)
for _ in 1 2 3; do
sleep 1
curl -s --max-time 5 "http://127.0.0.1:$PM/calls?limit=10" > "$tmp/calls.json"
live=$(python3 - "$tmp/calls.json" "media-$((base + 80))-silent@127.0.0.1" <<'PY'
import json, sys
page = json.load(open(sys.argv[1]))
c = [x for x in page["calls"] if x["call_id"] == sys.argv[2]]
if page["total"] < 1 or len(c) != 1:
    print("not listed: %s" % page); sys.exit()
c, s = c[0], c[0]["streams"]
ok = (c["state"] == "answered" and c["caller_side"] == "inside" and c["callee_side"] == "outside"
      and c["from"] == "a@127.0.0.1" and c["to"] == "b@127.0.0.3" and c["status"] == 200
      and len(s) == 1 and s[0]["codec"] == "PCMU/8000" and s[0]["srtp"] is False
      and s[0]["caller_to_callee"]["packets"] >= 20 and s[0]["callee_to_caller"]["packets"] >= 20)
print("ok" if ok else "wrong: %s" % c)
PY
)
[ "$live" = ok ] && break
done
check "/calls lists the call up now: parties, sides, answered, PCMU, 20+ packets each way ($live)" \
      "[ '$live' = ok ]"
for _ in $(seq 100); do [ "$(relay_ports)" = 0 ] && break; sleep 0.1; done
check "after --media-timeout 5 s of silence the ports are released" "[ $(relay_ports) = 0 ]"
check "the timeout is logged" "grep -q 'silent for' '$tmp/log'"

# call records: a call with RTCP both ways (media_call.py quality), then every record checked
timeout 30 python3 "$here/media_call.py" "$P" "$((base + 160))" quality > "$tmp/q.out" 2>&1; rc=$?
cat "$tmp/q.out"
check "call with RTCP reports: every media check passed (rc $rc)" "[ $rc = 0 ]"
sleep 1.2 # the records are written within a second
recs=$(python3 - "$tmp/calls.jsonl" "$base" <<'PY'
import json, sys
base = int(sys.argv[2])
rec = {}
for line in open(sys.argv[1]):
    r = json.loads(line)  # every line is one JSON object
    rec[r["call_id"]] = r
def get(port, mode):
    return rec.get("media-%d-%s@127.0.0.1" % (port, mode))
bad = []
b, j, s, q = get(base, "bye"), get(base + 40, "reject"), get(base + 80, "silent"), get(base + 160, "quality")
if not b or b["ended_by"] != "caller" or b["status"] != 200 or b["streams"][0]["caller_to_callee"]["packets"] < 20:
    bad.append("bye %s" % b)
if not j or j["ended_by"] != "failed" or j["status"] != 486 or j["duration_s"] != 0:
    bad.append("reject %s" % j)
if not s or s["ended_by"] != "media timeout" or s["duration_s"] < 4:
    bad.append("silent %s" % s)
if not q:
    bad.append("no quality record")
else:
    st = q["streams"][0]
    c2e, e2c = st["caller_to_callee"], st["callee_to_caller"]
    # the callee reported 2 lost and 80 units (10 ms at PCMU's 8 kHz), the caller 0 and 160
    if not (st["rtt_ms"] is not None and 55 <= st["rtt_ms"] <= 150):
        bad.append("rtt %s" % st["rtt_ms"])
    if not (c2e["loss_pct"] is not None and 2 < c2e["loss_pct"] < 15 and c2e["jitter_ms"] == 10.0):
        bad.append("caller_to_callee %s" % c2e)
    if not (e2c["loss_pct"] == 0 and e2c["jitter_ms"] == 20.0):
        bad.append("callee_to_caller %s" % e2c)
    if not (1 <= c2e["mos"] < e2c["mos"] <= 4.5):
        bad.append("mos %s %s" % (c2e["mos"], e2c["mos"]))
print("ok" if not bad else "; ".join(bad))
PY
)
check "--call-log: one JSON line per call: BYE, 486, media timeout, and RTCP loss, jitter, RTT, MOS ($recs)" \
      "[ '$recs' = ok ]"
check "one log line per ended call, RTCP figures included" \
      "[ \$(grep -c 'call ended: Call-ID media-' '$tmp/log') -ge 4 ] && grep 'call ended: Call-ID media-$((base + 160))-quality' '$tmp/log' | grep -q 'rtt [0-9]* ms.*MOS'"

# IPv6: the same call over ::1 through a second sipring listening there.
P6=$((base + 18))
"$bin" --state-dir "$tmp/st46" --listen "udp:[::1]:$P6" --threads 1 --rtp-ports "$((RMAX + 1))-$((RMAX + 40))" \
    --log-level info > "$tmp/log6" 2>&1 &
pid6=$!
for _ in $(seq 50); do grep -q advertising "$tmp/log6" && break; sleep 0.1; done
timeout 30 python3 "$here/media_call.py" "$P6" "$((base + 120))" v6 > "$tmp/v6.out" 2>&1; rc=$?
cat "$tmp/v6.out"
check "IPv6: SDP rewritten to [::1] relay ports, RTP and RTCP relayed both ways (rc $rc)" "[ $rc = 0 ]"
kill -TERM $pid6; wait $pid6; rc=$?
check "the IPv6 instance exits 0 on SIGTERM (rc $rc)" "[ $rc = 0 ]"

# the relay full for real: two port pairs, calls to a callee that never answers (but listens); each
# unanswered call holds one pair, so the third gets 503 with Retry-After and is counted
PF=$((base + 17)) RF=$((RMAX + 51)) # even: two whole pairs
"$bin" --state-dir "$tmp/st59" --listen "udp:127.0.0.1:$PF" --inside 127.0.0.1/32 --threads 1 --rtp-ports "$RF-$((RF + 3))" --drain-timeout 1 \
    --log-level info > "$tmp/logf" 2>&1 &
pidf=$!
for _ in $(seq 50); do grep -q advertising "$tmp/logf" && break; sleep 0.1; done
full=$(python3 - "$PF" "$((base + 16))" <<'PY'
import socket, sys
port, dead = int(sys.argv[1]), int(sys.argv[2])
# the callee takes the INVITEs and never answers (a port with nobody on it would answer ICMP
# port unreachable, and sipring ends such a branch at once)
callee = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); callee.bind(("127.0.0.1", dead))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(1)
sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
finals = []
for i in range(3):
    s.sendto((f"INVITE sip:x@127.0.0.1:{dead} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{s.getsockname()[1]};branch=z9hG4bKfull{i}\r\n"
              f"From: <sip:a@127.0.0.1>;tag=f{i}\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: full{i}\r\nCSeq: 1 INVITE\r\n"
              f"Contact: <sip:a@127.0.0.1:{s.getsockname()[1]}>\r\nMax-Forwards: 70\r\n"
              f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}").encode(), ("127.0.0.1", port))
    got = "none"
    try:
        while True:
            r = s.recv(65535).decode(errors="replace")
            code = r.split(" ")[1]
            if code != "100":
                got = code + ("+retry" if "Retry-After:" in r else "")
                break
    except socket.timeout:
        pass
    finals.append(got)
print(" ".join(finals))
PY
)
check "relay full: two calls ring on the two pairs, the third gets 503 with Retry-After ($full)" \
      "[ '$full' = 'none none 503+retry' ]"
kill -TERM $pidf; wait $pidf; rc=$?
check "  that sipring exits 0 (rc $rc)" "[ $rc = 0 ]"
check "  and logged the full relay once" "[ \$(grep -cE 'no free relay ports|no room for the call' '$tmp/logf') = 1 ]"

kill -TERM $pid; wait $pid; rc=$?
check "clean exit 0 (rc $rc)" "[ $rc = 0 ]"
check "no sanitizer report in any log" \
      "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' '$tmp/log' '$tmp/log6' '$tmp/logf'"
check "strangers' packets were counted as dropped" "grep -qE 'media: .*strangers [1-9]' '$tmp/log'"
# --media-fastpath kernel (issue 17): once both legs latched, their RTP went through the tc
# program, and every check above (byte for byte both ways, no stranger through, the records'
# counts) held with it
check "the kernel's fast path was loaded and relayed most of the RTP" \
      "grep -q 'media fast path: in the kernel' '$tmp/log' && grep -qE 'relayed [0-9]+ \\(in the kernel [1-9][0-9]+, legs [1-9]' '$tmp/log'"
[ $fail = 0 ] || tail -20 "$tmp/log"
exit $fail
