#!/usr/bin/env bash
# tests/test_proxy.sh: sipring as a stateful proxy and registrar between real SIPp peers on
# loopback (issue 3, (a)-(g)). Every SIPp run is bounded by -m and a timeout.
set -u
bin=$(realpath "$1") scen=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # registrations kept across restarts: this test's own (src/state.c)
cd "$tmp"
base=$((21000 + (RANDOM % 400) * 10))
P=$base UAS=$((base + 1)) UAC=$((base + 2)) REG=$((base + 3)) HOP=$((base + 4)) UAS2=$((base + 5))
pids=()
cleanup() {
    # `timeout` does not pass SIGKILL on: end its children (the SIPp processes) first.
    for p in "${pids[@]}"; do pkill -9 -P "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    nft delete table inet "sipring_loss_$P" 2>/dev/null
    if [ -n "${KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

start_proxy() {
    "$bin" --listen "udp:127.0.0.1:$P" --log-level "${LOG_LEVEL:-info}" --threads 2 "$@" > "$tmp/proxy.log" 2>&1 &
    proxy=$!
    pids+=($proxy)
    for _ in $(seq 50); do grep -q 'advertising' "$tmp/proxy.log" && break; sleep 0.1; done
}
stop_proxy() {
    kill -TERM "$proxy" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$proxy" 2>/dev/null || break; sleep 0.1; done
    wait "$proxy"
}
uas() { # scenario-args..., runs in the background until end_uas
    timeout 120 sipp "$@" -i 127.0.0.1 -p "$UAS" > "$tmp/uas.out" 2>&1 &
    uas_pid=$!
    pids+=($uas_pid)
    sleep 0.3
}
end_uas() { # waits for the UAS to finish its calls (SIPp's uas lingers 4 s), or stops it
    [ "${1:-}" = kill ] && kill -TERM "$uas_pid" 2>/dev/null
    wait "$uas_pid" 2>/dev/null
}
sipp_calls() { grep -E "Successful call" "$1" | awk -F'|' '{print $3}' | tr -d ' '; }
sipp_failed() { grep -E "Failed call" "$1" | awk -F'|' '{print $3}' | tr -d ' '; }

start_proxy
check "sipring starts" "kill -0 $proxy"

# (a) uac -> sipring -> uas: INVITE/100/180/200/ACK/BYE/200, 1000 calls at 200 calls/s.
uas -sn uas -m 1000
timeout 60 sipp -sn uac "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" \
    -m 1000 -r 200 -timeout 50s -timeout_error > "$tmp/a.out" 2>&1; rc=$?
check "(a) 1000 calls through sipring at 200/s, 0 failed (rc $rc, ok $(sipp_calls "$tmp/a.out"))" \
      "[ $rc = 0 ] && [ \"\$(sipp_calls '$tmp/a.out')\" = 1000 ]"
end_uas

# (b) a UA registers, a second UA calls its AOR; re-register; un-register.
uas -sn uas -m 1
timeout 20 sipp -sf "$scen/register.xml" "127.0.0.1:$P" -s alice -key contact_port "$UAS" \
    -key expires 300 -i 127.0.0.1 -p "$REG" -m 1 -timeout 10s -timeout_error > "$tmp/b1.out" 2>&1
check "(b) REGISTER alice is accepted (200)" "[ $? = 0 ]"
timeout 30 sipp -sn uac "127.0.0.1:$P" -s alice -i 127.0.0.1 -p "$UAC" -m 1 -timeout 20s \
    -timeout_error > "$tmp/b2.out" 2>&1
check "(b) a call to sip:alice@sipring reaches the registered UA and completes" "[ $? = 0 ]"
end_uas
timeout 20 sipp -sf "$scen/register.xml" "127.0.0.1:$P" -s alice -key contact_port "$UAS" \
    -key expires 300 -i 127.0.0.1 -p "$REG" -m 1 -timeout 10s -timeout_error > "$tmp/b3.out" 2>&1
check "(b) re-REGISTER is accepted" "[ $? = 0 ]"
timeout 20 sipp -sf "$scen/register.xml" "127.0.0.1:$P" -s alice -key contact_port "$UAS" \
    -key expires 0 -i 127.0.0.1 -p "$REG" -m 1 -timeout 10s -timeout_error > "$tmp/b4.out" 2>&1
check "(b) un-REGISTER (Expires: 0) is accepted" "[ $? = 0 ]"
timeout 20 sipp -sn uac "127.0.0.1:$P" -s alice -i 127.0.0.1 -p "$REG" -m 1 -timeout 10s \
    -timeout_error -trace_err -error_file "$tmp/b5.err" > "$tmp/b5.out" 2>&1
check "(b) after un-REGISTER, a call to alice fails (404)" \
      "[ $? != 0 ] && grep -q 'SIP/2.0 404 Not Found' '$tmp/b5.err'"

# (c) CANCEL before the answer reaches the callee and ends with 487.
uas -sf "$scen/uas_cancel.xml" -m 10
timeout 30 sipp -sf "$scen/uac_cancel.xml" "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 \
    -p "$UAC" -m 10 -r 10 -timeout 20s -timeout_error -trace_err -error_file "$tmp/c.err" \
    > "$tmp/c.out" 2>&1; rc=$?
check "(c) 10 CANCELs: 200 for the CANCEL, 487 for the INVITE (rc $rc)" "[ $rc = 0 ]"
end_uas
check "(c) the callee saw every CANCEL and ACK ($(sipp_calls "$tmp/uas.out") ok)" \
      "[ \"\$(sipp_calls '$tmp/uas.out')\" = 10 ]"

# (e) 5 % loss in both directions on both legs, made by nftables on loopback (numgen random).
# SIPp itself does not survive loss well: with its own -lost 5 at both ends even uac -> uas
# directly loses 2-4 calls in 200 (it drops a call's first message for good), and its built-in
# uas aborts when an INVITE is retransmitted after its 200. So the loss comes from nftables, the
# UAS is tests/sipp/uas_lossy.xml, SIPp may retransmit 10 times, and the bar is 99 %: measured
# over 5 runs of 200 calls, 2 of 5 runs complete all 200 through sipring, the others lose 1-2
# calls, to SIPp aborting a call on a late BYE or a retransmission timeout on its own side.
# Under ASan (sipring several times slower, so retransmissions meet differently) one run of the
# suite lost 3: scripts/test.sh asks 197 there (PROXY_LOSS_MIN).
nft_table=sipring_loss_$P
nft -f - <<NFT
table inet $nft_table {
    chain input {
        type filter hook input priority 0;
        udp dport { $UAS, $UAC } numgen random mod 100 < 5 drop
        udp dport $P udp sport { $UAS, $UAC } numgen random mod 100 < 5 drop
    }
}
NFT
nft_ok=$?
uas -sf "$scen/uas_lossy.xml" -m 200 -max_retrans 10
timeout 110 sipp -sn uac "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" \
    -m 200 -r 50 -max_retrans 10 -timeout 100s -trace_err -error_file "$tmp/e.err" \
    > "$tmp/e.out" 2>&1; rc=$?
nft delete table inet "$nft_table" 2>/dev/null
check "(e) loss rule installed with nftables (rc $nft_ok)" "[ $nft_ok = 0 ]"
loss_min=${PROXY_LOSS_MIN:-198}
check "(e) 200 calls with 5 % loss each way: at least $loss_min complete (ok $(sipp_calls "$tmp/e.out"))" \
      "[ \"\$(sipp_calls '$tmp/e.out')\" -ge $loss_min ]"
end_uas
stop_proxy; rc=$?
check "the first sipring exits 0 on SIGTERM (rc $rc)" "[ $rc = 0 ]"
check "  no sanitizer report in its log" "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' '$tmp/proxy.log'"
cp "$tmp/proxy.log" "$tmp/proxy_e.log"
# From here on a short T1, so that timer B (64*T1) fires within the test.
start_proxy --t1 100

# (d) the callee never answers: 408 after timer B (64*T1 = 6.4 s with --t1 100).
uas -sf "$scen/uas_silent.xml" -m 1
start_s=$(date +%s%N)
timeout 30 sipp -sf "$scen/uac_408.xml" "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 \
    -p "$UAC" -m 1 -timeout 25s -timeout_error > "$tmp/d.out" 2>&1; rc=$?
took=$(( ($(date +%s%N) - start_s) / 1000000 ))
check "(d) no answer: 408 after timer B ($took ms, rc $rc)" \
      "[ $rc = 0 ] && [ $took -ge 6000 ] && [ $took -lt 12000 ]"
end_uas kill

# (f) validation: Max-Forwards, loops, Proxy-Require, scheme, unknown user.
python3 "$here/proxy_checks.py" "$P" "$HOP" > "$tmp/f.out" 2>&1; rc=$?
cat "$tmp/f.out"
check "(f) request validation checks" "[ $rc = 0 ]"

# (g) SIGTERM during load: running calls finish, new ones are refused, exit 0.
uas -sf "$scen/uas_ring.xml" -m 2000
timeout 60 sipp -sn uac "127.0.0.1:$UAS" -rsa "127.0.0.1:$P" -i 127.0.0.1 -p "$UAC" \
    -m 2000 -r 100 -d 500 -timeout 30s > "$tmp/g.out" 2>&1 &
gpid=$!
pids+=($gpid)
sleep 3
stop_proxy; rc=$?
check "(g) SIGTERM under load: sipring exits 0 (rc $rc)" "[ $rc = 0 ]"
check "(g) calls were ringing at SIGTERM" "grep -qE 'draining [1-9][0-9]* pending' '$tmp/proxy.log'"
check "(g) it drained: every started transaction was answered" \
      "grep -q 'unanswered 0' '$tmp/proxy.log'"
check "(g) requests after SIGTERM were refused with 503" "grep -qE 'refused [1-9]' '$tmp/proxy.log'"
check "two workers: messages that reached the other one's socket were handed to the Call-ID owner" \
      "grep -qE 'handed over [1-9][0-9]*, ICMP unreachables [0-9]*, workers 2' '$tmp/proxy.log'"
check "(e) retransmissions were absorbed, not forwarded again" \
      "grep -qE 'absorbed [1-9]' '$tmp/proxy_e.log'"
kill "$gpid" 2>/dev/null
[ $fail = 0 ] || { echo "--- proxy log"; tail -20 "$tmp/proxy.log"; }
exit $fail
