#!/usr/bin/env python3
"""tests/trunk_phone.py: a phone that follows its route set (RFC 3261 §12.1.2, §12.2.1.1), in
two halves around a restart of the proxy. Usage:
  trunk_phone.py call PROXY_PORT LOCAL_PORT CALLEE_URI STATE_FILE   INVITE, 200, ACK; keeps the dialog
  trunk_phone.py bye PROXY_PORT LOCAL_PORT STATE_FILE                BYE along the kept route set
Prints one line and exits 0 when its half worked (the BYE: a 200 with the phone's own CSeq)."""
import json
import re
import socket
import sys
import time

mode, proxy = sys.argv[1], ("127.0.0.1", int(sys.argv[2]))
port = int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
s.settimeout(1)


def recv(want):
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            m = s.recv(65535).decode(errors="replace")
        except socket.timeout:
            continue
        if re.match(want, m):
            return m
    return ""


def hdrs(m, name):
    return [l.split(":", 1)[1].strip() for l in m.split("\r\n") if l.lower().startswith(name.lower() + ":")]


def request(method, ruri, cseq, call_id, to, routes, branch):
    route = "".join("Route: %s\r\n" % r for r in routes)
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:phone@127.0.0.1>;tag=ph1\r\nTo: %s\r\nCall-ID: %s\r\n"
            "CSeq: %d %s\r\n%sContact: <sip:phone@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n"
            % (method, ruri, port, branch, to, call_id, cseq, method, route, port))


if mode == "call":
    callee, state = sys.argv[4], sys.argv[5]
    call_id = "trunk-restart-%d@127.0.0.1" % port
    s.sendto(request("INVITE", callee, 1, call_id, "<%s>" % callee, [], "inv1").encode(), proxy)
    ok = recv(r"SIP/2\.0 [2-6]\d\d")
    if not ok.startswith("SIP/2.0 200"):
        print("no 200 for the INVITE: %s" % ok.split("\r\n")[0]); sys.exit(1)
    rr = []
    for v in hdrs(ok, "Record-Route"):
        rr += [x.strip() for x in v.split(",")]
    routes = list(reversed(rr))  # §12.1.2: the UAC's route set is the Record-Routes reversed
    target = re.sub(r"^.*<([^>]*)>.*$", r"\1", hdrs(ok, "Contact")[0])
    to = hdrs(ok, "To")[0]
    s.sendto(request("ACK", target, 1, call_id, to, routes, "ack1").encode(), proxy)
    json.dump({"call_id": call_id, "to": to, "routes": routes, "target": target}, open(state, "w"))
    print("up: routes %s" % " ".join(routes))
    sys.exit(0 if any(";ts=1." in r for r in routes) else 1)

d = json.load(open(sys.argv[4]))
s.sendto(request("BYE", d["target"], 2, d["call_id"], d["to"], d["routes"], "bye1").encode(), proxy)
r = recv(r"SIP/2\.0 [2-6]\d\d")
print(r.split("\r\n")[0] if r else "no answer to the BYE")
sys.exit(0 if r.startswith("SIP/2.0 200") and hdrs(r, "CSeq") == ["2 BYE"] else 1)
