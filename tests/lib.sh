# tests/lib.sh: the preamble the integration scripts share; source it once their arguments are
# made absolute. It gives: `check NAME CONDITION` (prints ok/FAIL, sets fail=1), a fresh
# directory $tmp to work in (the script is moved into it; removed at exit unless KEEP_TMP is
# set, and kept with its path printed when a check failed), `pids` (background processes, and
# their children, killed at exit), `stop_daemon NAME PID LOG` (SIGTERM, then the exit status
# and the sanitizer lines of LOG checked), `sipp_calls FILE` (the successful calls SIPp
# reported) and `calls_through` (SIPp calls through a proxy, below). sipring's store
# (--state-dir) defaults to $tmp/state.
set -u
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
tmp=$(mktemp -d)
cd "$tmp" || exit 1
# where sipring keeps registrations across restarts (src/state.c; --state-dir's default comes
# from it, as under systemd): this test's own
export STATE_DIRECTORY="$tmp/state"
pids=()
cleanup() {
    # `timeout` does not pass SIGKILL on: end the children (the SIPp processes) first
    for p in "${pids[@]}"; do pkill -9 -P "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    if [ -n "${KEEP_TMP:-}" ] || [ "$fail" != 0 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
stop_daemon() {
    local name=$1 pid=$2 log=$3 rc
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"; rc=$?
    check "$name exits 0 on SIGTERM (rc $rc)" "[ $rc = 0 ]"
    check "$name: no sanitizer report in $log" \
          "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer' '$log'"
}
sipp_calls() { grep -E "Successful call" "$1" | awk -F'|' '{print $3}' | tr -d ' '; }
# calls_through SCENARIOS PROXY_PORT UAS_PORT UAC_PORT COUNT RATE: COUNT calls from a caller
# that follows the route set (uac_rr.xml) through the proxy on 127.0.0.1 to a callee that
# echoes Record-Route (uas_rr.xml); their screens in uac.out and uas.out; the caller's status.
calls_through() {
    local scen=$1 proxy=$2 uas=$3 uac=$4 count=$5 rate=$6
    printf 'SEQUENTIAL\n127.0.0.1:%s;\n' "$uas" > domain.csv
    timeout 60 sipp -sf "$scen/uas_rr.xml" -i 127.0.0.1 -p "$uas" -m "$count" > uas.out 2>&1 &
    pids+=($!)
    sleep 0.3
    timeout 60 sipp -sf "$scen/uac_rr.xml" "127.0.0.1:$uas" -rsa "127.0.0.1:$proxy" -inf domain.csv \
        -s callee -i 127.0.0.1 -p "$uac" -m "$count" -r "$rate" -timeout 40s -timeout_error \
        > uac.out 2>&1
}
