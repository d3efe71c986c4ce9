#!/usr/bin/env bash
# tests/test_field.sh: the field test bed of issue 12. Real user agents, not SIPp: baresip
# phones on a LAN behind an nftables-masquerade NAT box, sipring on the edge with IP forwarding
# off, and Kamailio as the provider (registrar and proxy, digest authentication on REGISTER and
# INVITE, record_route on every dialog) with dnsmasq answering NAPTR, SRV and A (TTL 60 s) for
# provider.test; a remote baresip phone registered at the provider. Each phone sends its own
# tone (alice 440 Hz, bob 1000 Hz); RTP is counted where it arrives (nftables counters in the
# phone's namespace) and the ladder is read from the provider's log and a capture on the LAN.
#
#   alice 192.168.77.2 --- nat (masquerade) --- 10.77.0.1 sipring 203.0.113.1 --- provider 203.0.113.2
#   linphonec 192.168.77.3                                                       bob 203.0.113.3
#
# usage: test_field.sh SIPRING_BIN KAMAILIO_CFG_IN FIELD_UA_PY
# FIELD_CALL_SECONDS (default 41: past 64*T1 = 32 s, when a lost ACK ends a call) sets the
# length of each call.
bin=$(realpath "$1") kcfg=$(realpath "$2") drv=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/netns.sh"
secs=${FIELD_CALL_SECONDS:-41}
id=$$
PH=sfph$id NAT=sfnat$id ED=sfed$id PV=sfpv$id PH2=sfpl$id
nslist="$PH $NAT $ED $PV $PH2"
field_cleanup() {
    for ns in $nslist; do ip netns pids $ns 2>/dev/null | xargs -r kill -9; done
    for ns in $nslist; do ip netns del $ns 2>/dev/null; done
    cleanup
}
trap field_cleanup EXIT
count_rule() { # ns: counts UDP arriving from the relay's ports
    nsx "$1" nft -f - <<NFT
table inet srcount {
    counter rtp {
    }
    chain in {
        type filter hook input priority 0;
        udp sport 30000-30999 counter name rtp
    }
}
NFT
}
wait_log() { for _ in $(seq "${3:-100}"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# stop NAME PID: SIGTERM, then the exit status and sanitizer reports are checked
stop() {
    kill -TERM "$2" 2>/dev/null
    local rc=0
    wait "$2" || rc=$?
    check "$1 exits 0 on SIGTERM (rc $rc)" "[ $rc = 0 ]"
}

for ns in $nslist; do ip netns add $ns; nsx $ns ip link set lo up; done
link $PH ph0 192.168.77.2/24 $NAT nt0 192.168.77.1/24
nsx $PH ip addr add 192.168.77.3/24 dev ph0
nsx $PH ip addr add 192.168.77.5/24 dev ph0
link $NAT nt1 10.77.0.2/24 $ED ed0 10.77.0.1/24
link $ED ed1 203.0.113.1/24 $PV pv0 203.0.113.2/24
nsx $PV ip addr add 203.0.113.3/24 dev pv0
nsx $PV ip addr add 203.0.113.4/24 dev pv0
nsx $PH ip route add default via 192.168.77.1
nsx $NAT ip route add default via 10.77.0.1
nsx $NAT sysctl -qw net.ipv4.ip_forward=1
# a NAT box that forgets an idle TCP mapping after 20 s (home routers: minutes to hours)
nsx $NAT sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=20
nsx $ED sysctl -qw net.ipv4.ip_forward=0
masquerade $NAT nt1
count_rule $PH; count_rule $PV

# the provider: DNS, then Kamailio
ip netns exec $PV dnsmasq --keep-in-foreground --listen-address=203.0.113.2 --bind-interfaces \
    --no-resolv --no-hosts --local-ttl=60 --log-queries --log-facility="$tmp/dnsmasq.log" \
    --naptr-record=provider.test,10,50,s,SIP+D2U,,_sip._udp.provider.test \
    --srv-host=_sip._udp.provider.test,sip.provider.test,5060,10,50 \
    --naptr-record=provider.test,20,50,s,SIPS+D2T,,_sips._tcp.provider.test \
    --srv-host=_sips._tcp.provider.test,sip.provider.test,5061,10,50 \
    --host-record=sip.provider.test,203.0.113.2 --pid-file="$tmp/dnsmasq.pid" &
pids+=($!); dns=$!
mpath=/usr/lib/x86_64-linux-gnu/kamailio/modules/
bash "$(dirname "$kcfg")/tls_certs.sh" "$tmp"
kamailio_tls_cfg "$tmp" > ktls.cfg
sed -e "s|@ADDR@|203.0.113.2|g; s|@MPATH@|$mpath|; s|@TLSCFG@|$tmp/ktls.cfg|" "$kcfg" > kamailio.cfg
ip netns exec $PV kamailio -DD -E -m 64 -M 16 -f kamailio.cfg > kamailio.log 2>&1 &
pids+=($!); kam=$!
check "Kamailio listens as the provider" "wait_log kamailio.log 'INFO: <core> \\[core/tcp_main.c' 100 || nsx $PV ss -uln | grep -q '203.0.113.2:5060'"

"$bin" --version > /dev/null
start_edge() { # LOG [OPTION...]: sipring on the edge
    local log=$1; shift
    ip netns exec $ED "$bin" --state-dir "$tmp/st88" --listen udp:0.0.0.0:5060 --listen tcp:0.0.0.0:5060 \
        --advertise 10.77.0.1:5060 --public-address 203.0.113.1 --inside 10.77.0.0/24 \
        --inside 192.168.0.0/16 --dns-server 203.0.113.2 --rtp-ports 30000-30999 \
        --media-timeout 20 --nat-keepalive 5 --threads 2 --log-level "${FIELD_LOG_LEVEL:-info}" "$@" > "$log" 2>&1 &
    sr=$!; pids+=($sr)
}
start_edge sipring.log --upstream sip:provider.test
check "sipring starts on the edge" "wait_log sipring.log advertising"
nsx $ED "$bin" --listen udp:0.0.0.0:5060 --threads 1 > second.log 2>&1; rc=$?
check "a second sipring on the same address refuses to start (rc $rc: $(grep -o 'listen .*' second.log))" \
      "[ $rc = 1 ] && grep -q 'udp:0.0.0.0:5060: address already in use' second.log"

ip netns exec $PH tcpdump -i ph0 -l -n -A -s 0 port 5060 > lan_sip.txt 2> /dev/null &
pids+=($!); lancap=$!
ip netns exec $ED tcpdump -i ed1 -l -n -A -s 0 udp port 5060 > edge_sip.txt 2> /dev/null &
pids+=($!); edgecap=$!
sleep 0.5
# linphonec on the LAN, first of all phones, so sipring's DNS cache is cold: its REGISTER has
# no Content-Length (allowed over UDP, RFC 3261 §18.3) and waits for DNS in sipring. linphonec
# opens no SIP socket without ~/.local/share/linphone and runs its core only from readline's
# idle hook, so it gets a terminal from script(1).
mkdir -p "$tmp/carol/home/.local/share/linphone"
cat > "$tmp/carol/linphonerc" <<CFG
[sip]
sip_port=5062
sip_tcp_port=0
default_proxy=0
[proxy_0]
reg_proxy=<sip:10.77.0.1>
reg_route=<sip:10.77.0.1;lr>
reg_identity="carol" <sip:carol@provider.test>
reg_expires=60
reg_sendregister=1
[auth_info_0]
username=carol
passwd=pw-carol
realm=provider.test
domain=provider.test
[rtp]
audio_rtp_port=7078
CFG
t_lp=$(date +%s.%N)
HOME="$tmp/carol/home" ip netns exec $PH script -qfc "linphonec -c $tmp/carol/linphonerc" \
    "$tmp/carol/typescript" < /dev/null > /dev/null 2>&1 &
pids+=($!); carol_pid=$!
check "linphonec (bodiless UDP REGISTER) registers through sipring on its first try, cold DNS cache" \
      "wait_log kamailio.log 'REGISTER authenticated for carol' 50"
t_reg=$(grep -m1 'REGISTER authenticated for carol' kamailio.log > /dev/null && date +%s.%N)
echo "# linphonec registered within $(echo "$t_reg - $t_lp" | bc 2>/dev/null || echo '?') s of its start"
first_carol=$(grep -n -m1 'REGISTER authenticated for carol' kamailio.log | cut -d: -f1)
check "carol's first REGISTER was challenged once and then authenticated: none lost on the way" \
      "[ \$(head -n $first_carol kamailio.log | grep -c 'REGISTER from .* challenged') = 1 ]"
python3 "$drv" bodiless lan_sip.txt Linphonec > bodiless.out 2>&1; cat bodiless.out
grep -q '^ok' bodiless.out || fail=1

# baresip phones: PHONE NS ADDR NAME TONE ACCOUNT
phone() {
    local ns=$1 addr=$2 name=$3 tone=$4 acct=$5
    mkdir -p "$tmp/$name"
    cat > "$tmp/$name/config" <<CFG
poll_method		epoll
sip_listen		$addr:5060
audio_player		aubridge,nil
audio_source		ausine,$tone
ausrc_srate		48000
ausrc_channels		2
auplay_srate		48000
audio_alert		aubridge,nil
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module			sndfile.so
module			srtp.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		$addr:4444
snd_path		$tmp/$name
rtp_ports		10000-10100
audio_codecs		PCMU
CFG
    echo "$acct" > "$tmp/$name/accounts"
    ip netns exec "$ns" baresip -f "$tmp/$name" < /dev/null > "$tmp/$name.log" 2>&1 &
    pids+=($!)
    eval "${name}_pid=$!"
}
phone $PV 203.0.113.3 bob 1000 \
    '<sip:bob@provider.test>;auth_pass=pw-bob;outbound="sip:203.0.113.2;lr";regint=60'
phone $PV 203.0.113.4 dave 1000 \
    '<sip:dave@provider.test>;auth_pass=pw-dave;outbound="sip:203.0.113.2;lr";regint=60;mediaenc=srtp-mand'
phone $PH 192.168.77.2 alice 440 \
    '<sip:alice@provider.test>;auth_pass=pw-alice;outbound="sip:10.77.0.1;lr";regint=30'

phone $PH 192.168.77.5 tom 440 \
    '<sip:tom@provider.test>;auth_pass=pw-tom;outbound="sip:10.77.0.1;transport=tcp;lr";regint=600'
check "bob registers at the provider" "wait_log kamailio.log 'REGISTER authenticated for bob' 100"
check "dave (SRTP only) registers at the provider" "wait_log kamailio.log 'REGISTER authenticated for dave' 100"
check "tom (on the LAN, over TCP) registers at the provider through sipring" \
      "wait_log kamailio.log 'REGISTER authenticated for tom' 100"
t_tom=$(date +%s)
check "alice (on the LAN) registers at the provider through sipring" \
      "wait_log kamailio.log 'REGISTER authenticated for alice' 150"
contact=$(grep 'REGISTER authenticated for alice' kamailio.log | head -1 | sed 's/.* contact \(.*\) (CSeq.*/\1/')
check "the provider's location holds a Contact reachable from the outside ($contact)" \
      "echo '$contact' | grep -q '<sip:sr[0-9a-f]*@203.0.113.1:5060>'"
check "sipring located provider.test by NAPTR, SRV and A" \
      "grep -q 'query\\[NAPTR\\] provider.test' dnsmasq.log && grep -q 'query\\[SRV\\] _sip._udp.provider.test' dnsmasq.log && grep -q 'query\\[A\\] sip.provider.test' dnsmasq.log"

field() { # the scenario driver; its check lines count here
    python3 "$drv" "$@" > drv.out 2>&1; local rc=$?
    cat drv.out
    grep -q '^FAIL' drv.out && fail=1
    [ $rc = 0 ] || fail=1
}
A="$PH:192.168.77.2:4444:alice" B="$PV:203.0.113.3:4444:bob"

echo "# 1. LAN -> remote, $secs s, DTMF, hold and resume from each side, hung up by the LAN phone"
mark=$(wc -l < kamailio.log)
field call "$A" "$B" sip:bob@provider.test --seconds "$secs" --hangup caller --dtmf --hold --relay-ns $ED
tail -n +"$mark" kamailio.log > call1.log
check "call 1: the ACK and the BYE reached the provider along its Route, for bob's own Contact" \
      "grep -q 'in-dialog ACK sip:bob-[^ ]*@203.0.113.3:5060 from 203.0.113.1' call1.log && grep -q 'in-dialog BYE sip:bob-[^ ]*@203.0.113.3:5060 from 203.0.113.1' call1.log"
check "call 1: nothing reached the provider without its Route, and sipring never sent its own token there" \
      "! grep -q 'without our Route' call1.log && ! grep -q 'in-dialog [A-Z]* sip:sr[^ ]* from 203.0.113.1' call1.log"
check "call 1: re-INVITEs for hold and resume reached the provider and were answered" \
      "[ \$(grep -c 'in-dialog INVITE' call1.log) -ge 4 ]"
check "call 1: the BYE's 200 came back to the LAN phone" \
      "grep -B2 -A12 'SIP/2.0 200 OK' lan_sip.txt | grep -q 'CSeq: [0-9]* BYE'"
refreshes=$(grep -c 'REGISTER authenticated for alice' kamailio.log)
check "alice's registration was refreshed meanwhile ($refreshes REGISTERs)" "[ $refreshes -ge 2 ]"

echo "# 2. remote -> LAN after the refresh, $secs s, hung up by the remote phone"
mark=$(wc -l < kamailio.log)
field call "$B" "$A" sip:alice@provider.test --seconds "$secs" --hangup caller --relay-ns $ED
tail -n +"$mark" kamailio.log > call2.log
check "call 2: the provider sent the INVITE to sipring's Contact for alice" \
      "grep -q 'INVITE for alice goes to sip:sr[0-9a-f]*@203.0.113.1:5060' call2.log"

tones() { # NAME HZ: the tone in the audio the phone NAME decoded last, from its sndfile dump
    local wav
    wav=$(ls -t "$tmp/$1"/dump-*-dec.wav 2>/dev/null | head -1)
    python3 "$drv" tone "$wav" "$2" > tone.out 2>&1
    cat tone.out
    grep -q '^FAIL' tone.out && fail=1
}
tones alice 1000
tones bob 440

echo "# 3. LAN -> remote, $secs s, hung up by the remote phone"
field call "$A" "$B" sip:bob@provider.test --seconds "$secs" --hangup callee --relay-ns $ED

echo "# 4. remote -> LAN, $secs s, hung up by the LAN phone"
field call "$B" "$A" sip:alice@provider.test --seconds "$secs" --hangup callee --relay-ns $ED

echo "# TCP phone: idle for $(( $(date +%s) - t_tom )) s since its only REGISTER, past the NAT's 20 s TCP timeout"
ka=$(grep -c 'OPTIONS sip:tom-[^ ]*transport=tcp' lan_sip.txt)
check "sipring's keepalives reached tom over its TCP connection ($ka OPTIONS)" "[ $ka -ge 3 ]"
field call "$B" "$PH:192.168.77.5:4444:tom" sip:tom@provider.test --seconds 6 --hangup caller \
    --relay-ns $ED
stop "sipring" "$sr"
check "sipring's log holds no sanitizer report" "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' sipring.log"

echo "# 5. LAN -> an SRTP-only remote phone, TLS towards the provider, --srtp-outside required"
start_edge sipring_tls.log --upstream sips:provider.test --tls-ca rootca.pem \
    --srtp-outside required
check "sipring starts again, with a TLS upstream and SRTP required outside" \
      "wait_log sipring_tls.log advertising"
mark=$(wc -l < kamailio.log)
field call "$A" "$PV:203.0.113.4:4444:dave" sip:dave@provider.test --seconds "$secs" \
    --hangup caller --relay-ns $ED
tail -n +"$mark" kamailio.log > call5.log
check "call 5: the provider got the INVITE over TLS, sipring having found it by NAPTR/SRV (_sips._tcp)" \
      "grep -q 'INVITE from alice authenticated for dave .* over tls' call5.log && grep -q 'query\\[SRV\\] _sips._tcp.provider.test' dnsmasq.log"
tones dave 440
tones alice 1000
stop "sipring (TLS, SRTP)" "$sr"
check "sipring relayed the call as SRTP on the outside (its stop summary)" \
      "grep -qE 'SRTP streams [1-9]' sipring_tls.log && grep -qE 'failed SRTP checks 0' sipring_tls.log"
check "sipring's log holds no sanitizer report" "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' sipring_tls.log"
echo "# 6. layout 2: sipring on the LAN's gateway itself (no NAT box, forwarding off)"
nsx $ED ip link set ed0 down
nsx $NAT nft delete table ip srnat
nsx $NAT sysctl -qw net.ipv4.ip_forward=0
ip link add gw1 netns $NAT type veth peer name pv1 netns $PV
nsx $NAT ip addr add 198.18.0.1/24 dev gw1; nsx $NAT ip link set gw1 up
nsx $PV ip addr add 198.18.0.2/24 dev pv1; nsx $PV ip link set pv1 up
nsx $NAT ip route replace default via 198.18.0.2
# the provider's host answers from the address its SDP names, as a single-homed one would
nsx $PV ip route replace 198.18.0.0/24 dev pv1 src 203.0.113.2
# a LAN of the gateway's own, with one phone (its SDP, SIP and RTP on one address)
link $PH2 pl0 192.168.78.2/24 $NAT nt2 192.168.78.1/24
nsx $PH2 ip route add default via 192.168.78.1
count_rule $PH2
ip netns exec $NAT "$bin" --state-dir "$tmp/st282" --listen udp:0.0.0.0:5060 --advertise 192.168.78.1:5060 \
    --public-address 198.18.0.1 --inside 192.168.0.0/16 --upstream sip:provider.test \
    --dns-server 203.0.113.2 --rtp-ports 30000-30999 --nat-keepalive 5 --threads 2 \
    > sipring_gw.log 2>&1 &
gw=$!; pids+=($gw)
check "layout 2: sipring starts on the gateway" "wait_log sipring_gw.log advertising"
phone $PH2 192.168.78.2 erin 440 \
    '<sip:erin@provider.test>;auth_pass=pw-erin;outbound="sip:192.168.78.1;lr";regint=600'
check "layout 2: erin registers at the provider through sipring, which stands in for her Contact" \
      "wait_log kamailio.log 'REGISTER authenticated for erin .* contact <sip:sr[0-9a-f]*@198.18.0.1:5060>' 100"
E="$PH2:192.168.78.2:4444:erin"
field call "$E" "$B" sip:bob@provider.test --seconds "$secs" --hangup callee --relay-ns $NAT
tones bob 440
tones erin 1000
field call "$B" "$E" sip:erin@provider.test --seconds "$secs" --hangup callee --relay-ns $NAT
stop "sipring on the gateway" "$gw"
check "sipring's log holds no sanitizer report" "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' sipring_gw.log"
stop "baresip erin" "$erin_pid"

stop "baresip alice" "$alice_pid"
stop "baresip bob" "$bob_pid"
stop "baresip dave" "$dave_pid"
stop "baresip tom" "$tom_pid"
kill "$carol_pid" "$lancap" "$edgecap" "$kam" "$dns" 2>/dev/null
[ $fail = 0 ] || { echo "--- sipring.log"; tail -40 sipring.log; echo "--- kamailio.log"; grep provider: kamailio.log | tail -40; }
exit $fail
