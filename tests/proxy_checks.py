#!/usr/bin/env python3
"""tests/proxy_checks.py: request validation of RFC 3261 §16.3 through the real binary, with a
raw UDP client and a fake next hop: Max-Forwards 0 → 483, a loop → 482, an unknown
Proxy-Require → 420 (with Unsupported), an unknown scheme → 416, a relay attempt for a foreign
domain from outside the trusted networks → 403 (checked by tests with --inside elsewhere),
an unregistered user → 404. Prints one 'ok'/'FAIL' line per check; exit status 1 on a failure."""
import socket
import sys

proxy_port, hop_port = int(sys.argv[1]), int(sys.argv[2])
PROXY = ("127.0.0.1", proxy_port)
fails = 0


def check(name, cond, detail=""):
    global fails
    print(("ok   - " if cond else "FAIL - ") + name + ("" if cond else ": " + detail))
    fails += 0 if cond else 1


def request(method, ruri, extra="", branch="z9hG4bKpy", mf=70, cseq=1):
    return (f"{method} {ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{ua.getsockname()[1]};branch={branch};rport\r\n"
            f"From: <sip:py@127.0.0.1>;tag=py1\r\nTo: <{ruri}>\r\nCall-ID: {branch}@py\r\n"
            f"CSeq: {cseq} {method}\r\nMax-Forwards: {mf}\r\n{extra}Content-Length: 0\r\n\r\n")


def status_of(data):
    return int(data.split(b" ", 2)[1]) if data.startswith(b"SIP/2.0 ") else 0


def final(sock, timeout=3.0):
    sock.settimeout(timeout)
    while True:
        data = sock.recv(65535)
        if status_of(data) >= 200:
            return data


ua = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ua.bind(("127.0.0.1", 0))
hop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hop.bind(("127.0.0.1", hop_port))
target = f"sip:bob@127.0.0.1:{hop_port}"

ua.sendto(request("OPTIONS", target, mf=0, branch="z9hG4bKmf0").encode(), PROXY)
r = final(ua)
check("Max-Forwards: 0 is answered 483 (§16.3 step 3)", status_of(r) == 483, r[:40].decode())

ua.sendto(request("OPTIONS", target, extra="Proxy-Require: foo, bar\r\n", branch="z9hG4bKpr").encode(), PROXY)
r = final(ua)
check("unknown Proxy-Require is answered 420 with Unsupported (§16.3 step 6)",
      status_of(r) == 420 and b"Unsupported: foo, bar\r\n" in r, r.decode(errors="replace"))

ua.sendto(request("OPTIONS", "im:bob@example.com", branch="z9hG4bKsch").encode(), PROXY)
r = final(ua)
check("an unknown URI scheme is answered 416 (§16.3 step 2)", status_of(r) == 416, r[:40].decode())

ua.sendto(request("INVITE", f"sip:nobody@127.0.0.1:{proxy_port}", branch="z9hG4bKnf").encode(), PROXY)
r = final(ua)
check("a user of a served domain who is not registered gets 404", status_of(r) == 404, r[:40].decode())

# A loop: the request comes back to sipring exactly as sipring forwarded it.
ua.sendto(request("MESSAGE", target, branch="z9hG4bKloop").encode(), PROXY)
hop.settimeout(3)
fwd, _ = hop.recvfrom(65535)
check("the request is forwarded with Max-Forwards decremented", b"Max-Forwards: 69\r\n" in fwd)
check("the forwarded request carries sipring's Via on top",
      fwd.split(b"\r\n")[1].startswith(f"Via: SIP/2.0/UDP 127.0.0.1:{proxy_port};branch=z9hG4bK".encode()))
hop.sendto(fwd, PROXY)
back, _ = hop.recvfrom(65535)
check("the same request coming back is answered 482 (§16.3 step 4)", status_of(back) == 482,
      back[:40].decode(errors="replace"))
# Finish the MESSAGE so the UA gets its answer through sipring (Via popped, sent back to us).
lines = fwd.decode().split("\r\n")
resp = "SIP/2.0 200 OK\r\n" + "\r\n".join(l for l in lines[1:] if l.split(":")[0] in
                                          ("Via", "From", "To", "Call-ID", "CSeq")) + "\r\nContent-Length: 0\r\n\r\n"
hop.sendto(resp.encode(), PROXY)
r = final(ua)
check("the 200 comes back to the UA with sipring's Via removed (§16.7 step 3)",
      status_of(r) == 200 and r.count(b"Via:") == 1, r.decode(errors="replace"))
sys.exit(1 if fails else 0)
