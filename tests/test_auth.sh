#!/usr/bin/env bash
# tests/test_auth.sh: digest authentication (RFC 3261 §22, RFC 8760) with real peers on
# loopback: SIPp registers (MD5) and calls from the inside (407, MD5) through sipring, in realms
# whose users have MD5 HA1s only (so only MD5 is offered: SIPp takes the first challenge); a
# small client checks the SHA-256 path in a realm with both (SHA-256 offered first), nc replay
# and a wrong password.
set -u
bin=$(realpath "$1") scen=$(realpath "$2") client=$(realpath "$3")
brute=$(dirname "$client")/auth_brute.py
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
    echo "dave:sha.test:$(sha dave:sha.test:d4ve)"
} > users

"$bin" --listen "udp:127.0.0.1:$P" --threads 2 --media-relay no --users users \
    --domain example.test --domain sha.test --max-auth-failures 3 --ban-time 2 > proxy.log 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 50); do grep -q advertising proxy.log && break; sleep 0.1; done
check "sipring loads the users file" "grep -q 'authentication: 4 users' proxy.log"

timeout 20 sipp -sf "$scen/register_auth.xml" "127.0.0.1:$P" -s alice -au alice -ap wonderland \
    -i 127.0.0.1 -p "$UAC" -m 1 -timeout 10s -timeout_error > reg.out 2>&1; rc=$?
check "SIPp REGISTER: 401, then 200 with MD5 credentials (rc $rc)" "[ $rc = 0 ]"
timeout 20 sipp -sf "$scen/register_auth.xml" "127.0.0.1:$P" -s alice -au alice -ap wrong \
    -i 127.0.0.1 -p "$UAC" -m 1 -timeout 5s -trace_msg -message_file regbad_msgs.log \
    > regbad.out 2>&1; rc=$?
n401=$(grep -c '^SIP/2.0 401' regbad_msgs.log 2>/dev/null)
check "  a wrong password does not register: the credentials get 401 again (rc $rc, $n401 401s)" \
      "[ $rc != 0 ] && [ '${n401:-0}' -ge 2 ] && ! grep -q '^SIP/2.0 200' regbad_msgs.log"

timeout 30 sipp -sf "$scen/uas_rr.xml" -i 127.0.0.1 -p "$UAS" -m 20 > uas.out 2>&1 &
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
AUTH_SRC=127.0.0.3 AUTH_MODE=abuse python3 "$client" "$P" carol s3cret sha.test > abuse.out 2>&1
sed 's/^/# /' abuse.out
check "valid credentials for another user's AOR get 403" "grep -qx 'otheraor 403' abuse.out"
check "  (and the next nonce count still passes)" "grep -qx 'fresh 200' abuse.out"
check "a REGISTER replayed under new Call-IDs (other workers) never binds" \
      "grep -q '^newcallid ' abuse.out && ! grep '^newcallid ' abuse.out | grep -q 200"
# password guessing from 127.0.0.2: the third failure within a minute bans it
python3 "$brute" "$P" 5 > brute.out
check "password guessing: --max-auth-failures 3 allows three failures, the fourth bans the source (and locks the account: 403): 401 x3, 403, then nothing ($(tr '\n' ' ' < brute.out))" \
      "[ \"\$(tr '\n' ' ' < brute.out)\" = '401 401 401 403 none ' ]"
check "  the ban is logged once" "[ \$(grep -c 'banned 127.0.0.2 for 2 s: more than 3 failed authentications' proxy.log) = 1 ]"
sleep 2.2
after=$(python3 "$brute" "$P" 1 | tr -d '\n')
check "  and lifted after --ban-time: answered again ($after: the account is still locked)" \
      "[ '$after' = 403 ] && grep -q 'ban on 127.0.0.2 lifted' proxy.log"
# guessing dave's password from eight addresses, one guess each: no address reaches the ban,
# but the account is locked after the third failure (and its right password waits too)
for k in $(seq 10 17); do python3 "$brute" "$P" 1 "127.0.0.$k" dave sha.test; done > spread.out
check "guesses spread over 8 addresses: 401 x3, then the account is locked (403) ($(tr '\n' ' ' < spread.out))" \
      "[ \"\$(tr '\n' ' ' < spread.out)\" = '401 401 401 401 403 403 403 403 ' ]"
check "  the lock is logged" "grep -q 'account dave@sha.test locked for 10 s' proxy.log"
AUTH_SRC=127.0.0.20 python3 "$client" "$P" dave d4ve sha.test > dave.out 2>&1
check "  the right password meanwhile gets 403 too" "grep -qx 'sha256 403' dave.out"
# SIGHUP reads the users file again: a user added since registers, and dave's lock carries
# over into the new file's accounts (a reload must not unlock an account under attack)
echo "erin:sha.test:$(sha erin:sha.test:3rin)" >> users
kill -HUP "$proxy"
for _ in $(seq 50); do grep -q 'SIGHUP: configuration 1 applied' proxy.log && break; sleep 0.1; done
AUTH_SRC=127.0.0.22 python3 "$client" "$P" erin 3rin sha.test > erin.out 2>&1
check "after SIGHUP a user added to the users file registers ($(grep sha256 erin.out))" \
      "grep -qx 'sha256 200' erin.out"
AUTH_SRC=127.0.0.23 python3 "$client" "$P" dave d4ve sha.test > dave.out 2>&1
check "  and dave's account is still locked across the reload ($(grep sha256 dave.out))" \
      "grep -qx 'sha256 403' dave.out"
sleep 10.5
AUTH_SRC=127.0.0.21 python3 "$client" "$P" dave d4ve sha.test > dave.out 2>&1
check "  and registers once the lock is over" "grep -qx 'sha256 200' dave.out"
kill -TERM "$proxy"; wait "$proxy"; rc=$?
check "sipring exits 0" "[ $rc = 0 ]"
grep -E 'guard:' proxy.log | sed 's/^/# /'
check "failed authentications are counted" "grep -qE 'failed authentications [1-9]' proxy.log"
[ $fail = 0 ] || tail -20 proxy.log
exit $fail
