#!/usr/bin/env python3
"""tests/guard_peer.py: the hostile and the probing peers of test_guard.sh, on loopback.

  flood SRC_IP DST_PORT SECONDS MAX   REGISTER and INVITE as fast as possible (bounded by both)
  options SRC_IP DST_PORT [UA]        one OPTIONS to sipring; prints the status line or "none"
  files SRC_IP DST_PORT FILE...       each file as one datagram
  burst SRC_IP DST_PORT N             N OPTIONS at once; prints how many were answered
GUARD_SRC_PORT in the environment fixes the source port (else the kernel picks one): sipring's
workers share the port with SO_REUSEPORT and a source's datagrams reach the worker its address
and port hash to, which is the one that bans it.
"""
import os
import socket
import sys
import time


def msg(method, src, port, i, ua=None):
    lines = [f"{method} sip:{'bob@' if method != 'OPTIONS' else ''}127.0.0.1:{port} SIP/2.0",
             f"Via: SIP/2.0/UDP {src}:5099;branch=z9hG4bKfl{i};rport",
             "Max-Forwards: 70",
             f"From: <sip:x@{src}>;tag=f{i}", f"To: <sip:bob@127.0.0.1:{port}>",
             f"Call-ID: flood-{i}@{src}", f"CSeq: 1 {method}",
             f"Contact: <sip:x@{src}:5099>"]
    if ua:
        lines.append(f"User-Agent: {ua}")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def sock(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, int(os.environ.get("GUARD_SRC_PORT", "0"))))
    return s


def main():
    cmd, src, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = sock(src)
    if cmd == "flood":
        secs, most = float(sys.argv[4]), int(sys.argv[5])
        end, n = time.time() + secs, 0
        s.setblocking(False)
        while n < most and time.time() < end:
            try:
                s.sendto(msg("REGISTER" if n % 2 else "INVITE", src, port, n), ("127.0.0.1", port))
                n += 1
            except BlockingIOError:
                time.sleep(0.001)
        print(n)
    elif cmd == "options":
        ua = sys.argv[4] if len(sys.argv) > 4 else None
        s.settimeout(1.5)
        s.sendto(msg("OPTIONS", src, port, int(time.time() * 1000) % 100000, ua), ("127.0.0.1", port))
        try:
            print(s.recv(65535).split(b"\r\n", 1)[0].decode())
        except socket.timeout:
            print("none")
    elif cmd == "burst":
        n = int(sys.argv[4])
        s.settimeout(1.0)
        for i in range(n):
            s.sendto(msg("OPTIONS", src, port, i), ("127.0.0.1", port))
        got = 0
        try:
            while True:
                s.recv(65535)
                got += 1
        except socket.timeout:
            pass
        print(got)
    elif cmd == "files":
        sent = 0
        for f in sys.argv[4:]:
            s.sendto(open(f, "rb").read()[:65000], ("127.0.0.1", port))
            sent += 1
            time.sleep(0.002)
        print(sent)


main()
