#!/usr/bin/env bash
# tests/test_state.sh: registrations survive restarts (issue 15, src/state.c). 1,000 SIPp UAs
# register; after a SIGTERM restart and after a kill -9 (the changes of the last half second
# included) calls to every one of them reach the callee SIPp their Contacts name; a call set up
# before a restart is hung up after it (the Record-Route proof is the same key's); the store is
# an SQLite file an admin can query while sipring runs; a corrupt store is one error line at
# start (or, with --state-recover, a warning and an empty store), an unusable folder or one in
# use by another instance one error line too.
# usage: test_state.sh SIPRING SCENARIO_DIR
bin=$(realpath "$1") scen=$(realpath "$2")
lib=$(realpath "$(dirname "$0")/lib.sh")
. "$lib"
base=$((23500 + (RANDOM % 200) * 10))
P=$base UAS=$((base + 1)) UAC=$((base + 2)) REG=$((base + 3))
N=1000 EXTRA=100
st=$tmp/st
{ echo SEQUENTIAL; for i in $(seq $N); do echo "ua$i;example.test;"; done; } > users.csv
{ echo SEQUENTIAL; for i in $(seq $((N + 1)) $((N + EXTRA))); do echo "ua$i;example.test;"; done; } > extra.csv
{ echo SEQUENTIAL; for i in $(seq $((N + EXTRA))); do echo "ua$i;example.test;"; done; } > all.csv

run=0
start() { # start [OPTIONS...]: a new sipring on the store; its log is proxy$run.log
    run=$((run + 1))
    "$bin" --listen "udp:127.0.0.1:$P" --inside 127.0.0.1/32 --threads 2 --media-relay no \
        --domain example.test --state-dir "$st" "$@" > "proxy$run.log" 2>&1 &
    proxy=$!
    pids+=($proxy)
    for _ in $(seq 100); do grep -q 'listening on' "proxy$run.log" && return; sleep 0.05; done
}
register() { # register CSV COUNT: the UAs of CSV register (Contact at the callee SIPp)
    timeout 60 sipp -sf "$scen/register_inf.xml" "127.0.0.1:$P" -inf "$1" -key contact_port "$UAS" \
        -key expires 3600 -i 127.0.0.1 -p "$REG" -m "$2" -r 500 -timeout 40s -timeout_error \
        > "reg$run.out" 2>&1
    echo "$(sipp_calls "reg$run.out")"
}
calls() { # calls CSV COUNT NAME: one call to each UA of CSV; prints the successful count
    timeout 90 sipp -sf "$scen/uac_inf.xml" "127.0.0.1:$P" -inf "$1" -i 127.0.0.1 -p "$UAC" \
        -m "$2" -r 250 -timeout 60s -timeout_error > "calls-$3.out" 2>&1
    echo "$(sipp_calls "calls-$3.out")"
}
loaded() { grep -oE 'state: [0-9]+ registrations' "proxy$run.log" | grep -oE '[0-9]+'; }

timeout 300 sipp -sf "$scen/uas_rr.xml" -i 127.0.0.1 -p "$UAS" > uas.out 2>&1 &
pids+=($!)

start
n=$(register users.csv $N)
check "$N UAs register (SIPp: $n successful)" "[ '$n' = $N ]"
n=$(calls users.csv $N first)
check "  calls to all $N reach their phone ($n)" "[ '$n' = $N ]"
rows=$(sqlite3 "$st/state.db" 'SELECT count(*) FROM bindings' 2>&1)
check "  the store is an SQLite file the sqlite3 shell reads while sipring runs ($rows rows)" \
      "[ '$rows' = $N ]"

stop_daemon "sipring (first run)" "$proxy" proxy1.log
check "  its last changes are written on the way out" \
      "grep -qE 'state: [0-9]+ changes written to .*, 0 not written' proxy1.log"
start
check "after a SIGTERM restart the $N registrations are loaded ($(loaded))" "[ '$(loaded)' = $N ]"
n=$(calls users.csv $N after-sigterm)
check "  and calls to all $N reach their phone ($n)" "[ '$n' = $N ]"

# kill -9 loses at most the changes of the last STATE_FLUSH_MS (100 ms) and one write: what
# was registered half a second before is kept
n=$(register extra.csv $EXTRA)
check "$EXTRA more UAs register ($n)" "[ '$n' = $EXTRA ]"
sleep 0.5
kill -9 "$proxy"
wait "$proxy" 2>/dev/null
start
check "after a kill -9 half a second later all $((N + EXTRA)) are loaded ($(loaded))" \
      "[ '$(loaded)' = $((N + EXTRA)) ]"
n=$(calls all.csv $((N + EXTRA)) after-kill)
check "  and calls to all $((N + EXTRA)) reach their phone ($n)" "[ '$n' = $((N + EXTRA)) ]"

# a dialog set up before a restart is hung up after it: its BYE follows the Record-Route
# whose proof the restarted sipring checks with the key kept beside the store
timeout 60 sipp -sf "$scen/uac_inf.xml" "127.0.0.1:$P" -inf users.csv -i 127.0.0.1 -p "$UAC" \
    -m 1 -d 3000 -timeout 40s -timeout_error > dialog.out 2>&1 &
caller=$!
sleep 1
before=$run
stop_daemon "sipring (during a call)" "$proxy" "proxy$before.log"
start
wait "$caller"; rc=$?
check "a call set up before a SIGTERM restart is hung up after it: BYE answered 200 (rc $rc)" \
      "[ $rc = 0 ] && [ '$(sipp_calls dialog.out)' = 1 ]"
check "  (the restarted sipring relayed the BYE: no 'not relaying' in its log)" \
      "! grep -q 'not relaying' proxy$run.log"
check "  the key beside the store is mode 600" "[ \"\$(stat -c %a '$st/secret')\" = 600 ]"

# a second instance on the same store is refused
"$bin" --listen "udp:127.0.0.1:$((base + 5))" --threads 1 --media-relay no --state-dir "$st" \
    > second.log 2>&1; rc=$?
check "a second sipring on the same --state-dir exits 1 with one error line (rc $rc)" \
      "[ $rc = 1 ] && [ \$(grep -c ' error ' second.log) = 1 ] && grep -q 'in use by another sipring' second.log"
stop_daemon "sipring (last run on the store)" "$proxy" "proxy$run.log"

# a corrupt store: one clear error line, no crash; with --state-recover, set aside
head -c 65536 /dev/urandom > "$st/state.db"
rm -f "$st/state.db-wal" "$st/state.db-shm"
"$bin" --listen "udp:127.0.0.1:$P" --threads 1 --media-relay no --state-dir "$st" > corrupt.log 2>&1
rc=$?
check "a corrupt store: exit 1, one error line naming the file ($(grep ' error ' corrupt.log | head -1 | cut -c 1-150))" \
      "[ $rc = 1 ] && [ \$(grep -c ' error ' corrupt.log) = 1 ] && grep -q 'state.db' corrupt.log && ! grep -q listening corrupt.log"
start --state-recover yes
check "  with --state-recover yes: a warning, the file set aside, an empty store ($(loaded))" \
      "grep -q 'warn .*moved to' proxy$run.log && [ -f '$st/state.db.corrupt' ] && [ '$(loaded)' = 0 ]"
n=$(register users.csv 10)
check "  which takes registrations again ($n)" "[ '$n' = 10 ]"
stop_daemon "sipring (recovered store)" "$proxy" "proxy$run.log"

# a folder that cannot be made
: > "$tmp/plainfile"
"$bin" --listen "udp:127.0.0.1:$P" --threads 1 --media-relay no --state-dir "$tmp/plainfile/st" \
    > nodir.log 2>&1; rc=$?
check "an unusable --state-dir: exit 1, one error line ($(grep ' error ' nodir.log | cut -c 1-120))" \
      "[ $rc = 1 ] && [ \$(grep -c ' error ' nodir.log) = 1 ] && grep -q 'cannot create' nodir.log"
"$bin" --listen "udp:127.0.0.1:$P" --threads 1 --media-relay no --state-dir off --check-config \
    > off.log 2>&1; rc=$?
check "--state-dir off is accepted (rc $rc)" "[ $rc = 0 ]"
exit $fail
