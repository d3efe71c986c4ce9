#!/usr/bin/env bash
# tests/test_reload.sh: SIGHUP re-reads the config file and applies it to the running proxy:
# served domains, registration limits, the log level, trusted networks (one removed from the
# file stops being relayed for: 403); a broken file is refused while the running configuration
# stays. Upstream and timers reload through the same copy (sip_proxy_reconfigure).
set -u
bin=$(realpath "$1")
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # registrations kept across restarts: this test's own (src/state.c)
port=$((26000 + RANDOM % 2000)) hop=$((28500 + RANDOM % 1000))
printf 'listen = udp:127.0.0.1:%s\nlog-level = info\nrate-limit = 5\n' "$port" > "$tmp/sipring.conf"
"$bin" --config "$tmp/sipring.conf" > "$tmp/log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do grep -q advertising "$tmp/log" && break; sleep 0.1; done

probe() { # branch -> prints the status sipring answered, or "relayed"
    python3 - "$port" "$hop" "$1" <<'PY'
import socket, sys
port, hop, branch = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ua = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ua.bind(("127.0.0.1", 0)); ua.settimeout(2)
nh = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); nh.bind(("127.0.0.1", hop)); nh.settimeout(2)
req = (f"MESSAGE sip:bob@127.0.0.1:{hop} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{ua.getsockname()[1]};branch={branch}\r\n"
       f"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: {branch}\r\nCSeq: 1 MESSAGE\r\n"
       "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
ua.sendto(req.encode(), ("127.0.0.1", port))
# Retransmissions of an earlier probe's MESSAGE may still arrive at the hop: only ours counts.
try:
    while f"Call-ID: {branch}\r\n".encode() not in nh.recv(65535):
        pass
    print("relayed")
except socket.timeout:
    try:
        print(ua.recv(65535).split(b" ")[1].decode())
    except socket.timeout:
        print("nothing")
PY
}
check "loopback is trusted by default: the MESSAGE is relayed" "[ \"\$(probe z9hG4bKrl1)\" = relayed ]"
register() { # domain expires -> the status line of the answer
    python3 - "$port" "$1" "$2" <<'PY'
import socket, sys
port, dom, exp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(2)
s.sendto((f"REGISTER sip:{dom} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{s.getsockname()[1]};branch=z9hG4bKreg{exp}{dom}\r\n"
          f"From: <sip:a@{dom}>;tag=1\r\nTo: <sip:a@{dom}>\r\nCall-ID: reg-{exp}-{dom}\r\nCSeq: 1 REGISTER\r\n"
          f"Contact: <sip:a@127.0.0.1:9>\r\nExpires: {exp}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(),
         ("127.0.0.1", port))
try:
    r = s.recv(65535).decode()
    print(r.split("\r\n")[0] + "".join(" " + l for l in r.split("\r\n") if l.startswith("Min-Expires")))
except socket.timeout:
    print("nothing")
PY
}
check "before the reload reload.test is not served: its REGISTER is relayed, not answered" \
      "! register reload.test 90 | grep -q '^SIP/2.0 200'"
check "  and 90 s is a long enough registration" "register 127.0.0.1:$port 90 | grep -q '^SIP/2.0 200'"
printf 'listen = udp:127.0.0.1:%s\nlog-level = debug\nrate-limit = 5\ndomain = reload.test\nmin-expires = 120\n' "$port" > "$tmp/sipring.conf"
kill -HUP $pid
for _ in $(seq 50); do grep -q 'SIGHUP: configuration [0-9]* applied' "$tmp/log" && break; sleep 0.1; done
r1=$(register reload.test 90) r2=$(register reload.test 150)
check "SIGHUP applies domains and registration limits: 90 s now gets 423 with Min-Expires 120 ($r1)" \
      "echo '$r1' | grep -q '^SIP/2.0 423 .*Min-Expires: 120'"
check "  and reload.test is served: 150 s registers ($r2)" "echo '$r2' | grep -q '^SIP/2.0 200'"
printf 'listen = udp:127.0.0.1:%s\nlog-level = debug\nrate-limit = 5\ninside = 10.255.255.255/32\n' "$port" > "$tmp/sipring.conf"
kill -HUP $pid
for _ in $(seq 50); do [ "$(grep -c 'SIGHUP: configuration [0-9]* applied' "$tmp/log")" -ge 2 ] && break; sleep 0.1; done
check "SIGHUP applies the file and says what it applied" "grep -q 'SIGHUP: configuration 2 applied: .* 1 inside networks' '$tmp/log'"
r2=$(probe z9hG4bKrl2)
check "after the reload loopback is a stranger: 403 (got $r2)" "[ \"$r2\" = 403 ]"
check "  and the log level applies: the refusal is a debug line" \
      "sed -n '/SIGHUP: configuration 2 applied/,\$p' '$tmp/log' | grep -q ' debug not relaying MESSAGE'"
printf 'listen = udp:127.0.0.1:%s\nlog-level = loud\nrate-limit = 5\n' "$port" > "$tmp/sipring.conf"
kill -HUP $pid
for _ in $(seq 50); do grep -q 'keeping the running one' "$tmp/log" && break; sleep 0.1; done
check "a broken file is refused and reported" "grep -q 'keeping the running one' '$tmp/log'"
check "the running configuration stays (still 403)" "[ \"\$(probe z9hG4bKrl3)\" = 403 ]"
check "still running" "kill -0 $pid"
b=$(python3 "$(dirname "$0")/guard_peer.py" burst 127.0.0.1 "$port" 40)
check "the guard sees the new networks too: loopback, now outside, is rate-limited (--rate-limit 5: $b of 40 answered)" \
      "[ '$b' -lt 40 ] && grep -q 'banned 127.0.0.1' '$tmp/log'"
kill -TERM $pid; wait $pid; rc=$?
check "exits 0 on SIGTERM after the reloads (rc $rc)" "[ $rc = 0 ]"
check "no sanitizer report" "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' '$tmp/log'"
[ $fail = 0 ] || tail -20 "$tmp/log"
exit $fail
