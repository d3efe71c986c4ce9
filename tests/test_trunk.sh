#!/usr/bin/env bash
# tests/test_trunk.sh: trunk mode (issue 6) against Kamailio 5.6 as the provider, which
# challenges every REGISTER (401) and every new INVITE (407) with digest, qop=auth:
#  - sipring registers itself with --upstream-user/--upstream-password-file, answering the 401,
#    and refreshes the registration before it expires;
#  - SIPp calls from the inside go to the provider; sipring answers each 407 itself (the phone
#    never sees it), with CSeq raised by one, and the ACK and BYE of the call follow the shift
#    while the phone sees its own numbers;
#  - with a wrong password the registration fails once, is logged once, and calls get the
#    provider's 407 passed through; once the password file is right and SIGHUP read it, calls
#    go through.
# usage: test_trunk.sh SIPRING_BIN SIPP_SCENARIOS KAMAILIO_CFG_IN
bin=$(realpath "$1") scen=$(realpath "$2") kcfg=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/lib.sh"
base=$((33000 + (RANDOM % 100) * 20))
P=$((base + 1)) KP=$((base + 2)) UAS=$((base + 3)) UAC=$((base + 4)) P2=$((base + 5))
mpath=/usr/lib/x86_64-linux-gnu/kamailio/modules/
sed -e "s|@UDP@|$KP|; s|@PASS@|s3cret-trunk|; s|@MPATH@|$mpath|" "$kcfg" > kamailio.cfg
kamailio -DD -E -m 64 -M 16 -f kamailio.cfg > kamailio.log 2>&1 &
pids+=($!)
printf 's3cret-trunk\n' > trunk.pass
chmod 600 trunk.pass
for _ in $(seq 50); do ss -uln | grep -q "127.0.0.8:$KP" && break; sleep 0.1; done
# calls N PORT SUFFIX: N SIPp calls from the phone through the sipring on PORT to a SIPp callee
# behind the provider (uacSUFFIX.out, uasSUFFIX.out); returns SIPp's status
calls() {
    timeout 40 sipp -sn uas -i 127.0.0.9 -p "$UAS" -m "$1" > "uas$3.out" 2>&1 &
    local uas=$! rc
    pids+=($uas)
    sleep 0.3
    timeout 40 sipp -sn uac "127.0.0.9:$UAS" -rsa "127.0.0.1:$2" -i 127.0.0.1 -p "$UAC" -m "$1" \
        -r 10 -timeout 35s -timeout_error > "uac$3.out" 2>&1; rc=$?
    wait "$uas" 2>/dev/null
    return $rc
}

# start_trunk LOG: the sipring under test, in trunk mode on its own store; sets sr; returns once
# it has registered (or after 5 s)
start_trunk() {
    "$bin" --state-dir "$tmp/st37" --listen "udp:127.0.0.1:$P" --inside 127.0.0.1/32 --upstream "sip:127.0.0.8:$KP" \
        --upstream-user trunk1 --upstream-password-file trunk.pass --upstream-domain provider.test \
        --upstream-expires 12 --media-relay no --threads 2 --log-level info > "$1" 2>&1 &
    sr=$!
    pids+=($sr)
    for _ in $(seq 50); do grep -q "trunk: registered" "$1" && break; sleep 0.1; done
}
start_trunk sipring.log
check "sipring registers with the provider, answering its 401" "grep -q 'trunk: registered with sip:127.0.0.8:$KP as trunk1' sipring.log"
check "the provider saw a challenged REGISTER, then an authenticated one for trunk1@provider.test" \
      "grep -q 'REGISTER from 127.0.0.1 challenged' kamailio.log && grep -q 'REGISTER authenticated for sip:trunk1@provider.test as trunk1' kamailio.log"

calls 20 "$P" ""; rc=$?
check "20 SIPp calls through the provider's 407, which the phone never sees (rc $rc, ok $(sipp_calls uac.out))" \
      "[ $rc = 0 ] && [ \"\$(sipp_calls uac.out)\" = 20 ]"
n=$(grep -c 'INVITE authenticated as trunk1' kamailio.log)
check "the provider authenticated 20 INVITEs as trunk1, each with CSeq 2 ($n)" \
      "[ $n = 20 ] && [ \$(grep 'INVITE authenticated' kamailio.log | grep -vc 'CSeq 2)') = 0 ]"
check "the calls' ACK and BYE reached the provider with the shifted CSeq (2 ACK, 3 BYE)" \
      "[ \$(grep -c 'in-dialog ACK .*CSeq 2\$' kamailio.log) = 20 ] && [ \$(grep -c 'in-dialog BYE .*CSeq 3\$' kamailio.log) = 20 ]"
# the registration is refreshed at 3/4 of the 12 s granted
sleep 10
r=$(grep -c 'REGISTER authenticated for sip:trunk1' kamailio.log)
check "the registration was refreshed before it expired ($r authenticated REGISTERs)" "[ $r -ge 2 ]"
check "one log line for the registration, not one per refresh" "[ \$(grep -c 'trunk: registered' sipring.log) = 1 ]"

# a wrong password: registration fails (logged once), calls get the provider's 407
printf 'wrong\n' > wrong.pass
chmod 600 wrong.pass
"$bin" --state-dir "$tmp/st64" --listen "udp:127.0.0.1:$P2" --inside 127.0.0.1/32 --upstream "sip:127.0.0.8:$KP" \
    --upstream-user trunk1 --upstream-password-file wrong.pass --upstream-domain provider.test \
    --media-relay no --threads 1 --log-level info > wrong.log 2>&1 &
pids+=($!)
wr=$!
for _ in $(seq 50); do grep -q "trunk: registration" wrong.log && break; sleep 0.1; done
check "a wrong password: the failed registration is logged once with the provider's answer" \
      "[ \$(grep -c 'trunk: registration with sip:127.0.0.8:$KP as trunk1 failed (401' wrong.log) = 1 ]"
python3 - "$P2" "$base" <<'PY'
import socket, sys
p, base = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", base + 10))
s.settimeout(5)
inv = ("INVITE sip:b@127.0.0.9:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKwr1;rport\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=w\r\nTo: <sip:b@127.0.0.9>\r\nCall-ID: wrong-%d\r\n"
       "CSeq: 7 INVITE\r\nContact: <sip:a@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n" % (base + 3, base + 10, base, base + 10))
s.sendto(inv.encode(), ("127.0.0.1", p))
while True:
    r = s.recv(65535).decode()
    if not r.startswith("SIP/2.0 100"):
        break
first = r.split("\r\n")[0]
print(first)
ok = first.startswith("SIP/2.0 407") and "CSeq: 7 INVITE" in r and "Proxy-Authenticate:" in r
sys.exit(0 if ok else 1)
PY
rc=$?
check "with a wrong password the provider's second 407 goes to the phone, with the phone's CSeq (rc $rc)" "[ $rc = 0 ]"
# the password rotated: SIGHUP reads the file again, and the next calls' 407s are answered
printf 's3cret-trunk\n' > wrong.pass
kill -HUP "$wr"
for _ in $(seq 50); do grep -q 'SIGHUP: configuration 1 applied' wrong.log && break; sleep 0.1; done
calls 3 "$P2" 2; rc=$?
check "after SIGHUP with the right password in the file, 3 calls go through the provider's 407 (rc $rc, ok $(sipp_calls uac2.out))" \
      "[ $rc = 0 ] && [ \"\$(sipp_calls uac2.out)\" = 3 ]"
# across a restart (issue 15): a phone that follows its route set calls through the provider's
# 407; sipring is restarted on the same --state-dir; the phone's BYE (CSeq 2) still reaches the
# provider shifted (3), from the shift our Record-Route carries; the registration goes on under
# the same Call-ID with a higher CSeq
timeout 60 sipp -sf "$scen/uas_rr.xml" -i 127.0.0.9 -p "$UAS" -m 1 > uas3.out 2>&1 &
uas3=$!
pids+=($uas3)
sleep 0.3
up=$(timeout 20 python3 "$here/trunk_phone.py" call "$P" "$((base + 12))" "sip:b@127.0.0.9:$UAS" dialog.json); rc=$?
check "a phone's call through the provider's 407, our Record-Route carrying the CSeq shift (rc $rc: $up)" "[ $rc = 0 ]"
stop_daemon "sipring" $sr sipring.log
check "the stop summary counts the answered challenges" "grep -qE 'trunk challenges answered [2-9][0-9]' sipring.log"
regs_before=$(grep -c 'REGISTER authenticated' kamailio.log)
start_trunk sipring2.log
sr2=$sr
bye=$(timeout 20 python3 "$here/trunk_phone.py" bye "$P" "$((base + 12))" dialog.json); rc=$?
wait $uas3 2>/dev/null
cid="trunk-restart-$((base + 12))@127.0.0.1"
check "after the restart the phone hangs up: 200 with its own CSeq 2 ($bye)" "[ $rc = 0 ]"
check "  and the provider got that BYE with the shifted CSeq 3" \
      "grep -q 'in-dialog BYE (Call-ID $cid) CSeq 3\$' kamailio.log"
reg_ids=$(grep 'REGISTER authenticated' kamailio.log | sed 's/.*Call-ID \([^ ]*\) CSeq \([0-9]*\).*/\1 \2/')
check "the restarted sipring refreshed the same registration: one Call-ID, CSeq rising ($(echo "$reg_ids" | wc -l) REGISTERs, $regs_before before)" \
      "[ \$(echo '$reg_ids' | awk '{print \$1}' | sort -u | wc -l) = 1 ] && [ $regs_before -lt \$(echo '$reg_ids' | wc -l) ] && echo '$reg_ids' | awk 'NR > 1 && \$2 <= last { exit 1 } { last = \$2 }'"
stop_daemon "the restarted sipring" $sr2 sipring2.log
stop_daemon "the sipring with the wrong password" $wr wrong.log
check "the password appears in no log" "! grep -q 's3cret-trunk' sipring.log wrong.log"
[ $fail = 0 ] || { echo "--- sipring.log"; tail -20 sipring.log; echo "--- kamailio.log"; grep -v DEBUG kamailio.log | tail -30; echo "--- uac"; tail -20 uac.out; }
exit $fail
