#!/usr/bin/env bash
# tests/test_udp_options.sh: the real binary on loopback, on its embedded defaults plus a test
# port, answering OPTIONS from SIPp and a raw UDP client, surviving every corpus message, and
# stopping cleanly on SIGTERM.
set -u
bin=$1 scen=$2
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # registrations kept across restarts: this test's own (src/state.c)
port=$((20000 + RANDOM % 20000))
# --inside names a network without loopback: the corpus flood below then comes from a stranger,
# and sipring relays none of it (its targets are documentation addresses off this machine).
"$bin" --listen "udp:127.0.0.1:$port" --inside 10.255.255.255/32 --log-level debug \
    --drain-timeout 2 > "$tmp/log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do grep -q 'listening on' "$tmp/log" && break; sleep 0.1; done
check "sipring starts and listens" "grep -q 'listening on udp:127.0.0.1:$port' '$tmp/log'"

timeout 30 sipp -sf "$scen/options.xml" "127.0.0.1:$port" -i 127.0.0.1 -p $((port + 1)) \
    -m 20 -r 50 -timeout 20s -timeout_error -max_retrans 3 \
    -trace_stat -stf "$tmp/stat.csv" > "$tmp/sipp.out" 2>&1; rc=$?
check "SIPp: 20 OPTIONS answered 200 with Allow, 0 failed (rc $rc)" "[ $rc = 0 ]"

python3 - "$port" > "$tmp/py.out" 2>&1 <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
req = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKpy;rport\r\n"
       "From: <sip:py@127.0.0.1>;tag=7\r\nTo: <sip:127.0.0.1>\r\nCall-ID: py-1\r\n"
       "CSeq: 3 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
s.sendto(req, ("127.0.0.1", port))
r1 = s.recv(4096).decode()
s.sendto(req, ("127.0.0.1", port))
r2 = s.recv(4096).decode()
src = s.getsockname()[1]
ok = (r1.startswith("SIP/2.0 200 OK\r\n") and f"rport={src};received=127.0.0.1" in r1
      and "Call-ID: py-1\r\n" in r1 and "CSeq: 3 OPTIONS\r\n" in r1 and ";tag=" in r1.split("To:")[1]
      and r1 == r2)
print("reply ok" if ok else "bad reply:\n" + r1 + "\n---\n" + r2)
PY
check "raw client: 200 with rport/received filled, same To tag on retransmission" \
      "grep -qx 'reply ok' '$tmp/py.out'"

corpus=$(dirname "$scen")/../corpus/sip
python3 - "$port" "$corpus" > "$tmp/flood.out" 2>&1 <<'PY'
import glob, socket, sys
port, corpus = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for f in sorted(glob.glob(corpus + "/*/*.sip")):
    s.sendto(open(f, "rb").read(), ("127.0.0.1", port))
s.sendto(b"\x00" * 3000, ("127.0.0.1", port))
s.sendto(b"\r\n\r\n", ("127.0.0.1", port))
print("sent")
PY
sleep 0.5
check "alive after every corpus message, garbage and a keepalive" "kill -0 $pid"
check "malformed corpus messages were counted as dropped, with a reason" \
      "grep -q 'drop from 127.0.0.1:[0-9]*: Bad' '$tmp/log'"

kill -TERM $pid
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
wait $pid; rc=$?
check "SIGTERM: clean exit 0 (rc $rc)" "[ $rc = 0 ] && grep -q 'stopped:' '$tmp/log'"
check "nothing from a stranger was relayed off this machine" \
      "grep -qE 'stopped: .*forwarded 0,' '$tmp/log'"
[ $fail = 0 ] || { echo "--- sipring log"; tail -20 "$tmp/log"; echo "--- sipp"; tail -20 "$tmp/sipp.out"; }
exit $fail
