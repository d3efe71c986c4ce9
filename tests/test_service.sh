#!/usr/bin/env bash
# tests/test_service.sh BINARY BUILD_DIR EXAMPLE_CONF: sipring as a service (issue 15):
#  - the readiness protocol of a Type=notify unit, against a socket standing in for systemd:
#    READY=1 once it serves, RELOADING=1 with MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1
#    on SIGTERM, and a clean exit;
#  - `meson install --destdir` puts the binary, the man page, the unit and the example
#    configuration in place, the unit names the installed binary, `systemd-analyze verify`
#    passes on it, and the example configuration passes --check-config.
bin=$(realpath "$1") build=$(realpath "$2") example=$(realpath "$3")
. "$(dirname "$0")/lib.sh"
port=$((33500 + RANDOM % 1000))
python3 - "$tmp/notify.sock" > notify.out 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(15)
try:
    while True:
        m = s.recv(4096).decode()
        print(m.replace("\n", " | "), flush=True)
        if m.startswith("STOPPING=1"):
            break
except socket.timeout:
    print("timeout", flush=True)
PY
npid=$!
pids+=("$npid")
for _ in $(seq 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$tmp/notify.sock" "$bin" --listen "udp:127.0.0.1:$port" --threads 2 \
    --media-relay no > sipring.log 2>&1 &
spid=$!
pids+=("$spid")
for _ in $(seq 50); do grep -q '^READY=1' notify.out && break; sleep 0.1; done
check "READY=1 once it serves ($(head -1 notify.out))" "head -1 notify.out | grep -q '^READY=1 | STATUS=serving'"
check "  and it does answer then" "python3 -c \"
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b'OPTIONS sip:127.0.0.1:$port SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKsv;rport\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: sv1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n', ('127.0.0.1', $port))
assert s.recv(4096).startswith(b'SIP/2.0 200')\""
kill -HUP "$spid"
for _ in $(seq 50); do [ "$(grep -c '^READY=1' notify.out)" -ge 2 ] && break; sleep 0.1; done
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 ($(sed -n 2,3p notify.out | tr '\n' ' '))" \
      "sed -n 2p notify.out | grep -qE '^RELOADING=1 \| MONOTONIC_USEC=[0-9]+$' && sed -n 3p notify.out | grep -q '^READY=1'"
kill -TERM "$spid"
wait "$spid"; rc=$?
wait "$npid"
check "SIGTERM: STOPPING=1 ($(tail -1 notify.out))" "tail -1 notify.out | grep -q '^STOPPING=1'"
check "  and exit 0 (rc $rc)" "[ $rc = 0 ]"
check "  no sanitizer report" "! grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' sipring.log"

dest="$tmp/root"
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet > install.log 2>&1; rc=$?
prefix=$(meson introspect "$build" --buildoptions | python3 -c "import json,sys; print([o['value'] for o in json.load(sys.stdin) if o['name']=='prefix'][0])")
unit="$dest$prefix/lib/systemd/system/sipring.service"
check "meson install --destdir: rc $rc" "[ $rc = 0 ]"
for f in "bin/sipring" "share/man/man8/sipring.8" "lib/systemd/system/sipring.service" \
         "etc/sipring/sipring.conf.example"; do
    check "  installs $prefix/$f" "[ -s '$dest$prefix/$f' ]"
done
check "the unit starts the installed binary with the installed configuration" \
      "grep -qx 'ExecStart=$prefix/bin/sipring --config $prefix/etc/sipring/sipring.conf' '$unit'"
check "the unit is Type=notify, reloads with SIGHUP, and has its state directory" \
      "grep -qx 'Type=notify' '$unit' && grep -q '^ExecReload=.*-HUP' '$unit' && grep -qx 'StateDirectory=sipring' '$unit'"
cp "$dest$prefix/etc/sipring/sipring.conf.example" "$dest$prefix/etc/sipring/sipring.conf"
# the root systemd-analyze looks into also needs the system's units and /bin/kill (ExecReload)
mkdir -p "$dest/usr/lib/systemd" "$dest/bin"
cp -r /usr/lib/systemd/system "$dest/usr/lib/systemd/"
cp /bin/kill "$dest/bin/kill"
systemd-analyze verify --man=no --root="$dest" "$prefix/lib/systemd/system/sipring.service" \
    > verify.log 2>&1; rc=$?
sed 's/^/   /' verify.log | head -5
check "systemd-analyze verify passes on the unit (rc $rc)" "[ $rc = 0 ] && ! grep -qi 'error\|warn' verify.log"
sed 's|/var/lib/sipring/secret|'"$tmp"'/secret|' "$example" > check.conf
"$bin" --check-config --config check.conf > check.log 2>&1; rc=$?
check "the example configuration passes --check-config (rc $rc)" "[ $rc = 0 ]"
exit "$fail"
