#!/usr/bin/env bash
# tests/test_metrics.sh: --metrics as an admin's monitoring uses it (issue 15). Debian's
# Prometheus scrapes sipring every second while SIPp places calls through it; a PromQL query
# through Prometheus' HTTP API then returns the number of calls SIPp completed, and the setup
# histogram counted each. `promtool check metrics` passes on the page. The listener's bounds: a
# head over 2 KiB gets 431, a client that sends nothing is closed after 5 s, other paths 404,
# other methods 405. The JSON pages beside it: /status, /registrations a page at a time, and
# /bans (an outside address over --rate-limit).
# usage: test_metrics.sh SIPRING SCENARIO_DIR
bin=$(realpath "$1") scen=$(realpath "$2")
lib=$(realpath "$(dirname "$0")/lib.sh")
. "$lib"
base=$((24500 + (RANDOM % 200) * 10))
P=$base UAS=$((base + 1)) UAC=$((base + 2)) MP=$((base + 3)) PP=$((base + 4))
CALLS=50

"$bin" --listen "udp:127.0.0.1:$P" --inside 127.0.0.1/32 --threads 2 --media-relay no \
    --domain example.test --rate-limit 20 --ban-time 60 --metrics "127.0.0.1:$MP" > proxy.log 2>&1 &
proxy=$!
pids+=($proxy)
for _ in $(seq 50); do grep -q 'metrics on' proxy.log && break; sleep 0.1; done
check "sipring serves metrics on the address given" "grep -q 'metrics on http://127.0.0.1:$MP/metrics' proxy.log"

cat > prometheus.yml <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: sipring
    static_configs:
      - targets: ['127.0.0.1:$MP']
EOF
prometheus --config.file=prometheus.yml --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$PP" > prometheus.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PP/-/ready" > /dev/null && break; sleep 0.2; done
check "Prometheus is up" "curl -sf 'http://127.0.0.1:$PP/-/ready' > /dev/null"

calls_through "$scen" "$P" "$UAS" "$UAC" $CALLS 10
rc=$?
done_calls=$(sipp_calls uac.out)
check "SIPp completes its calls through sipring (rc $rc, $done_calls)" "[ $rc = 0 ] && [ '$done_calls' = $CALLS ]"

# promql QUERY: the value of a one-sample instant query, through Prometheus' HTTP API
promql() {
    curl -s --get "http://127.0.0.1:$PP/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")'
}
want() { # want QUERY VALUE: waits up to 6 s (scrapes are 1 s apart, boards 1 s old)
    local v
    for _ in $(seq 30); do v=$(promql "$1"); [ "$v" = "$2" ] && break; sleep 0.2; done
    echo "$v"
}
v=$(want 'sum(sipring_calls_answered_total)' "$done_calls")
check "PromQL sum(sipring_calls_answered_total) is the calls SIPp completed ($v = $done_calls)" "[ '$v' = '$done_calls' ]"
v=$(want 'sum(sipring_calls_ended_total)' "$done_calls")
check "  sipring_calls_ended_total too ($v)" "[ '$v' = '$done_calls' ]"
v=$(want 'sipring_call_setup_seconds_count' "$done_calls")
check "  and the setup histogram counted each ($v)" "[ '$v' = '$done_calls' ]"
v=$(want 'sipring_requests_total{method="INVITE"}' "$done_calls")
check "  requests by method: $v INVITEs" "[ '$v' = '$done_calls' ]"
v=$(want 'up{job="sipring"}' 1)
check "  every scrape succeeded (up = $v)" "[ '$v' = 1 ]"

curl -s "http://127.0.0.1:$MP/metrics" > page.txt
promtool check metrics < page.txt > promtool.out 2>&1; rc=$?
check "promtool check metrics passes on the page (rc $rc)" "[ $rc = 0 ] && [ ! -s promtool.out ]"
check "  each family has its HELP and TYPE" \
      "[ \$(grep -c '^# HELP' page.txt) = \$(grep -c '^# TYPE' page.txt) ] && [ \$(grep -c '^# TYPE' page.txt) -ge 30 ]"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "another path is 404" "[ \$(code 'http://127.0.0.1:$MP/nothing') = 404 ]"
check "another method is 405" "[ \$(code -X POST 'http://127.0.0.1:$MP/metrics') = 405 ]"
big=$(head -c 3000 /dev/zero | tr '\0' 'a')
check "a head over 2 KiB is 431" "[ \$(code -H 'X-Big: $big' 'http://127.0.0.1:$MP/metrics') = 431 ]"
start=$(date +%s%N)
python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $MP))
s.settimeout(10)
print(len(s.recv(100)))" > idle.out 2>&1
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "a client that sends nothing is closed after about 5 s (${took} ms)" \
      "[ \"\$(cat idle.out)\" = 0 ] && [ $took -ge 4500 ] && [ $took -lt 8000 ]"
check "  and sipring serves the next scrape" "[ \$(code 'http://127.0.0.1:$MP/metrics') = 200 ]"
# the JSON pages
{ echo SEQUENTIAL; for i in 1 2 3; do echo "ua$i;example.test;"; done; } > users.csv
timeout 30 sipp -sf "$scen/register_inf.xml" "127.0.0.1:$P" -inf users.csv -key contact_port 5099 \
    -key expires 600 -i 127.0.0.1 -p "$UAC" -m 3 -timeout 10s -timeout_error > reg.out 2>&1
check "three UAs register ($(sipp_calls reg.out))" "[ '$(sipp_calls reg.out)' = 3 ]"
curl -s "http://127.0.0.1:$MP/registrations?limit=2" > page1.json
curl -s "http://127.0.0.1:$MP/registrations?limit=2&offset=2" > page2.json
curl -s "http://127.0.0.1:$MP/status" > status.json
python3 - > json.out 2>&1 <<PY
import json
p1, p2, st = (json.load(open(f)) for f in ("page1.json", "page2.json", "status.json"))
regs = p1["registrations"] + p2["registrations"]
assert p1["total"] == 3 and len(p1["registrations"]) == 2 and len(p2["registrations"]) == 1, (p1, p2)
assert sorted(r["aor"] for r in regs) == ["ua1@example.test", "ua2@example.test", "ua3@example.test"], regs
assert all(r["contact"] == "sip:%s@127.0.0.1:5099" % r["aor"].split("@")[0] for r in regs), regs
assert all(r["flow"].startswith("udp:127.0.0.1:") and 590 <= r["expires_in"] <= 600 for r in regs), regs
assert st["version"] == "0.1.0" and st["workers"] == 2 and st["registrations"] == 3, st
assert st["listeners"] == ["udp:127.0.0.1:$P"] and "example.test" in st["config"]["domains"], st
print("ok")
PY
# an outside address (127.0.0.5 is not --inside) floods OPTIONS past --rate-limit 20: banned
python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.5', 0))
for i in range(200):
    s.sendto(b'OPTIONS sip:127.0.0.1 SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.5:9;branch=z9hG4bKf%d\\r\\n'
             b'From: <sip:f@127.0.0.5>;tag=1\\r\\nTo: <sip:127.0.0.1>\\r\\nCall-ID: f%d\\r\\n'
             b'CSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n' % (i, i), ('127.0.0.1', $P))
"
for _ in $(seq 30); do
    curl -s "http://127.0.0.1:$MP/bans" > bans.json
    grep -q 127.0.0.5 bans.json && break
    sleep 0.1
done
python3 - > bans.out 2>&1 <<PY
import json
b = json.load(open("bans.json"))
assert b["total"] == 1, b
x = b["bans"][0]
assert x["ip"] == "127.0.0.5" and x["reason"] == "rate_limit" and 55 <= x["seconds_left"] <= 60, x
print("ok", x["seconds_left"], "s left,", x["dropped"], "dropped")
PY
check "/bans lists the flooding address, why, and for how long ($(tail -1 bans.out))" \
      "grep -q '^ok' bans.out"
check "/registrations pages through the three (limit, offset) with contact, flow and expiry; /status names version, workers and listeners ($(tail -1 json.out))" \
      "[ \"\$(tail -1 json.out)\" = ok ]"
stop_daemon sipring "$proxy" proxy.log
exit $fail
