#!/usr/bin/env bash
# tests/test_dns.sh: RFC 3263 server location with a real DNS server (dnsmasq on a loopback
# port, started here with NAPTR, SRV and A records for provider.test): calls to the upstream
# sip:provider.test go NAPTR -> SRV -> A; the first SRV target (priority 10) is dead, so every
# call fails over to the second (priority 20) after timer B; a domain with nothing in DNS gets
# 503 at once. Bounded by -m and timeouts.
set -u
bin=$(realpath "$1") scen=$(realpath "$2")
lib=$(realpath "$(dirname "$0")/lib.sh")
. "$lib"
base=$((23000 + (RANDOM % 300) * 10))
P=$base DNS=$((base + 1)) DEAD=$((base + 2)) UAS=$((base + 3)) UAC=$((base + 4))

dnsmasq --keep-in-foreground --port="$DNS" --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --local-ttl=300 --log-queries --log-facility="$tmp/dnsmasq.log" \
    --naptr-record=provider.test,10,50,s,SIP+D2U,,_sip._udp.provider.test \
    --srv-host=_sip._udp.provider.test,dead.provider.test,"$DEAD",10,50 \
    --srv-host=_sip._udp.provider.test,live.provider.test,"$UAS",20,50 \
    --host-record=dead.provider.test,127.0.0.1 --host-record=live.provider.test,127.0.0.1 \
    --pid-file="$tmp/dnsmasq.pid" &
pids+=($!)
for _ in $(seq 30); do ss -lun | grep -q ":$DNS " && break; sleep 0.1; done
check "dnsmasq serves provider.test on 127.0.0.1:$DNS" "ss -lun | grep -q ':$DNS '"

# the dead server: takes INVITEs and never answers; counts the calls they belong to (their
# Call-IDs: one call's retransmissions count once)
python3 -c '
import re, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1.0)
calls, end = set(), time.time() + 55
while time.time() < end:
    try:
        d = s.recv(65535)
    except socket.timeout:
        continue
    m = re.search(rb"\r\n(?:Call-ID|i):\s*(\S+)", d, re.I)
    if d.startswith(b"INVITE ") and m:
        calls.add(m.group(1))
        open(sys.argv[2], "w").write(str(len(calls)))
' "$DEAD" "$tmp/dead.count" &
pids+=($!)
# T1 100 ms: timer B (64*T1) ends the dead target's branch in 6.4 s
"$bin" --state-dir "$tmp/st45" --listen "udp:127.0.0.1:$P" --threads 2 --media-relay no --t1 100 \
    --dns-server "127.0.0.1:$DNS" --upstream sip:provider.test > proxy.log 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 50); do grep -q advertising proxy.log && break; sleep 0.1; done

timeout 60 sipp -sn uas -i 127.0.0.1 -p "$UAS" -m 3 > uas.out 2>&1 &
uas=$!
pids+=($uas)
sleep 0.3
# 3 calls, one at a time: each tries the dead server first, then the live one
timeout 50 sipp -sn uac "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" -m 3 -l 1 \
    -r 1 -timeout 45s -timeout_error > uac.out 2>&1; rc=$?
check "3 calls to sip:provider.test complete through the second SRV target (rc $rc, ok $(sipp_calls uac.out))" \
      "[ $rc = 0 ] && [ \"\$(sipp_calls uac.out)\" = 3 ]"
wait "$uas" 2>/dev/null
dead=$(cat dead.count 2>/dev/null || echo 0)
check "each call went to the dead first SRV target first ($dead of 3 calls seen there)" "[ $dead = 3 ]"
check "sipring asked NAPTR, then SRV, then A (dnsmasq's log)" \
      "grep -q 'query\\[NAPTR\\] provider.test' dnsmasq.log && grep -q 'query\\[SRV\\] _sip._udp.provider.test' dnsmasq.log && grep -q 'query\\[A\\] live.provider.test' dnsmasq.log"
n_naptr=$(grep -c 'query\[NAPTR\] provider.test' dnsmasq.log)
check "answers are cached for their TTL (300 s): NAPTR asked at most once per worker ($n_naptr)" "[ $n_naptr -le 2 ]"
stop_daemon sipring "$proxy" proxy.log

# a domain DNS knows nothing about: 503 at once
"$bin" --state-dir "$tmp/st70" --listen "udp:127.0.0.1:$P" --threads 1 --media-relay no \
    --dns-server "127.0.0.1:$DNS" --upstream sip:nowhere.test > proxy2.log 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 50); do grep -q advertising proxy2.log && break; sleep 0.1; done
sed 's/uac 408/uac 503/; s/response="408" timeout="20000"/response="503" timeout="10000"/' \
    "$scen/uac_408.xml" > uac_503_udp.xml
timeout 20 sipp -sf uac_503_udp.xml "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" \
    -m 1 -timeout 15s -timeout_error > uac2.out 2>&1; rc=$?
check "a domain without SIP servers: 503 (rc $rc)" "[ $rc = 0 ]"
check "  logged once" "[ \$(grep -c 'nowhere.test has no SIP server' proxy2.log) = 1 ]"
stop_daemon "the second sipring" "$proxy" proxy2.log
[ $fail = 0 ] || { echo "--- proxy.log"; tail -20 proxy.log; echo "--- dnsmasq.log"; tail -20 dnsmasq.log; }
exit $fail
