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
base=$((31000 + (RANDOM % 200) * 20))
P=$((base + 19)) RMIN=$((base + 200)) RMAX=$((base + 299))
"$bin" --listen "udp:127.0.0.1:$P" --inside 127.0.0.1/32 --public-address 127.0.0.4 --threads 2 --rtp-ports "$RMIN-$RMAX" --media-timeout 5 \
    --log-level info > "$tmp/log" 2>&1 &
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
for _ in $(seq 100); do [ "$(relay_ports)" = 0 ] && break; sleep 0.1; done
check "after --media-timeout 5 s of silence the ports are released" "[ $(relay_ports) = 0 ]"
check "the timeout is logged" "grep -q 'silent for' '$tmp/log'"

# IPv6: the same call over ::1 through a second sipring listening there.
P6=$((base + 18))
"$bin" --listen "udp:[::1]:$P6" --threads 1 --rtp-ports "$((RMAX + 1))-$((RMAX + 40))" \
    --log-level info > "$tmp/log6" 2>&1 &
pid6=$!
for _ in $(seq 50); do grep -q advertising "$tmp/log6" && break; sleep 0.1; done
timeout 30 python3 "$here/media_call.py" "$P6" "$((base + 120))" v6 > "$tmp/v6.out" 2>&1; rc=$?
cat "$tmp/v6.out"
check "IPv6: SDP rewritten to [::1] relay ports, RTP and RTCP relayed both ways (rc $rc)" "[ $rc = 0 ]"
kill -TERM $pid6; wait $pid6; rc=$?
check "the IPv6 instance exits 0 on SIGTERM (rc $rc)" "[ $rc = 0 ]"

kill -TERM $pid; wait $pid; rc=$?
check "clean exit 0 (rc $rc)" "[ $rc = 0 ]"
check "no sanitizer report in either log" \
      "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' '$tmp/log' '$tmp/log6'"
check "strangers' packets were counted as dropped" "grep -qE 'media: .*strangers [1-9]' '$tmp/log'"
[ $fail = 0 ] || tail -20 "$tmp/log"
exit $fail
