#!/usr/bin/env bash
# bench/run_tls_bench.sh: SIP over TLS, sipring vs Kamailio (its tls module), in one run.
#
# Calls: SIPp uac (UDP) -> proxy under test -> TLS -> Kamailio "terminator" -> UDP -> SIPp uas.
# The proxy under test is sipring (--upstream sip:...;transport=tls) or a Kamailio configured
# to do the same (bench/kamailio_tls_client.cfg.in); the terminator is the same Kamailio for
# both. Both verify the terminator's certificate against the same CA. Row: the highest rate
# with 0 failed calls and the proxy's CPU (utime+stime, /proc) per call there, and at the
# highest rate both carry.
# Handshakes: openssl s_time opens new TLS connections (full handshakes, TLS 1.3, P-256
# certificates on both) to sipring's TLS port and to Kamailio's for SECONDS; connections/s
# and the server's CPU per handshake.
# Usage: bench/run_tls_bench.sh [SECONDS per step] [rates...]   (on demand, not in CI)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
threads=${THREADS:-1}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(100 200 500 1000 2000)
cd "$top"
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >&2
ninja -C build src/sipring >&2
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # sipring's store (--state-dir): this run's own
trap 'pkill -P $$; rm -rf "$tmp"' EXIT
tck=$(getconf CLK_TCK)
mpath=/usr/lib/x86_64-linux-gnu/kamailio/modules/
bash tests/tls_certs.sh "$tmp"
cpu_ticks() { # utime+stime of a process, its threads and its children
    local t=0
    for pid in $(pgrep -P "$1") "$1"; do
        [ -r "/proc/$pid/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$t"
}
tls_cfg() { # file cert key ca
    printf '[server:default]\nmethod = TLSv1.2+\ncertificate = %s\nprivate_key = %s\nverify_certificate = no\nrequire_certificate = no\n[client:default]\nmethod = TLSv1.2+\nca_list = %s\nverify_certificate = yes\nrequire_certificate = yes\n' "$2" "$3" "$4" > "$1"
}
# the terminator: TLS on 27061, relays to the uas over UDP
TU=27060 TT=27061 UAS=27070 UAC=27080
tls_cfg "$tmp/term-tls.cfg" "$tmp/provider.pem" "$tmp/provider.key" "$tmp/rootca.pem"
sed -e "s|@UDP@|$TU|; s|@TLS@|$TT|; s|@TLSCFG@|$tmp/term-tls.cfg|; s|@MPATH@|$mpath|; s|^debug=2|debug=0|" \
    tests/kamailio_tls.cfg.in > "$tmp/term.cfg"
kamailio -DD -E -m 256 -M 32 -x tlsf -X tlsf -f "$tmp/term.cfg" > "$tmp/term.log" 2>&1 &
sleep 1

run_proxy() { # name udp-port start-command...
    local name=$1 port=$2
    shift 2
    "$@" > "$tmp/$name.log" 2>&1 &
    local pid=$!
    sleep 1
    local best=0 best_ms=0
    for r in "${rates[@]}"; do
        sipp -sn uas -i 127.0.0.1 -p $UAS -bg > /dev/null 2>&1
        sleep 0.3
        local calls=$((r * secs)) c0 c1
        c0=$(cpu_ticks $pid)
        timeout $((secs * 4 + 30)) sipp -sn uac "127.0.0.1:$UAS" -rsa "127.0.0.1:$port" \
            -i 127.0.0.1 -p $UAC -m $calls -r $r -l $((r * 4)) -timeout $((secs * 3 + 10))s \
            > "$tmp/$name-$r.out" 2>&1
        c1=$(cpu_ticks $pid)
        pkill -f "sipp -sn uas -i 127.0.0.1 -p $UAS"; sleep 0.5
        local ok failed ms
        ok=$(grep 'Successful call' "$tmp/$name-$r.out" | awk -F'|' '{print $3}' | tr -d ' ')
        failed=$(grep 'Failed call' "$tmp/$name-$r.out" | awk -F'|' '{print $3}' | tr -d ' ')
        ms=$(awk -v t=$((c1 - c0)) -v hz="$tck" -v n="${ok:-0}" 'BEGIN { if (n > 0) printf "%.3f", t / hz * 1000 / n; else print "n/a" }')
        printf '  %-9s %5d calls/s: %6s ok, %5s failed, %s ms CPU per call\n' "$name" "$r" "${ok:-0}" "${failed:-?}" "$ms" >&2
        if [ "${failed:-1}" = 0 ] && [ "${ok:-0}" = "$calls" ]; then
            best=$r
            best_ms=$ms
            echo "$r $ms" >> "$tmp/$name.clean"
        else
            break
        fi
    done
    # handshakes on its TLS port (UDP port + 1)
    local h0 h1 out conns
    h0=$(cpu_ticks $pid)
    out=$(timeout $((secs + 20)) openssl s_time -connect "127.0.0.1:$((port + 1))" -new -time "$secs" 2>&1)
    h1=$(cpu_ticks $pid)
    conns=$(echo "$out" | awk '/connections in [0-9.]+s/ {print $1; exit}')
    awk -v n="${conns:-0}" -v s="$secs" -v t=$((h1 - h0)) -v hz="$tck" -v name="$name" 'BEGIN {
        if (n > 0) printf "  %-9s handshakes: %d in %ds (%.0f/s), %.3f ms server CPU each\n", name, n, s, n / s, t / hz * 1000 / n > "/dev/stderr";
        printf "%s %.3f\n", n / s, (n > 0 ? t / hz * 1000 / n : 0) > "'"$tmp"'/" name ".hs" }'
    kill $pid 2>/dev/null; sleep 0.5; pkill -9 -P $pid 2>/dev/null; kill -9 $pid 2>/dev/null
    echo "$best $best_ms"
}

echo "calls of ${secs}s per step, rates: ${rates[*]}; $threads worker(s) / children; SIPp, the terminator and openssl on the same machine" >&2
read -r s_rate s_ms < <(run_proxy sipring 25060 build/src/sipring --listen udp:127.0.0.1:25060 \
    --listen tls:127.0.0.1:25061 --tls-cert "$tmp/sipring-chain.pem" --tls-key "$tmp/sipring.key" \
    --tls-ca "$tmp/rootca.pem" --upstream "sip:127.0.0.1:$TT;transport=tls" --log-level warn \
    --threads "$threads" --media-relay no)
tls_cfg "$tmp/kam-tls.cfg" "$tmp/sipring.pem" "$tmp/sipring.key" "$tmp/rootca.pem"
sed -e "s|@PORT@|26060|; s|@TLSPORT@|26061|; s|@CHILDREN@|$threads|; s|@TLSCFG@|$tmp/kam-tls.cfg|; s|@MPATH@|$mpath|; s|@UP@|sip:127.0.0.1:$TT;transport=tls|" \
    bench/kamailio_tls_client.cfg.in > "$tmp/kam.cfg"
read -r k_rate k_ms < <(run_proxy kamailio 26060 kamailio -DD -E -m 256 -M 32 -x tlsf -X tlsf -f "$tmp/kam.cfg")
common=$(( s_rate < k_rate ? s_rate : k_rate ))
s_cm=$(awk -v r="$common" '$1 == r {print $2}' "$tmp/sipring.clean" 2>/dev/null)
k_cm=$(awk -v r="$common" '$1 == r {print $2}' "$tmp/kamailio.clean" 2>/dev/null)
read -r s_hs s_hms < "$tmp/sipring.hs"
read -r k_hs k_hms < "$tmp/kamailio.hs"
printf '\n%-10s %14s %20s %22s %14s %18s\n' proxy "clean calls/s" "CPU ms/call (clean)" "CPU ms/call at $common/s" "handshakes/s" "CPU ms/handshake"
printf '%-10s %14s %20s %22s %14s %18s\n' sipring "$s_rate" "$s_ms" "${s_cm:-n/a}" "$s_hs" "$s_hms"
printf '%-10s %14s %20s %22s %14s %18s\n' kamailio "$k_rate" "$k_ms" "${k_cm:-n/a}" "$k_hs" "$k_hms"
awk -v c="${s_cm:-0}" -v d="${k_cm:-0}" -v e="$s_hms" -v f="$k_hms" 'BEGIN {
    if (c > 0 && d > 0) printf "CPU per TLS call, sipring/kamailio at the common rate: %.2f (target <= 0.5)\n", c / d;
    if (e > 0 && f > 0) printf "CPU per handshake, sipring/kamailio: %.2f\n", e / f }'
