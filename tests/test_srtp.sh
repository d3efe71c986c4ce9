#!/usr/bin/env bash
# tests/test_srtp.sh: SRTP on the outside leg (issue 6), on loopback.
#  1. Two sipring, each the edge of its own inside, SRTP between them (--srtp-outside required):
#     phones speaking plain RTP get each other's packets byte for byte, RTP and RTCP; a
#     re-INVITE rekeys; a capture of the leg between them holds no plaintext, and no key from
#     the wire appears in either log (run at debug level).
#  2. Interop with rtpengine (Debian's rtpengine-daemon) as the far side, for each of the four
#     suites: sipring's SRTP offer decoded by rtpengine, and rtpengine's offer answered by
#     sipring; the plain endpoint behind rtpengine and the inside phone exchange RTP and RTCP.
#  3. --srtp-outside optional offers best-effort SRTP and relays plain RTP when the outside
#     answers without a=crypto; required refuses a plain offer from the outside with 488.
# usage: test_srtp.sh SIPRING_BIN SRTP_CALL_PY
bin=$(realpath "$1") call=$(realpath "$2")
. "$(dirname "$0")/lib.sh"
base=$((32000 + (RANDOM % 100) * 20))
P1=$((base + 1)) P2=$((base + 2)) NG=$((base + 3)) # NG + 1: rtpengine's CLI
R1="$((base + 400))-$((base + 499))" R2="$((base + 500))-$((base + 599))"
RE="$((base + 600))-$((base + 699))"
wait_log() { for _ in $(seq 50); do grep -q advertising "$1" && return 0; sleep 0.1; done; return 1; }

tcpdump -i lo -n -U --immediate-mode -w wire.pcap "udp and (portrange ${R1} or port $P1)" > tcpdump.log 2>&1 &
td=$!
pids+=($td)
"$bin" --state-dir "$tmp/st24" --listen "udp:127.0.0.1:$P1" --inside 127.0.0.1/32 \
    --upstream "sip:127.0.0.5:$P2" --srtp-outside required --rtp-ports "$R1" --threads 2 \
    --log-level debug > s1.log 2>&1 &
pids+=($!)
s1=$!
"$bin" --state-dir "$tmp/st29" --listen "udp:127.0.0.5:$P2" --inside 127.0.0.5/32 \
    --domain sr2.test --srtp-outside required --rtp-ports "$R2" --threads 2 \
    --log-level debug > s2.log 2>&1 &
pids+=($!)
s2=$!
wait_log s1.log && wait_log s2.log
for _ in $(seq 100); do grep -q "listening on" tcpdump.log && break; sleep 0.1; done
check "tcpdump captures the loopback" "grep -q 'listening on' tcpdump.log"
timeout 60 python3 "$call" pair "$P1" "$P2" "$((base + 100))"; rc=$?
check "two sipring with SRTP between them: the call's checks passed (rc $rc)" "[ $rc = 0 ]"
# let tcpdump write out what it has buffered (under load it lags): until the file stops growing
last=-1
for _ in $(seq 40); do
    size=$(stat -c %s wire.pcap 2>/dev/null || echo 0)
    [ "$size" = "$last" ] && break
    last=$size
    sleep 0.5
done
kill -INT $td; wait $td 2>/dev/null
stop_daemon "the first sipring" $s1 s1.log
stop_daemon "the second sipring" $s2 s2.log
timeout 30 python3 "$call" wire wire.pcap "$P1" "$P2" "$R1" "$R2" s1.log s2.log; rc=$?
check "the outside wire: SRTP only, fresh keys, none logged (rc $rc)" "[ $rc = 0 ]"
check "each sipring counted an SRTP stream and no failed SRTP check" \
      "grep -q 'SRTP streams [1-9][0-9]*, failed SRTP checks 0' s1.log && grep -q 'SRTP streams [1-9][0-9]*, failed SRTP checks 0' s2.log"

# rtpengine as the far side, userspace only (no kernel module here)
rtpengine --interface=127.0.0.7 --listen-ng="127.0.0.1:$NG" --listen-cli="127.0.0.1:$((NG + 1))" --port-min="${RE%-*}" --port-max="${RE#*-}" \
    --table=-1 --foreground --log-stderr --num-threads=1 --log-level=5 --delete-delay=0 \
    --no-fallback --pidfile="$tmp/rtpe.pid" > rtpengine.log 2>&1 &
pids+=($!)
sleep 1
n=0
for suite in AES_CM_128_HMAC_SHA1_80 AES_CM_128_HMAC_SHA1_32 AEAD_AES_128_GCM AEAD_AES_256_GCM; do
    n=$((n + 1))
    # a port of its own for each instance: sipring's listeners use SO_REUSEPORT, so one still
    # draining on a shared port would take part of the next one's traffic
    PE=$((base + 10 + n))
    "$bin" --state-dir "$tmp/st67" --listen "udp:127.0.0.1:$PE" --inside 127.0.0.1/32 \
        --domain sr1.test --srtp-outside required --srtp-suites "$suite" --rtp-ports "$R1" \
        --threads 1 --log-level info > "e$n.log" 2>&1 &
    sr=$!
    pids+=($sr)
    wait_log "e$n.log"
    timeout 30 python3 "$call" engine-out "$PE" "$((base + 100 + n * 20))" "$NG" "$suite"; rc=$?
    check "$suite: sipring's SRTP offer decoded by rtpengine, media both ways (rc $rc)" "[ $rc = 0 ]"
    timeout 30 python3 "$call" engine-in "$PE" "$((base + 110 + n * 20))" "$NG" "$suite"; rc=$?
    check "$suite: rtpengine's SRTP offer answered by sipring, media both ways (rc $rc)" "[ $rc = 0 ]"
    stop_daemon "$suite: sipring" $sr e$n.log
    check "$suite: no failed SRTP check" "grep -q 'failed SRTP checks 0' e$n.log"
done

# optional: best effort, a plain answer gets plain RTP
"$bin" --state-dir "$tmp/st82" --listen "udp:127.0.0.1:$((base + 16))" --inside 127.0.0.1/32 --srtp-outside optional \
    --rtp-ports "$R1" --threads 1 --log-level info > opt.log 2>&1 &
sr=$!
pids+=($sr)
wait_log opt.log
timeout 30 python3 "$call" optional-plain "$((base + 16))" "$((base + 220))"; rc=$?
check "--srtp-outside optional: best-effort offer, plain answer, plain media both ways (rc $rc)" "[ $rc = 0 ]"
stop_daemon "optional: sipring" $sr opt.log
check "optional: no SRTP stream counted for the plain answer" "grep -q 'SRTP streams 0, failed SRTP checks 0' opt.log"

# required: a plain offer from the outside is refused (the mode comes from a file, for the
# reload below)
echo "srtp-outside = required" > req.conf
"$bin" --config req.conf --listen "udp:127.0.0.1:$((base + 17))" --inside 127.0.0.1/32 --domain sr1.test \
    --rtp-ports "$R1" --threads 1 --log-level info > req.log 2>&1 &
sr=$!
pids+=($sr)
wait_log req.log
python3 - "$((base + 17))" "$((base + 200))" <<'PY'
import socket, sys
p1, base = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", base))
s.settimeout(3)
reg = ("REGISTER sip:sr1.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKreg\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:a@sr1.test>;tag=r\r\nTo: <sip:a@sr1.test>\r\nCall-ID: reg-%d\r\n"
       "CSeq: 1 REGISTER\r\nContact: <sip:a@127.0.0.1:%d>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
       % (base + 1, base, base + 1))
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind(("127.0.0.1", base + 1))
a.settimeout(3)
a.sendto(reg.encode(), ("127.0.0.1", p1))
print(a.recv(65535).decode().split("\r\n")[0])
body = "v=0\r\no=- 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
inv = ("INVITE sip:a@sr1.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.3:%d;branch=z9hG4bKplain\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.3>;tag=x\r\nTo: <sip:a@sr1.test>\r\nCall-ID: plain-%d\r\n"
       "CSeq: 1 INVITE\r\nContact: <sip:x@127.0.0.3:%d>\r\nContent-Type: application/sdp\r\n"
       "Content-Length: %d\r\n\r\n%s" % (base, base, base, len(body), body))
s.sendto(inv.encode(), ("127.0.0.1", p1))
try:
    while True:
        r = s.recv(65535).decode()
        if not r.startswith("SIP/2.0 100"):
            break
except socket.timeout:
    r = ""
print(r.split("\r\n")[0])
sys.exit(0 if r.startswith("SIP/2.0 488") else 1)
PY
rc=$?
check "--srtp-outside required: a plain offer from the outside gets 488 (rc $rc)" "[ $rc = 0 ]"
# SIGHUP with --srtp-outside off: the next plain offer from the outside is relayed to the phone
echo "srtp-outside = off" > req.conf
kill -HUP "$sr"
for _ in $(seq 50); do grep -q 'SIGHUP: configuration 1 applied' req.log && break; sleep 0.1; done
got=$(python3 - "$((base + 17))" "$((base + 200))" <<'PY'
import socket, sys
p1, base = int(sys.argv[1]), int(sys.argv[2])
phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
phone.bind(("127.0.0.1", base + 1))  # the Contact registered above
phone.settimeout(3)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", base + 2))
body = "v=0\r\no=- 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
inv = ("INVITE sip:a@sr1.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.3:%d;branch=z9hG4bKplain2\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:x@127.0.0.3>;tag=y\r\nTo: <sip:a@sr1.test>\r\nCall-ID: plain2-%d\r\n"
       "CSeq: 1 INVITE\r\nContact: <sip:x@127.0.0.3:%d>\r\nContent-Type: application/sdp\r\n"
       "Content-Length: %d\r\n\r\n%s" % (base + 2, base, base + 2, len(body), body))
s.sendto(inv.encode(), ("127.0.0.1", p1))
try:
    r = phone.recv(65535).decode()
    print("relayed" if r.startswith("INVITE ") and "RTP/AVP" in r and "a=crypto" not in r else "other")
except socket.timeout:
    print("not relayed")
PY
)
check "after SIGHUP with srtp-outside off, a plain offer from the outside reaches the phone as plain RTP ($got)" \
      "[ '$got' = relayed ]"
stop_daemon "required: sipring" $sr req.log
check "the refusal is logged and counted" "grep -q 'refused with 488' req.log && grep -q 'plain offers refused 1' req.log"
[ $fail = 0 ] || for f in s1.log s2.log rtpengine.log e*.log; do echo "== $f"; tail -5 "$f"; done
exit $fail
