#!/usr/bin/env bash
# tests/test_options.sh: the option table as users meet it: --help and the man page document
# the same set of long options; bad values exit 2 with one line naming the option; the config
# file is read, checked and overridden by the command line.
set -u
bin=$1 man=$2
fail=0
check() { if eval "$2"; then echo "ok   - $1"; else echo "FAIL - $1"; fail=1; fi; }
tmp=$(mktemp -d)
export STATE_DIRECTORY="$tmp/state" # registrations kept across restarts: this test's own (src/state.c)
trap 'rm -rf "$tmp"' EXIT

"$bin" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u > "$tmp/help"
grep -oE '\\-\\-[a-z][a-z\\-]+' "$man" | sed 's/\\//g' | sort -u > "$tmp/man"
check "--help and man/sipring.8 list the same options" "diff -u '$tmp/help' '$tmp/man'"
check "--help lists at least the listen, config and check-config options" \
      "grep -qx -- --listen '$tmp/help' && grep -qx -- --check-config '$tmp/help'"

"$bin" --max-msg-size 12 > "$tmp/out" 2> "$tmp/err"; rc=$?
check "bad value exits 2" "[ $rc = 2 ]"
check "bad value names the option and the accepted form in one line" \
      "[ \$(wc -l < '$tmp/err') = 1 ] && grep -q -- '--max-msg-size' '$tmp/err' && grep -q '1024 to 65535' '$tmp/err'"
"$bin" --no-such-option 2> "$tmp/err"; rc=$?
check "unknown option exits 2" "[ $rc = 2 ]"
"$bin" --listen sctp:1.2.3.4:5060 2> "$tmp/err"; rc=$?
check "unsupported listener exits 2" "[ $rc = 2 ] && grep -q -- '--listen' '$tmp/err'"
"$bin" --listen tls:127.0.0.1:5061 2> "$tmp/err"; rc=$?
check "a TLS listener without a certificate exits 2" "[ $rc = 2 ] && grep -q -- '--tls-cert' '$tmp/err'"

printf '# comment\nlisten = udp:127.0.0.1:5070\nlog-level = debug\nmax-headers = 64\n' > "$tmp/good.conf"
"$bin" --config "$tmp/good.conf" --check-config > "$tmp/out" 2>&1; rc=$?
check "--check-config on a good file exits 0" "[ $rc = 0 ] && grep -q 'configuration OK' '$tmp/out'"
printf 'listen = udp:127.0.0.1:5070\nlog-level = loud\nbogus = 1\nno equals sign\n' > "$tmp/bad.conf"
"$bin" --config "$tmp/bad.conf" --check-config > "$tmp/out" 2>&1; rc=$?
check "--check-config on a bad file exits 1" "[ $rc = 1 ]"
check "--check-config reports each problem on its own line with file:line" \
      "[ \$(grep -c 'bad.conf:' '$tmp/out') = 3 ] && grep -q 'bad.conf:2: --log-level' '$tmp/out'"
"$bin" --config "$tmp/bad.conf" --log-level warn --check-config > "$tmp/out" 2>&1
check "a command-line option overrides (and so skips) the file's value" \
      "! grep -q 'log-level' '$tmp/out' && grep -q 'bogus' '$tmp/out'"
"$bin" --config "$tmp/missing.conf" --check-config > "$tmp/out" 2>&1; rc=$?
check "a missing config file is reported" "[ $rc = 1 ] && grep -q 'cannot open' '$tmp/out'"
"$bin" --version > "$tmp/version"; rc=$?
check "--version prints the version (rc $rc: $(cat "$tmp/version"))" \
      "[ $rc = 0 ] && grep -qxE 'sipring [0-9]+\.[0-9]+\.[0-9]+' '$tmp/version'"

# --secret-file: made with mode 0600 on the first start, the same key on the next, refused
# when others may read it
port=$((22000 + RANDOM % 2000))
run_with_secret() {
    "$bin" --listen "udp:127.0.0.1:$port" --media-relay no --threads 1 --secret-file "$tmp/key" \
        > "$tmp/secret.log" 2>&1 &
    local pid=$!
    for _ in $(seq 30); do grep -q advertising "$tmp/secret.log" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    kill -TERM $pid 2>/dev/null; wait $pid
}
run_with_secret; rc=$?
check "--secret-file: created on the first start (mode $(stat -c %a "$tmp/key" 2>/dev/null), $(stat -c %s "$tmp/key" 2>/dev/null) bytes), exit $rc" \
      "[ $rc = 0 ] && [ \"\$(stat -c %a '$tmp/key')\" = 600 ] && [ \"\$(stat -c %s '$tmp/key')\" = 32 ] && grep -q 'created a new key' '$tmp/secret.log'"
sum1=$(md5sum < "$tmp/key")
run_with_secret; rc=$?
check "  kept on the next start (exit $rc)" "[ $rc = 0 ] && [ \"\$(md5sum < '$tmp/key')\" = '$sum1' ] && ! grep -q 'created' '$tmp/secret.log'"
# --max-headers: a message with more header fields than it allows is dropped
port2=$((port + 1))
"$bin" --listen "udp:127.0.0.1:$port2" --media-relay no --threads 1 --max-headers 16 > "$tmp/mh.log" 2>&1 &
mh=$!
for _ in $(seq 30); do grep -q advertising "$tmp/mh.log" && break; sleep 0.1; done
options_with() { # N extra headers -> the status sipring answered, or "none"
    python3 - "$port2" "$1" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(1)
extra = "".join(f"X-Pad-{i}: {i}\r\n" for i in range(n))
s.sendto((f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{s.getsockname()[1]};branch=z9hG4bKmh{n}\r\n"
          f"From: <sip:a@x>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: mh{n}\r\nCSeq: 1 OPTIONS\r\n{extra}"
          "Content-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
try:
    print(s.recv(65535).split(b" ")[1].decode())
except socket.timeout:
    print("none")
PY
}
few=$(options_with 4) many=$(options_with 20)
check "--max-headers 16: 10 header fields are answered ($few), 26 are dropped ($many)" \
      "[ '$few' = 200 ] && [ '$many' = none ]"
kill -TERM $mh; wait $mh; rc=$?
check "  and that sipring exits 0 (rc $rc)" "[ $rc = 0 ]"
chmod 644 "$tmp/key"
run_with_secret; rc=$?
check "  refused when others may read it (exit $rc)" "[ $rc = 1 ] && grep -q 'readable by others' '$tmp/secret.log'"
exit $fail
