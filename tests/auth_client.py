#!/usr/bin/env python3
"""tests/auth_client.py PORT USER PASSWORD REALM: a REGISTER client (from AUTH_SRC, default
127.0.0.1) (to sip:REALM, a domain
sipring serves) for test_auth.sh that speaks
digest with SHA-256 (RFC 8760) itself, since SIPp does MD5 only. Prints one line per step:
  challenge <algorithms offered, in order>
  sha256 <status>            the credentials computed with SHA-256
  replay <status>            the same Authorization again (same nonce and nc): must fail
  nc2 <status>               the same nonce with the next nc: must pass
  wrong <status>             a wrong password
With AUTH_MODE=abuse, instead of sha256..wrong:
  otheraor <status>          valid credentials, but To names another user's AOR: 403
  newcallid <statuses>       a REGISTER that passed, sniffed and sent again under new Call-IDs
                             (so to other workers too): never 200
"""
import hashlib
import os
import re
import socket
import sys

port, user, pw, realm = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((os.environ.get("AUTH_SRC", "127.0.0.1"), 0))
s.settimeout(2)
lport = s.getsockname()[1]
cseq = 0


def register(auth=None, call_id="authclient-1", to_user=None):
    global cseq
    cseq += 1
    to_user = to_user or user
    lines = [f"REGISTER sip:{realm} SIP/2.0",
             f"Via: SIP/2.0/UDP {s.getsockname()[0]}:{lport};branch=z9hG4bKac{cseq};rport",
             "Max-Forwards: 70", f"From: <sip:{to_user}@{realm}>;tag=a1",
             f"To: <sip:{to_user}@{realm}>", f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER",
             f"Contact: <sip:{to_user}@{s.getsockname()[0]}:{lport}>", "Expires: 60"]
    if auth:
        lines.append("Authorization: " + auth)
    lines.append("Content-Length: 0")
    s.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), ("127.0.0.1", port))
    try:
        return s.recv(65535).decode(errors="replace")
    except socket.timeout:
        return "SIP/2.0 none"  # a banned source gets nothing


def status(r):
    return r.split(" ", 2)[1]


def creds(nonce, nc, password):
    h = lambda x: hashlib.sha256(x.encode()).hexdigest()
    uri = f"sip:{realm}"
    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"REGISTER:{uri}")
    ncs = f"{nc:08x}"
    resp = h(f"{ha1}:{nonce}:{ncs}:c0ffee:auth:{ha2}")
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
            f'response="{resp}", algorithm=SHA-256, cnonce="c0ffee", qop=auth, nc={ncs}')


r = register()
algs = re.findall(r"WWW-Authenticate: Digest [^\r]*algorithm=([A-Z0-9-]+)", r)
print("challenge", status(r), ",".join(algs))
nonce = re.search(r'nonce="([^"]+)"', r).group(1)
if os.environ.get("AUTH_MODE") != "abuse":
    a = creds(nonce, 1, pw)
    print("sha256", status(register(a)))
    print("replay", status(register(a)))
    print("nc2", status(register(creds(nonce, 2, pw))))
    print("wrong", status(register(creds(nonce, 3, pw + "x"))))
else:
    # valid credentials for another address of record (RFC 3261 §10.3 step 6)
    print("otheraor", status(register(creds(nonce, 1, pw), to_user="mallory")))
    # a REGISTER that passed, replayed under new Call-IDs: they spread over the workers
    ok = creds(nonce, 2, pw)
    print("fresh", status(register(ok)))
    print("newcallid", ",".join(status(register(ok, call_id=f"replay-{i}")) for i in range(8)))
