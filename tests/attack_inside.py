#!/usr/bin/env python3
"""tests/attack_inside.py EDGE SELF PBX: the inside of tests/test_attack.sh. Registers
pbx@edge.test (Contact PBX:5060, where SIPp answers) and silent0..silent19@edge.test (Contact
SELF:5060, this process) with sipring at EDGE, prints "registered", then is the silent phone: every INVITE
rings (180) and is never answered, OPTIONS get 200, CANCEL and BYE their answers. On SIGTERM it
prints how many requests reached it, how many of their Contacts were sipring's stateless tokens
("sip:st...": a Contact from the outside must leave no state at the edge) and how many still
named a private address (none may)."""
import signal
import socket
import sys

edge, me, pbx = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((me, 5060))
s.settimeout(3)
seen = {"requests": 0, "stateless": 0, "private": 0, "invites": 0}


def register(user, contact, cid):
    m = (f"REGISTER sip:edge.test SIP/2.0\r\nVia: SIP/2.0/UDP {me}:5060;branch=z9hG4bKr{cid}\r\n"
         f"Max-Forwards: 70\r\nFrom: <sip:{user}@edge.test>;tag=r{cid}\r\n"
         f"To: <sip:{user}@edge.test>\r\nCall-ID: reg-{cid}\r\nCSeq: 1 REGISTER\r\n"
         f"Contact: <sip:{user}@{contact}:5060>\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
    s.sendto(m.encode(), (edge, 5060))
    r = s.recv(65535).decode(errors="replace")
    if not r.startswith("SIP/2.0 200"):
        sys.exit(f"REGISTER {user}: {r.splitlines()[0]}")


register("pbx", pbx, 1)
for k in range(20):
    register(f"silent{k}", me, 2 + k)
print("registered", flush=True)


def report(*_):
    print(" ".join(f"{k} {v}" for k, v in seen.items()), flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, report)
s.settimeout(None)


def answer(msg, status, tag=None):
    head, _, _ = msg.partition("\r\n\r\n")
    lines = head.split("\r\n")
    keep = [l for l in lines[1:] if l.split(":")[0].lower() in
            ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "record-route")]
    if tag:
        keep = [l + f";tag={tag}" if l.lower().startswith(("to:", "t:")) and "tag=" not in l
                else l for l in keep]
    return (f"SIP/2.0 {status}\r\n" + "\r\n".join(keep) +
            f"\r\nContact: <sip:silent@{me}:5060>\r\nContent-Length: 0\r\n\r\n").encode()


while True:
    d, a = s.recvfrom(65535)
    msg = d.decode(errors="replace")
    if msg.startswith("SIP/2.0"):
        continue
    seen["requests"] += 1
    method = msg.split(" ", 1)[0]
    for l in msg.split("\r\n"):
        if l.lower().startswith(("contact:", "m:")):
            seen["stateless"] += "<sip:st" in l
            seen["private"] += "@192.168." in l
    if method == "INVITE":
        seen["invites"] += 1
        s.sendto(answer(msg, "180 Ringing", "silent"), a)
    elif method in ("OPTIONS", "BYE", "CANCEL"):
        s.sendto(answer(msg, "200 OK", "silent"), a)
