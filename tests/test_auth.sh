#!/usr/bin/env bash
# tests/test_auth.sh: digest authentication (RFC 3261 §22, RFC 8760) with real peers on
# loopback: SIPp registers (MD5) and calls from the inside (407, MD5) through sipring, in realms
# whose users have MD5 HA1s only (so only MD5 is offered: SIPp takes the first challenge); a
# small client checks the SHA-256 path in a realm with both (SHA-256 offered first), nc replay
# and a wrong password.
set -u
bin=$(realpath "$1") scen=$(realpath "$2") client=$(realpath "$3")
lib=$(realpath "$(dirname "$0")/lib.sh")
. "$lib"
base=$((21500 + (RANDOM % 300) * 10))
P=$base UAS=$((base + 1)) UAC=$((base + 2))
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
{
    echo "# user:realm:HA1"
    echo "alice:127.0.0.1:$(md5 alice:127.0.0.1:wonderland)"
    echo "carol:sha.test:$(sha carol:sha.test:s3cret)"
    echo "carol:sha.test:$(md5 carol:sha.test:s3cret)"
    echo "bob:example.test:$(md5 bob:example.test:builder)"
} > users

"$bin" --listen "udp:127.0.0.1:$P" --threads 2 --media-relay no --users users \
    --domain example.test --domain sha.test --max-auth-failures 3 --ban-time 2 > proxy.log 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 50); do grep -q advertising proxy.log && break; sleep 0.1; done
check "sipring loads the users file" "grep -q 'authentication: 3 users' proxy.log"

timeout 20 sipp -sf "$scen/register_auth.xml" "127.0.0.1:$P" -s alice -au alice -ap wonderland \
    -i 127.0.0.1 -p "$UAC" -m 1 -timeout 10s -timeout_error > reg.out 2>&1; rc=$?
check "SIPp REGISTER: 401, then 200 with MD5 credentials (rc $rc)" "[ $rc = 0 ]"
timeout 20 sipp -sf "$scen/register_auth.xml" "127.0.0.1:$P" -s alice -au alice -ap wrong \
    -i 127.0.0.1 -p "$UAC" -m 1 -timeout 5s > regbad.out 2>&1; rc=$?
check "  a wrong password does not register (rc $rc)" "[ $rc != 0 ]"

timeout 30 sipp -sn uas -i 127.0.0.1 -p "$UAS" -m 20 > uas.out 2>&1 &
uas=$!
pids+=($uas)
sleep 0.3
timeout 40 sipp -sf "$scen/uac_auth.xml" "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -au bob -ap builder \
    -i 127.0.0.1 -p "$UAC" -m 20 -r 10 -timeout 30s -timeout_error > uac.out 2>&1; rc=$?
check "20 calls from the inside: 407, then through with credentials (rc $rc, ok $(sipp_calls uac.out))" \
      "[ $rc = 0 ] && [ \"\$(sipp_calls uac.out)\" = 20 ]"
wait "$uas" 2>/dev/null

python3 "$client" "$P" carol s3cret sha.test > client.out 2>&1
sed 's/^/# /' client.out
check "the challenge offers SHA-256 first, then MD5 (RFC 8760)" "grep -qx 'challenge 401 SHA-256,MD5' client.out"
check "SHA-256 credentials register" "grep -qx 'sha256 200' client.out"
check "the same nonce count again is refused" "grep -qx 'replay 401' client.out"
check "the next nonce count passes" "grep -qx 'nc2 200' client.out"
check "a wrong password is refused" "grep -qx 'wrong 401' client.out"
# password guessing from 127.0.0.2: the third failure within a minute bans it
cat > brute.py <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 0))
s.settimeout(1.0)
for i in range(n):
    m = (f"REGISTER sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:{s.getsockname()[1]};branch=z9hG4bKbf{i}\r\n"
         f"Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=b\r\nTo: <sip:alice@127.0.0.1>\r\n"
         f"Call-ID: brute-{i}\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@127.0.0.2>\r\n"
         f'Authorization: Digest username="alice", realm="127.0.0.1", nonce="00000000000000000000000000000000000000000000000{i}", '
         f'uri="sip:127.0.0.1", response="00000000000000000000000000000000", qop=auth, nc=00000001, cnonce="x"\r\n'
         "Content-Length: 0\r\n\r\n")
    s.sendto(m.encode(), ("127.0.0.1", port))
    try:
        print(s.recv(65535).split(b" ")[1].decode())
    except socket.timeout:
        print("none")
PY
python3 brute.py "$P" 5 > brute.out
check "password guessing: --max-auth-failures 3 allows three failures, the fourth bans: 401 x4, then nothing ($(tr '\n' ' ' < brute.out))" \
      "[ \"\$(tr '\n' ' ' < brute.out)\" = '401 401 401 401 none ' ]"
check "  the ban is logged once" "[ \$(grep -c 'banned 127.0.0.2 for 2 s: more than 3 failed authentications' proxy.log) = 1 ]"
sleep 2.2
check "  and lifted after --ban-time: answered again ($(python3 brute.py "$P" 1 | tr -d '\n'))" \
      "grep -q 'ban on 127.0.0.2 lifted' proxy.log"
kill -TERM "$proxy"; wait "$proxy"; rc=$?
check "sipring exits 0" "[ $rc = 0 ]"
grep -E 'guard:' proxy.log | sed 's/^/# /'
check "failed authentications are counted" "grep -qE 'failed authentications [1-9]' proxy.log"
[ $fail = 0 ] || tail -20 proxy.log
exit $fail
