#!/usr/bin/env python3
"""tests/auth_brute.py PORT N [SRC [USER [REALM]]]: N guesses of USER's password (default alice
in realm 127.0.0.1) from address SRC (default 127.0.0.2), each a REGISTER with made-up digest
credentials under a new Call-ID; prints the status of each answer, or "none" when sipring
stays silent (a banned source gets nothing)."""
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
src, user, realm = (sys.argv[3:6] + ["127.0.0.2", "alice", "127.0.0.1"][len(sys.argv[3:6]):])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(1.0)
ruri = f"127.0.0.1:{port}" if realm == "127.0.0.1" else realm
sha = realm != "127.0.0.1"
for i in range(n):
    m = (f"REGISTER sip:{ruri} SIP/2.0\r\n"
         f"Via: SIP/2.0/UDP {src}:{s.getsockname()[1]};branch=z9hG4bKbf{i}\r\n"
         f"Max-Forwards: 70\r\nFrom: <sip:{user}@{realm}>;tag=b\r\nTo: <sip:{user}@{realm}>\r\n"
         f"Call-ID: brute-{src}-{i}\r\nCSeq: 1 REGISTER\r\nContact: <sip:{user}@{src}>\r\n"
         f'Authorization: Digest username="{user}", realm="{realm}", '
         f'nonce="00000000000000000000000000000000000000000000000{i}", uri="sip:{ruri}", '
         f'response="{"0" * (64 if sha else 32)}", {"algorithm=SHA-256, " if sha else ""}'
         'qop=auth, nc=00000001, cnonce="x"\r\n'
         "Content-Length: 0\r\n\r\n")
    s.sendto(m.encode(), ("127.0.0.1", port))
    try:
        print(s.recv(65535).split(b" ")[1].decode())
    except socket.timeout:
        print("none")
