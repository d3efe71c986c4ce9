#!/usr/bin/env bash
# tests/test_stream.sh: SIP over TCP and TLS through sipring, with real peers on loopback
# (issue 5): SIPp over TCP in one-socket (t1) and socket-per-call (tn) mode; openssl s_client
# on sipring's TLS port; a UDP phone -> sipring -> TLS -> Kamailio (its tls module) -> UDP
# callee; TLS servers with a wrong name or an unknown CA are refused (503 at once, one log line).
# Every SIPp run is bounded by -m and a timeout.
set -u
bin=$(realpath "$1") scen=$(realpath "$2") kcfg=$(realpath "$3")
lib=$(realpath "$(dirname "$0")/lib.sh")
. "$lib"
. "$(dirname "$lib")/netns.sh"
base=$((24000 + (RANDOM % 300) * 10))
P=$base PT=$((base + 1)) UAS=$((base + 2)) UAC=$((base + 3)) KU=$((base + 4)) KT=$((base + 5))
BAD=$((base + 6)) UAS2=$((base + 7))

# --- certificates: a CA with an intermediate for sipring; Kamailio's leaf; a leaf with a
# wrong name and one from a CA nobody trusts ---
bash "$(dirname "$kcfg")/tls_certs.sh" "$tmp"
check "test certificates made" "[ -s sipring-chain.pem ] && [ -s provider.pem ] && [ -s rogue.pem ]"

start_proxy() { # log-file extra-args...
    local log=$1
    shift
    "$bin" --listen "udp:127.0.0.1:$P" --listen "tcp:127.0.0.1:$P" --listen "tls:127.0.0.1:$PT" \
        --tls-cert sipring-chain.pem --tls-key sipring.key --tls-ca rootca.pem --threads 2 \
        --media-relay no --max-connections-per-ip 4000 "$@" > "$log" 2>&1 &
    proxy=$!
    pids+=($proxy)
    for _ in $(seq 50); do grep -q "listening on tls" "$log" && break; sleep 0.1; done
}
stop_proxy() { # log-file
    kill -TERM "$proxy"; wait "$proxy"; local rc=$?
    check "sipring exits 0 on SIGTERM" "[ $rc = 0 ]"
    grep -E 'stopped:|connections:' "$1" | sed 's/^/# /'
}
start_proxy proxy.log
check "sipring starts with UDP, TCP and TLS listeners" "kill -0 $proxy && grep -q 'listening on tls:127.0.0.1:$PT' proxy.log"

# --- TCP: 1000 calls in each SIPp mode ---
for mode in t1 tn; do
    timeout 90 sipp -sn uas -t "$mode" -max_socket 2000 -i 127.0.0.1 -p "$UAS" -m 1000 > "uas_$mode.out" 2>&1 &
    uas=$!
    pids+=($uas)
    sleep 0.3
    # the Request-URI names the transport (transport=tcp), as a stream UA's Contact does; the
    # upstream is only for domains sipring does not serve, this one is an IP literal
    timeout 80 sipp -sf "$scen/uac_stream.xml" -t "$mode" -max_socket 2000 "127.0.0.1:$UAS" \
        -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" -m 1000 -r 200 -timeout 60s -timeout_error \
        > "uac_$mode.out" 2>&1; rc=$?
    check "TCP ($mode): 1000 calls through sipring, 0 failed (rc $rc, ok $(sipp_calls "uac_$mode.out"))" \
          "[ $rc = 0 ] && [ \"\$(sipp_calls uac_$mode.out)\" = 1000 ]"
    wait "$uas" 2>/dev/null
done

# --- TLS server side: what a client sees ---
timeout 10 openssl s_client -connect "127.0.0.1:$PT" -tls1_3 -CAfile rootca.pem -showcerts \
    -verify_return_error < /dev/null > sclient.out 2>&1
check "openssl s_client: TLS 1.3 on sipring's TLS port" "grep -q 'TLSv1.3' sclient.out"
check "openssl s_client: the chain verifies against the root (leaf + intermediate sent)" \
      "grep -q 'Verify return code: 0 (ok)' sclient.out && [ \$(grep -c 'BEGIN CERTIFICATE' sclient.out) = 2 ]"
timeout 10 openssl s_client -connect "127.0.0.1:$PT" -tls1_2 -CAfile rootca.pem < /dev/null > sclient12.out 2>&1
check "openssl s_client: TLS 1.2 also offered" "grep -q 'Protocol *: TLSv1.2' sclient12.out"
timeout 10 openssl s_client -connect "127.0.0.1:$PT" -tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256' \
    -CAfile rootca.pem < /dev/null > sclient_cbc.out 2>&1
check "TLS 1.2 refuses CBC and SHA-1 suites (AEAD only)" \
      "! grep -q 'Cipher is ECDHE' sclient_cbc.out && grep -q 'Cipher is (NONE)' sclient_cbc.out"
check "TLS 1.2 negotiates an AEAD suite" "grep -qE 'Cipher *: ECDHE-ECDSA-(AES(128|256)-GCM|CHACHA20)' sclient12.out"
timeout 10 openssl s_client -connect "127.0.0.1:$PT" -tls1_2 -CAfile rootca.pem -sess_out sess.pem \
    < /dev/null > sess1.out 2>&1
timeout 10 openssl s_client -connect "127.0.0.1:$PT" -tls1_2 -CAfile rootca.pem -sess_in sess.pem \
    < /dev/null > sess2.out 2>&1
check "openssl s_client: a second connection resumes the session" \
      "grep -q '^New,' sess1.out && grep -q '^Reused,' sess2.out"

# --- refusals: a TLS server whose certificate names another host, or comes from an unknown CA ---
for bad in wrongname rogue; do
    [ $bad = rogue ] && BAD=$((base + 8)) # another peer: repeated failures to one are summed up
    timeout 30 openssl s_server -accept "$BAD" -cert "$bad.pem" -key "$bad.key" -quiet \
        < /dev/null > "s_server_$bad.out" 2>&1 &
    srv=$!
    pids+=($srv)
    for _ in $(seq 30); do ss -ltn | grep -q ":$BAD " && break; sleep 0.1; done
    # the Request-URI leads over TLS to the bad server directly
    timeout 20 sipp -sf "$scen/uac_503.xml" "127.0.0.1:$BAD" \
        -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" -m 1 -timeout 15s -timeout_error > "uac_$bad.out" 2>&1; rc=$?
    [ $bad = rogue ] && why="unable to get local issuer certificate" || why="IP address mismatch"
    check "TLS server with $bad certificate refused: the caller gets 503 (rc $rc)" "[ $rc = 0 ]"
    check "  and sipring logs one line naming the peer and the reason" \
          "[ \$(grep -c 'TLS handshake to TLS 127.0.0.1:$BAD failed: .*certificate verify failed: $why' proxy.log) = 1 ]"
    kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
done
grep 'TLS handshake to' proxy.log | sed 's/^/# /'

check "a client closing TLS cleanly is not logged as a failure" "! grep -q 'close_notify' proxy.log"
stop_proxy proxy.log

# client certificates required: a client without one is refused, one with a certificate from the
# trusted CA gets in
start_proxy proxy3.log --tls-client-auth required
timeout 10 openssl s_client -connect "127.0.0.1:$PT" -CAfile rootca.pem < /dev/null > nocert.out 2>&1
timeout 10 openssl s_client -connect "127.0.0.1:$PT" -CAfile rootca.pem -cert provider.pem \
    -key provider.key < /dev/null > withcert.out 2>&1
sleep 0.3
check "--tls-client-auth required: a client without a certificate is refused" \
      "grep -q 'TLS handshake from TLS 127.0.0.1:[0-9]* failed' proxy3.log"
check "  and one with a certificate from the CA is let in" \
      "grep -q 'Verify return code: 0 (ok)' withcert.out && [ \$(grep -c 'TLS handshake from' proxy3.log) = 1 ]"
stop_proxy proxy3.log

# sipring again, now with Kamailio as its upstream over TLS
start_proxy proxy2.log --upstream "sip:127.0.0.1:$KT;transport=tls"
# --- TLS client side against Kamailio's tls module ---
mpath=/usr/lib/x86_64-linux-gnu/kamailio/modules/
kamailio_tls_cfg "$tmp" > ktls.cfg
sed -e "s|@UDP@|$KU|; s|@TLS@|$KT|; s|@TLSCFG@|$tmp/ktls.cfg|; s|@MPATH@|$mpath|" "$kcfg" > kamailio.cfg
kamailio -DD -E -m 64 -M 16 -f kamailio.cfg > kamailio.log 2>&1 &
kam=$!
pids+=($kam)
for _ in $(seq 50); do ss -ltn | grep -q ":$KT " && break; sleep 0.1; done
check "Kamailio listens for TLS" "ss -ltn | grep -q ':$KT '"
timeout 60 sipp -sn uas -i 127.0.0.1 -p "$UAS2" -m 100 > uas_tls.out 2>&1 &
uas=$!
pids+=($uas)
sleep 0.3
timeout 50 sipp -sn uac "127.0.0.1:$UAS2" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" -m 100 -r 50 \
    -timeout 40s -timeout_error > uac_tls.out 2>&1; rc=$?
check "UDP phone -> sipring -> TLS -> Kamailio -> callee: 100 calls, 0 failed (rc $rc, ok $(sipp_calls uac_tls.out))" \
      "[ $rc = 0 ] && [ \"\$(sipp_calls uac_tls.out)\" = 100 ]"
wait "$uas" 2>/dev/null
check "Kamailio saw the INVITEs arrive over TLS ($(grep -c 'got INVITE over tls' kamailio.log) logged)" \
      "[ \$(grep -c 'got INVITE over tls' kamailio.log) -ge 100 ]"
kill -TERM "$kam"; wait "$kam" 2>/dev/null

stop_proxy proxy2.log
check "sipring verified Kamailio's certificate (no failure logged)" "! grep -q ' failed: ' proxy2.log"
[ $fail = 0 ] || { echo "--- proxy.log (tail)"; tail -30 proxy.log; tail -20 proxy2.log 2>/dev/null; echo "--- kamailio.log (tail)"; tail -30 kamailio.log 2>/dev/null; }
exit $fail
