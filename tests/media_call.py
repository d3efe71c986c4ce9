#!/usr/bin/env python3
"""tests/media_call.py: two UAs and a stranger on loopback, calling through sipring with media.

Checks what RFC 3264 offer/answer through an anchoring proxy must give: each side sees only
sipring's relay address and ports in the SDP it receives; RTP sent to the relay arrives at the
other side unchanged, both ways; RTP sprayed at the relay ports from another address (RTP
Bleed) reaches nobody; RTCP follows on the odd ports. Usage: media_call.py PROXY_PORT BASE_PORT
MODE, MODE one of: bye (hang up with BYE), silent (stop sending, leave the call up), reject
(callee answers 486), quality (as bye, with RTCP reports both ways first: the callee's SR
quoted by the caller's RR 60 ms later, the caller's SR quoted by the callee's RR 40 ms later,
each after holding it 10 ms; the callee reports 2 packets lost and a jitter of 80 units, the
caller none lost and 160 units: the call's record must show them). Prints one "ok"/"FAIL" line per check and exits 1 on any failure."""
import re
import socket
import struct
import sys
import time

proxy_port, base, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
V6 = mode == "v6"  # a BYE call over IPv6 loopback: one address only, so no stranger and no sides
FAM = socket.AF_INET6 if V6 else socket.AF_INET
PROXY = ("::1" if V6 else "127.0.0.1", proxy_port)
failed = False


def check(name, cond):
    global failed
    print(("ok   - " if cond else "FAIL - ") + name)
    failed |= not cond


def udp(ip, port):
    s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(3)
    return s


# The caller is inside (127.0.0.1, sipring runs with --inside 127.0.0.1/32), the callee outside
# (127.0.0.3); sipring's public address, for SDP going outside, is 127.0.0.4.
A, B, PUBLIC = ("::1", "::1", "::1") if V6 else ("127.0.0.1", "127.0.0.3", "127.0.0.4")
IP = "IP6" if V6 else "IP4"
BR = (lambda h: "[%s]" % h) if V6 else (lambda h: h)
a_sip, b_sip = udp(A, base), udp(B, base + 1)
a_rtp, b_rtp = udp(A, base + 10), udp(B, base + 12)
a_rtcp, b_rtcp = udp(A, base + 11), udp(B, base + 13)
stranger = udp("::1" if V6 else "127.0.0.2", base + 20)
call_id = "media-%d-%s@127.0.0.1" % (base, mode)


def sdp(ip, port, sess):
    return ("v=0\r\no=- %d 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=candidate:1 1 UDP 2130706431 %s %d typ host\r\n" % (sess, IP, ip, IP, ip, port, ip, port))


def recv_sip(sock, want):
    """The next message whose first line matches want (regex), skipping 100 Trying."""
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            data = sock.recv(65535).decode()
        except socket.timeout:
            continue
        if re.match(want, data):
            return data
    return ""


def headers(msg, name):
    return [l for l in msg.split("\r\n") if l.lower().startswith(name.lower() + ":")]


def body(msg):
    return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""


def media_port(msg):
    m = re.search(r"^m=audio (\d+) ", body(msg), re.M)
    return int(m.group(1)) if m else 0


def request(method, ruri, cseq, to_tag="", extra="", sdp_body="", branch="a"):
    to = "<sip:b@%s>" % BR(B) + (";tag=" + to_tag if to_tag else "")
    ctype = "Content-Type: application/sdp\r\n" if sdp_body else ""
    return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s%s%d;rport\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:a@%s>;tag=atag\r\nTo: %s\r\nCall-ID: %s\r\n"
            "CSeq: %d %s\r\nContact: <sip:a@%s:%d>\r\n%s%sContent-Length: %d\r\n\r\n%s"
            % (method, ruri, BR(A), base, branch, mode, cseq, BR(A), to, call_id, cseq, method,
               BR(A), base, extra, ctype, len(sdp_body), sdp_body))


def response(req, code, reason, sdp_body=""):
    keep = [l for l in req.split("\r\n")[1:] if re.match(r"(?i)(via|from|call-id|cseq|record-route):", l)]
    to = headers(req, "To")[0]
    if ";tag=" not in to:
        to += ";tag=btag"
    ctype = "Content-Type: application/sdp\r\n" if sdp_body else ""
    return ("SIP/2.0 %d %s\r\n%s\r\n%s\r\nContact: <sip:b@%s:%d>\r\n%sContent-Length: %d\r\n\r\n%s"
            % (code, reason, "\r\n".join(keep), to, BR(B), base + 1, ctype, len(sdp_body), sdp_body))


def rtp(seq, marker):
    # version 2, PCMU, 160 bytes of payload carrying a marker of who sent it
    return bytes([0x80, 0, seq >> 8, seq & 255, 0, 0, 0, 160, 0, 0, 0, 7]) + marker * 160


def drain(sock):
    got = []
    sock.settimeout(0.3)
    try:
        while True:
            got.append(sock.recv(2048))
    except socket.timeout:
        pass
    sock.settimeout(3)
    return got


ruri = "sip:b@%s:%d" % (BR(B), base + 1)
a_sip.sendto(request("INVITE", ruri, 1, sdp_body=sdp(A, base + 10, 1)).encode(), PROXY)
inv = recv_sip(b_sip, "INVITE ")
check("the INVITE reaches the callee", inv != "")
rb = media_port(inv)
check("the callee's SDP offers a relay port, not the caller's (%d)" % rb, rb not in (0, base + 10))
if not V6:
    check("the callee's SDP carries no inside ICE candidate", "candidate" not in body(inv))
check("the callee sees only sipring's %s address in SDP" % ("IPv6" if V6 else "public"),
      re.findall(r"IN IP[46] (\S+)", body(inv)) == [PUBLIC, PUBLIC])
check("Content-Length matches the rewritten SDP",
      headers(inv, "Content-Length") and int(headers(inv, "Content-Length")[0].split(":")[1]) == len(body(inv).encode()))

if mode == "reject":
    b_sip.sendto(response(inv, 486, "Busy Here").encode(), PROXY)
    r = recv_sip(a_sip, "SIP/2.0 486")
    check("the caller gets 486", r != "")
    a_sip.sendto(request("ACK", ruri, 1, to_tag="btag").encode(), PROXY)
    sys.exit(1 if failed else 0)

b_sip.sendto(response(inv, 200, "OK", sdp(B, base + 12, 2)).encode(), PROXY)
ok = recv_sip(a_sip, "SIP/2.0 200")
ra = media_port(ok)
check("the caller sees only sipring's inside address in SDP",
      re.findall(r"IN IP[46] (\S+)", body(ok)) == [A, A])
check("the answer going inside keeps its ICE line (inside may reach it)", "candidate" in body(ok))
check("the caller's answer SDP names a relay port (%d)" % ra, ra not in (0, base + 12, rb))
route = "Route: <sip:%s:%d;lr>\r\n" % (BR(PROXY[0]), proxy_port)
a_sip.sendto(request("ACK", ruri, 1, to_tag="btag", extra=route, branch="ack").encode(), PROXY)
check("the ACK reaches the callee", recv_sip(b_sip, "ACK ") != "")

# Media both ways; the stranger sprays both relay ports at the same time.
for i in range(20):
    a_rtp.sendto(rtp(i, b"A"), (A, ra))
    b_rtp.sendto(rtp(i, b"B"), (PUBLIC, rb))
    if not V6:
        stranger.sendto(rtp(i, b"X"), (A, ra))
        stranger.sendto(rtp(i, b"X"), (PUBLIC, rb))
    time.sleep(0.005)
at_b, at_a = drain(b_rtp), drain(a_rtp)
check("20 RTP packets from the caller reach the callee byte for byte (%d)" % len(at_b),
      len(at_b) == 20 and all(p == rtp(i, b"A") for i, p in enumerate(at_b)))
check("20 RTP packets from the callee reach the caller (%d)" % len(at_a),
      len(at_a) == 20 and all(p[12:13] == b"B" for p in at_a))
check("nothing the stranger sent got through (RTP Bleed)",
      all(b"X" not in p[12:] for p in at_a + at_b))
rr = bytes([0x80, 201, 0, 1, 1, 2, 3, 4])
a_rtcp.sendto(rr, (A, ra + 1))
got = drain(b_rtcp)
check("RTCP from the caller's odd port reaches the callee's RTCP port", got == [rr])

def sr(ssrc, ntp_s, ntp_f):
    # SR with no block, then SDES (a compound packet, RFC 3550 §6.1)
    return (bytes([0x80, 200, 0, 6]) + struct.pack(">IIIIII", ssrc, ntp_s, ntp_f, 3200, 20, 3200) +
            bytes([0x81, 202, 0, 2]) + struct.pack(">I", ssrc) + b"\x01\x01a\x00")


def rr_block(ssrc, about, lost, jitter, lsr, dlsr):
    return (bytes([0x81, 201, 0, 7]) + struct.pack(">II", ssrc, about) +
            bytes([8]) + lost.to_bytes(3, "big") + struct.pack(">IIII", 20, jitter, lsr, dlsr))


def recv_n(sock, n):
    got = []
    try:
        while len(got) < n:
            got.append(sock.recv(2048))
    except socket.timeout:
        pass
    return got


if mode == "quality":
    # round trips: caller's segment 50 - 10 = 40 ms, callee's 30 - 10 = 20 ms: 60 ms in all
    hold = int(0.010 * 65536)  # DLSR: each side held the SR 10 ms before reporting
    b_rtcp.sendto(sr(0xB, 0x1000, 0x20000000), (PUBLIC, rb + 1))
    check("the callee's SR reaches the caller's RTCP port", len(recv_n(a_rtcp, 1)) == 1)
    time.sleep(0.050)
    a_rtcp.sendto(rr_block(0xA, 0xB, 0, 160, 0x10002000, hold), (A, ra + 1))
    a_rtcp.sendto(sr(0xA, 0x3000, 0x40000000), (A, ra + 1))
    check("the caller's RR and SR reach the callee", len(recv_n(b_rtcp, 2)) == 2)
    time.sleep(0.030)
    b_rtcp.sendto(rr_block(0xB, 0xA, 2, 80, 0x30004000, hold), (PUBLIC, rb + 1))
    check("the callee's RR reaches the caller", len(recv_n(a_rtcp, 1)) == 1)

if mode in ("bye", "v6", "quality"):
    a_sip.sendto(request("BYE", ruri, 2, to_tag="btag", extra=route, branch="bye").encode(), PROXY)
    bye = recv_sip(b_sip, "BYE ")
    check("the BYE reaches the callee", bye != "")
    b_sip.sendto(response(bye, 200, "OK").encode(), PROXY)
    check("the caller gets 200 for the BYE", recv_sip(a_sip, "SIP/2.0 200") != "")
print("relay ports %d %d" % (ra, rb))
sys.exit(1 if failed else 0)
