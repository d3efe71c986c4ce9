#!/usr/bin/env bash
# tests/test_edge_netns.sh: the edge across a real NAT, in network namespaces of its own
# (issue 4, part 4). Nothing here touches the host's interfaces: every address lives inside the
# namespaces, which are removed on exit, failed or not.
#
#   phone 192.168.77.2 --- nat (masquerade) 10.77.0.2 --- 10.77.0.1 edge 203.0.113.1 --- provider
#                                                          (sipring)  198.51.100.1 --- evil
#
# The edge does not forward IP (ip_forward 0): phone and provider reach each other only
# through sipring. Then the same calls with sipring on the NAT box itself (layout 2).
set -u
bin=$(realpath "$1") scen=$(realpath "$2")
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # registrations kept across restarts: this test's own (src/state.c)
id=$$
PH=srph$id NAT=srnat$id ED=sred$id PV=srpv$id EV=srev$id
RTP_LO=30000 RTP_HI=30099
# sip-tester's g711a.pcap holds 236 RTP packets: at least 95 % of them must arrive
AUDIO_MIN=224
pids=()
cleanup() {
    for p in "${pids[@]}"; do pkill -9 -P "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    for ns in $PH $NAT $ED $PV $EV; do ip netns pids $ns 2>/dev/null | xargs -r kill -9; done
    for ns in $PH $NAT $ED $PV $EV; do ip netns del $ns 2>/dev/null; done
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
. "$(cd "$(dirname "$0")" && pwd)/netns.sh"

count_rule() { # ns: counts UDP from the relay's ports, and packets carrying the stranger's mark
    nsx "$1" nft -f - <<NFT
table inet srcount {
    counter rtp {
    }
    counter evil {
    }
    chain in {
        type filter hook input priority 0;
        udp sport 30000-30099 counter name rtp
        udp dport != 9999 @th,160,32 0x45564c21 counter name evil
    }
}
NFT
}
counter() { # ns name -> packets
    nsx "$1" nft list counter inet srcount "$2" | awk '/packets/ {print $2}'
}
reset_counters() { nsx "$1" nft reset counters table inet srcount > /dev/null; }
relay_ports() { # relay sockets sipring holds in its namespace
    nsx "$1" ss -uanp | grep sipring | awk '{print $4}' | sed 's/.*://' |
        awk -v lo=$RTP_LO -v hi=$RTP_HI '$1 >= lo && $1 <= hi' | wc -l
}
reach() { # ns_from ns_to ip: whether a UDP datagram from ns_from arrives at ip in ns_to
    nsx "$2" python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$3', 9999)); s.settimeout(2)
try: s.recv(100)
except socket.timeout: sys.exit(1)
" & local l=$!
    sleep 0.3
    nsx "$1" python3 -c "
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'probe', ('$3', 9999))" 2>/dev/null
    wait $l
}
wait_log() { for _ in $(seq 50); do grep -q "$2" "$1" && return 0; sleep 0.1; done; return 1; }

for ns in $PH $NAT $ED $PV $EV; do ip netns add $ns; nsx $ns ip link set lo up; done
link $PH ph0 192.168.77.2/24 $NAT nt0 192.168.77.1/24
link $NAT nt1 10.77.0.2/24 $ED ed0 10.77.0.1/24
link $ED ed1 203.0.113.1/24 $PV pv0 203.0.113.2/24
link $ED ed2 198.51.100.1/24 $EV ev0 198.51.100.2/24
nsx $PH ip route add default via 192.168.77.1
nsx $NAT ip route add default via 10.77.0.1
nsx $PV ip route add default via 203.0.113.1
nsx $EV ip route add default via 198.51.100.1
nsx $NAT sysctl -qw net.ipv4.ip_forward=1
nsx $ED sysctl -qw net.ipv4.ip_forward=0
masquerade $NAT nt1
count_rule $PH; count_rule $PV
check "namespaces and the NAT are up" "reach $PH $ED 10.77.0.1"
check "the edge does not route: the phone cannot reach the provider directly" \
      "! reach $PH $PV 203.0.113.2"

ip netns exec $ED "$bin" --listen udp:0.0.0.0:5060 --advertise 10.77.0.1:5060 --public-address 203.0.113.1 \
    --inside 10.77.0.0/24 --inside 192.168.0.0/16 --rtp-ports $RTP_LO-$RTP_HI --media-timeout 5 \
    --threads 2 > "$tmp/edge.log" 2>&1 &
edge=$!; pids+=($edge)
check "sipring starts in the edge namespace" "wait_log '$tmp/edge.log' advertising"

# 1. The phone registers through sipring with the provider's registrar.
nsx $PV timeout 20 sipp -sf "$scen/registrar.xml" -i 203.0.113.2 -p 5060 -m 1 -trace_msg \
    -message_file "$tmp/reg_msgs.log" > /dev/null 2>&1 &
pids+=($!); regpid=$!
sleep 0.5
nsx $PH timeout 15 sipp -sf "$scen/register.xml" 203.0.113.2:5060 -rsa 10.77.0.1:5060 -s phone \
    -key contact_port 5060 -key expires 300 -i 192.168.77.2 -p 5060 -m 1 -timeout 10s \
    -timeout_error > "$tmp/reg.out" 2>&1; rc=$?
wait $regpid
check "the phone registers with the provider through sipring (rc $rc)" "[ $rc = 0 ]"
contact=$(grep -o 'Contact: <sip:sr[0-9a-f]*@203.0.113.1:5060>' "$tmp/reg_msgs.log" | head -1)
check "the registrar got sipring's public Contact, not the phone's private one ($contact)" \
      "[ -n '$contact' ] && ! grep -qE '^(Contact|m|c|To|From):.*192\.168\.77' '$tmp/reg_msgs.log'"
token=$(echo "$contact" | sed 's/.*<sip:\(sr[0-9a-f]*\)@.*/\1/')

# 2. The phone calls out; the provider answers and echoes the audio; a stranger sprays the
#    relay's ports meanwhile.
nsx $PV timeout 30 sipp -sn uas -i 203.0.113.2 -p 5060 -mi 203.0.113.2 -mp 6000 -rtp_echo -m 1 \
    -trace_msg -message_file "$tmp/out_uas_msgs.log" > /dev/null 2>&1 &
pids+=($!); uaspid=$!
sleep 0.5
nsx $EV python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
pkt = bytes([0x80, 8, 0, 1, 0, 0, 0, 1, 9, 9, 9, 9]) + b'EVL!' * 40
end = time.time() + 6
while time.time() < end:
    for port in range($RTP_LO, $RTP_HI + 1, 2):
        s.sendto(pkt, ('203.0.113.1', port))
    time.sleep(0.02)
" &
pids+=($!); evpid=$!
nsx $PH timeout 40 sipp -sf "$scen/uac_media.xml" 203.0.113.2:5060 -rsa 10.77.0.1:5060 -s echo \
    -i 192.168.77.2 -p 5060 -mi 192.168.77.2 -mp 6000 -m 1 -timeout 30s -timeout_error \
    -trace_msg -message_file "$tmp/out_uac_msgs.log" > "$tmp/out.out" 2>&1; rc=$?
wait $uaspid; rc2=$?
wait $evpid 2>/dev/null
check "outgoing call completes (rc $rc, provider $rc2)" "[ $rc = 0 ] && [ $rc2 = 0 ]"
pv_rtp=$(counter $PV rtp) ph_rtp=$(counter $PH rtp)
check "RTP from the phone reaches the provider ($pv_rtp packets)" "[ ${pv_rtp:-0} -ge $AUDIO_MIN ]"
check "the provider's echo reaches the phone through the NAT ($ph_rtp packets)" "[ ${ph_rtp:-0} -ge $AUDIO_MIN ]"
check "none of the stranger's packets reached the phone or the provider (RTP Bleed)" \
      "[ $(counter $PH evil) = 0 ] && [ $(counter $PV evil) = 0 ]"
check "the provider's SDP holds only sipring's public address" \
      "grep -q 'c=IN IP4 203.0.113.1' '$tmp/out_uas_msgs.log' && ! grep -qE '^(Contact|m|c|o)[:=].*(192\.168|10\.77)' '$tmp/out_uas_msgs.log'"
check "RFC 5658: the provider sees sipring's public Via and a double Record-Route, its side on top" \
      "grep -q '^Via: SIP/2.0/UDP 203.0.113.1:5060;' '$tmp/out_uas_msgs.log' && grep -A1 '^Record-Route: <sip:203.0.113.1:5060;lr;sr=' '$tmp/out_uas_msgs.log' | grep -q '^Record-Route: <sip:10.77.0.1:5060;lr;sr='"
check "the phone's SDP holds only sipring's inside address" \
      "grep -q 'c=IN IP4 10.77.0.1' '$tmp/out_uac_msgs.log' && ! grep -q 'IN IP4 203.0.113.2' '$tmp/out_uac_msgs.log'"
sleep 0.5
check "after BYE sipring holds no relay port ($(relay_ports $ED))" "[ $(relay_ports $ED) = 0 ]"

# 2b. A restart (SIGTERM, then a new sipring on the same --state-dir): the phone does not
#     register again, yet the provider's call below must still reach it through its NAT
#     binding, by the Contact token the new process loaded from the store (issue 15).
kill -TERM $edge; wait $edge; rc=$?
check "sipring exits 0 on SIGTERM before the restart (rc $rc)" "[ $rc = 0 ]"
ip netns exec $ED "$bin" --listen udp:0.0.0.0:5060 --advertise 10.77.0.1:5060 --public-address 203.0.113.1 \
    --inside 10.77.0.0/24 --inside 192.168.0.0/16 --rtp-ports $RTP_LO-$RTP_HI --media-timeout 5 \
    --threads 2 > "$tmp/edge2.log" 2>&1 &
edge=$!; pids+=($edge)
check "sipring starts again and loads the phone's binding from the store" \
      "wait_log '$tmp/edge2.log' advertising && grep -qE 'state: [1-9][0-9]* registrations' '$tmp/edge2.log'"

# 3. The provider calls the phone at the Contact it registered; the phone echoes.
reset_counters $PH; reset_counters $PV
nsx $PH timeout 30 sipp -sf "$scen/uas_media.xml" -i 192.168.77.2 -p 5060 -mi 192.168.77.2 -mp 6000 \
    -m 1 -trace_msg -message_file "$tmp/in_uas_msgs.log" > /dev/null 2>&1 &
pids+=($!); uaspid=$!
sleep 0.5
nsx $PV timeout 40 sipp -sf "$scen/uac_media.xml" 203.0.113.1:5060 -s "$token" -i 203.0.113.2 \
    -p 5062 -mi 203.0.113.2 -mp 6000 -m 1 -timeout 30s -timeout_error \
    -trace_msg -message_file "$tmp/in_uac_msgs.log" > "$tmp/in.out" 2>&1; rc=$?
wait $uaspid; rc2=$?
check "after the restart, the provider's call to the Contact registered before it reaches the phone and completes (rc $rc, phone $rc2)" \
      "[ $rc = 0 ] && [ $rc2 = 0 ]"
ph_rtp=$(counter $PH rtp) pv_rtp=$(counter $PV rtp)
check "audio flows both ways: at the phone $ph_rtp, at the provider $pv_rtp packets" \
      "[ ${ph_rtp:-0} -ge $AUDIO_MIN ] && [ ${pv_rtp:-0} -ge $AUDIO_MIN ]"
check "the phone's answer reached the provider with public addresses only" \
      "! grep -qE '^(Contact|m|c|o)[:=].*(192\.168\.77|10\.77\.0)' '$tmp/in_uac_msgs.log'"
sleep 0.5
check "after BYE sipring holds no relay port ($(relay_ports $ED))" "[ $(relay_ports $ED) = 0 ]"

# 4. A call that is never hung up: the relay closes after --media-timeout (5 s).
nsx $PV timeout 30 sipp -sn uas -i 203.0.113.2 -p 5060 -mi 203.0.113.2 -mp 6000 -rtp_echo -m 1 \
    > /dev/null 2>&1 &
pids+=($!); uaspid=$!
sleep 0.5
nsx $PH timeout 20 sipp -sf "$scen/uac_media_nobye.xml" 203.0.113.2:5060 -rsa 10.77.0.1:5060 \
    -s echo -i 192.168.77.2 -p 5060 -mi 192.168.77.2 -mp 6000 -m 1 -timeout 15s \
    > /dev/null 2>&1
check "a call left up holds its relay ports ($(relay_ports $ED))" "[ $(relay_ports $ED) -ge 4 ]"
for _ in $(seq 150); do [ "$(relay_ports $ED)" = 0 ] && break; sleep 0.1; done
check "after media silence the ports are released" "[ $(relay_ports $ED) = 0 ]"
kill $uaspid 2>/dev/null
kill -TERM $edge; wait $edge; rc=$?
check "sipring exits 0 on SIGTERM (rc $rc)" "[ $rc = 0 ]"
check "the stranger's packets were counted" "grep -qE 'media: .*strangers [1-9]' '$tmp/edge.log'"

# Layout 2: sipring on the NAT box itself, forwarding off: between the LAN and the outside.
nsx $ED ip link set ed0 down
nsx $NAT sysctl -qw net.ipv4.ip_forward=0
nsx $NAT nft delete table ip srnat
ip link add gw1 netns $NAT type veth peer name pv1 netns $PV
nsx $NAT ip addr add 198.18.0.1/24 dev gw1; nsx $NAT ip link set gw1 up
nsx $PV ip addr add 198.18.0.2/24 dev pv1; nsx $PV ip link set pv1 up
reset_counters $PH; reset_counters $PV
ip netns exec $NAT "$bin" --listen udp:0.0.0.0:5060 --advertise 192.168.77.1:5060 --public-address 198.18.0.1 \
    --inside 192.168.77.0/24 --rtp-ports $RTP_LO-$RTP_HI --threads 1 --state-dir "$tmp/state-gw" \
    > "$tmp/gw.log" 2>&1 &
gw=$!; pids+=($gw)
check "layout 2: sipring starts on the NAT box" "wait_log '$tmp/gw.log' advertising"
check "layout 2: the phone cannot reach the provider directly" "! reach $PH $PV 198.18.0.2"
nsx $PV timeout 30 sipp -sn uas -i 198.18.0.2 -p 5060 -mi 198.18.0.2 -mp 6000 -rtp_echo -m 1 \
    -trace_msg -message_file "$tmp/gw_uas_msgs.log" > /dev/null 2>&1 &
pids+=($!); uaspid=$!
sleep 0.5
nsx $PH timeout 40 sipp -sf "$scen/uac_media.xml" 198.18.0.2:5060 -rsa 192.168.77.1:5060 -s echo \
    -i 192.168.77.2 -p 5060 -mi 192.168.77.2 -mp 6000 -m 1 -timeout 30s -timeout_error \
    > "$tmp/gw.out" 2>&1; rc=$?
wait $uaspid 2>/dev/null
ph_rtp=$(counter $PH rtp) pv_rtp=$(counter $PV rtp)
check "layout 2: the call completes (rc $rc) and audio flows both ways ($pv_rtp, $ph_rtp)" \
      "[ $rc = 0 ] && [ ${pv_rtp:-0} -ge $AUDIO_MIN ] && [ ${ph_rtp:-0} -ge $AUDIO_MIN ]"
check "layout 2: the provider sees only sipring's outside address" \
      "grep -q 'c=IN IP4 198.18.0.1' '$tmp/gw_uas_msgs.log' && ! grep -qE '^(Contact|m|c|o)[:=].*192\.168\.77' '$tmp/gw_uas_msgs.log'"
kill -TERM $gw; wait $gw; rc=$?
check "layout 2: sipring exits 0 (rc $rc)" "[ $rc = 0 ]"
[ $fail = 0 ] || { echo "--- edge log"; tail -30 "$tmp/edge.log"; echo "--- gw log"; tail -10 "$tmp/gw.log"; }
exit $fail
