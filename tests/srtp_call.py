#!/usr/bin/env python3
"""tests/srtp_call.py: calls whose outside leg is SRTP, on loopback (issue 6).

  srtp_call.py pair P1 P2 BASE
      A (127.0.0.1, inside of sipring 1 on 127.0.0.1:P1) calls B (127.0.0.5, registered at
      sipring 2 on 127.0.0.5:P2 for the domain sr2.test); the two sipring see each other as
      outside, so the leg between them is SRTP both ways. A and B speak plain RTP/AVP only.
      RTP and RTCP both ways must arrive byte for byte; a re-INVITE rekeys and media goes on.
  srtp_call.py wire PCAP P1 P2 RANGE1 RANGE2 LOG...
      reads a capture of that call: the SIP between the two sipring carries RTP/SAVP and
      a=crypto, the re-INVITE new keys; the media between their relay ranges (LO-HI) is not the
      plaintext; no key from the wire appears in any LOG.
  srtp_call.py engine-out P1 BASE NG_PORT SUITE
      A calls out through sipring to a far side where rtpengine (ng protocol on 127.0.0.1:
      NG_PORT) terminates SRTP for a plain endpoint B: sipring's offer is decoded by rtpengine.
  srtp_call.py optional-plain P1 BASE
      with --srtp-outside optional, an outside answer without a=crypto gets plain RTP.
  srtp_call.py engine-in P1 BASE NG_PORT SUITE
      the far side calls A (registered at sipring for sr1.test) with an SRTP offer made by
      rtpengine; sipring answers it.
In the engine modes sipring runs with --srtp-suites SUITE and the call must use that suite.
Prints one ok/FAIL line per check and exits 1 on any failure. Every wait is bounded."""
import os
import re
import socket
import struct
import sys
import time

failed = False


def check(name, cond):
    global failed
    print(("ok   - " if cond else "FAIL - ") + name)
    failed |= not cond


def udp(ip, port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(3)
    return s


def recv_sip(sock, want, timeout=5):
    """The next SIP message whose first line matches want, skipping others (100 Trying)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            data, src = sock.recvfrom(65535)
        except socket.timeout:
            continue
        text = data.decode(errors="replace")
        if re.match(want, text):
            return text, src
    return "", None


def headers(msg, name):
    return [l.split(":", 1)[1].strip() for l in msg.split("\r\n")
            if l.lower().startswith(name.lower() + ":")]


def body(msg):
    return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""


def sdp(ip, port, version=1, proto="RTP/AVP"):
    return ("v=0\r\no=- 4711 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d %s 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" % (version, ip, ip, port, proto))


def media_of(text):
    """(address, port, profile, crypto lines) of the first m= line of an SDP."""
    m = re.search(r"^m=audio (\d+) (\S+)", text, re.M)
    c = re.findall(r"^c=IN IP4 (\S+)", text, re.M)
    return (c[-1] if c else "", int(m.group(1)) if m else 0, m.group(2) if m else "",
            re.findall(r"^a=crypto:(\d+) (\S+) inline:([^\s|]+)", text, re.M))


class UA:
    """A minimal UDP user agent: enough SIP for INVITE/ACK/re-INVITE/BYE through proxies."""

    def __init__(self, ip, port, user):
        self.ip, self.port, self.user = ip, port, user
        self.sock = udp(ip, port)
        self.n = 0

    def request(self, method, ruri, call_id, cseq, from_tag, to_uri, to_tag="", routes=(),
                sdp_body="", extra=""):
        self.n += 1
        to = "<%s>" % to_uri + (";tag=" + to_tag if to_tag else "")
        route = "".join("Route: %s\r\n" % r for r in routes)
        ctype = "Content-Type: application/sdp\r\n" if sdp_body else ""
        return ("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s%d%s;rport\r\n"
                "Max-Forwards: 70\r\n%sFrom: <sip:%s@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\n"
                "CSeq: %d %s\r\nContact: <sip:%s@%s:%d>\r\n%s%sContent-Length: %d\r\n\r\n%s"
                % (method, ruri, self.ip, self.port, self.user, self.n, method.lower(), route,
                   self.user, self.ip, from_tag, to, call_id, cseq, method, self.user, self.ip,
                   self.port, extra, ctype, len(sdp_body.encode()), sdp_body))

    def response(self, req, code, reason, to_tag, sdp_body=""):
        keep = [l for l in req.split("\r\n")[1:]
                if re.match(r"(?i)(via|from|call-id|cseq|record-route):", l)]
        to = "To: " + headers(req, "To")[0]
        if ";tag=" not in to:
            to += ";tag=" + to_tag
        ctype = "Content-Type: application/sdp\r\n" if sdp_body else ""
        return ("SIP/2.0 %d %s\r\n%s\r\n%s\r\nContact: <sip:%s@%s:%d>\r\n%sContent-Length: %d\r\n\r\n%s"
                % (code, reason, "\r\n".join(keep), to, self.user, self.ip, self.port, ctype,
                   len(sdp_body.encode()), sdp_body))

    def send(self, text, to):
        self.sock.sendto(text.encode(), to)


def register(ua, proxy, domain):
    ua.send(ua.request("REGISTER", "sip:%s" % domain, "reg-%s-%d" % (ua.user, ua.port), 1, "r1",
                       "sip:%s@%s" % (ua.user, domain), extra="Expires: 300\r\n"), proxy)
    ok, _ = recv_sip(ua.sock, r"SIP/2.0 200")
    check("%s registers at %s:%d" % (ua.user, proxy[0], proxy[1]), ok != "")


def rtp(seq, marker, ssrc):
    return bytes([0x80, 0, seq >> 8, seq & 255, 0, 0, seq >> 8, seq & 255]) + struct.pack(">I", ssrc) + marker * 160


def rtcp_sr(ssrc):
    return bytes([0x80, 200, 0, 6]) + struct.pack(">I", ssrc) + bytes(range(1, 21))


def drain(sock, want, timeout=2.0):
    got = []
    deadline = time.time() + timeout
    sock.settimeout(0.2)
    while len(got) < want and time.time() < deadline:
        try:
            got.append(sock.recv(4096))
        except socket.timeout:
            pass
    sock.settimeout(3)
    return got


def media_both_ways(name, a_rtp, a_dst, b_rtp, b_dst, first_seq, a_rtcp=None, a_rtcp_dst=None,
                    b_rtcp=None, b_rtcp_dst=None):
    """20 RTP packets each way (and one RTCP SR each way if given); each side must receive
    exactly what the other sent."""
    sent_a = [rtp(first_seq + i, b"A", 0xA0A0A0A0) for i in range(20)]
    sent_b = [rtp(first_seq + i, b"B", 0xB0B0B0B0) for i in range(20)]
    for pa, pb in zip(sent_a, sent_b):
        a_rtp.sendto(pa, a_dst)
        b_rtp.sendto(pb, b_dst)
        time.sleep(0.004)
    at_b, at_a = drain(b_rtp, 20), drain(a_rtp, 20)
    check("%s: 20 RTP packets from A reach B byte for byte (%d)" % (name, len(at_b)), at_b == sent_a)
    check("%s: 20 RTP packets from B reach A byte for byte (%d)" % (name, len(at_a)), at_a == sent_b)
    if a_rtcp is not None:
        sa, sb = rtcp_sr(0xA0A0A0A0), rtcp_sr(0xB0B0B0B0)
        a_rtcp.sendto(sa, a_rtcp_dst)
        b_rtcp.sendto(sb, b_rtcp_dst)
        got_b, got_a = drain(b_rtcp, 1), drain(a_rtcp, 1)
        check("%s: RTCP both ways byte for byte" % name, got_b == [sa] and got_a == [sb])


def contact_uri(msg):
    """The remote target a 2xx names: in-dialog requests go there (RFC 3261 §12.1.2)."""
    c = headers(msg, "Contact") or headers(msg, "m")
    m = re.search(r"<([^>]+)>", c[0]) if c else None
    return m.group(1) if m else ""


def route_set(msg, reverse):
    rr = []
    for h in headers(msg, "Record-Route"):
        rr += [x.strip() for x in h.split(",")]
    return rr[::-1] if reverse else rr


def pair(p1, p2, base):
    s1, s2 = ("127.0.0.1", p1), ("127.0.0.5", p2)
    a = UA("127.0.0.1", base, "a")
    b = UA("127.0.0.5", base + 1, "b")
    a_rtp, a_rtcp = udp("127.0.0.1", base + 10), udp("127.0.0.1", base + 11)
    b_rtp, b_rtcp = udp("127.0.0.5", base + 12), udp("127.0.0.5", base + 13)
    register(b, s2, "sr2.test")
    call_id = "srtp-pair-%d" % base
    ruri, to_uri = "sip:b@sr2.test", "sip:b@sr2.test"
    a.send(a.request("INVITE", ruri, call_id, 1, "atag", to_uri,
                     sdp_body=sdp("127.0.0.1", base + 10)), s1)
    inv, _ = recv_sip(b.sock, "INVITE ")
    check("the INVITE crosses both sipring to B", inv != "")
    ip_b, rb, proto_b, crypto_b = media_of(body(inv))
    check("B is offered plain RTP/AVP without a=crypto (%s, %d lines)" % (proto_b, len(crypto_b)),
          proto_b == "RTP/AVP" and not crypto_b)
    b.send(b.response(inv, 200, "OK", "btag", sdp("127.0.0.5", base + 12)), s2)
    ok, _ = recv_sip(a.sock, r"SIP/2.0 200")
    ip_a, ra, proto_a, crypto_a = media_of(body(ok))
    check("A gets a plain RTP/AVP answer without a=crypto (%s, %d lines)" % (proto_a, len(crypto_a)),
          ok != "" and proto_a == "RTP/AVP" and not crypto_a)
    routes = route_set(ok, True)
    ruri = contact_uri(ok)
    a.send(a.request("ACK", ruri, call_id, 1, "atag", to_uri, "btag", routes), s1)
    check("the ACK reaches B", recv_sip(b.sock, "ACK ")[0] != "")
    media_both_ways("first offer", a_rtp, (ip_a, ra), b_rtp, (ip_b, rb), 1000,
                    a_rtcp, (ip_a, ra + 1), b_rtcp, (ip_b, rb + 1))

    # re-INVITE from A: both sipring rekey the outside leg; media must go on both ways
    a.send(a.request("INVITE", ruri, call_id, 2, "atag", to_uri, "btag", routes,
                     sdp_body=sdp("127.0.0.1", base + 10, 2)), s1)
    reinv, _ = recv_sip(b.sock, "INVITE ")
    check("the re-INVITE reaches B", reinv != "")
    ip_b, rb, proto_b, crypto_b = media_of(body(reinv))
    check("B's re-INVITE is plain too", proto_b == "RTP/AVP" and not crypto_b)
    b.send(b.response(reinv, 200, "OK", "btag", sdp("127.0.0.5", base + 12, 2)), s2)
    ok2, _ = recv_sip(a.sock, r"SIP/2.0 200")
    ip_a, ra, _, _ = media_of(body(ok2))
    a.send(a.request("ACK", ruri, call_id, 2, "atag", to_uri, "btag", routes), s1)
    recv_sip(b.sock, "ACK ")
    media_both_ways("after the re-INVITE", a_rtp, (ip_a, ra), b_rtp, (ip_b, rb), 1020)

    a.send(a.request("BYE", ruri, call_id, 3, "atag", to_uri, "btag", routes), s1)
    bye, _ = recv_sip(b.sock, "BYE ")
    check("the BYE reaches B", bye != "")
    b.send(b.response(bye, 200, "OK", "btag"), s2)
    check("A gets 200 for the BYE", recv_sip(a.sock, r"SIP/2.0 200")[0] != "")


def pcap_udp(path):
    """(src port, dst port, payload) of every IPv4 UDP packet of a Linux loopback capture."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    link = struct.unpack(end + "I", data[20:24])[0]
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ip = pkt[14:] if link == 1 else pkt[16:] if link == 113 else pkt[4:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp_ = ip[(ip[0] & 15) * 4:]
        sport, dport = struct.unpack(">HH", udp_[:4])
        out.append((sport, dport, udp_[8:]))
    return out


def wire(path, p1, p2, range1, range2, logs):
    lo1, hi1 = map(int, range1.split("-"))
    lo2, hi2 = map(int, range2.split("-"))
    pkts = pcap_udp(path)
    sip_ = [p.decode(errors="replace") for s, d, p in pkts if {s, d} == {p1, p2}]
    invites = [m for m in sip_ if m.startswith("INVITE ")]
    answers = [m for m in sip_ if m.startswith("SIP/2.0 200") and "CSeq: 1 INVITE" in m or
               m.startswith("SIP/2.0 200") and "CSeq: 2 INVITE" in m]
    check("the capture holds the INVITE and re-INVITE between the two sipring (%d)" % len(invites),
          len(invites) >= 2)
    offers = [media_of(body(m)) for m in invites[:2]]
    check("both offers on the outside are RTP/SAVP with a=crypto for the configured suites",
          all(o[2] == "RTP/SAVP" and len(o[3]) >= 1 for o in offers))
    check("the re-INVITE offers new keys",
          len(offers) == 2 and set(c[2] for c in offers[0][3]).isdisjoint(c[2] for c in offers[1][3]))
    check("the answers on the outside carry one a=crypto line each (%d)" % len(answers),
          answers and all(len(media_of(body(m))[3]) == 1 and media_of(body(m))[2] == "RTP/SAVP"
                          for m in answers))
    media = [p for s, d, p in pkts if (lo1 <= s <= hi1 and lo2 <= d <= hi2) or
             (lo2 <= s <= hi2 and lo1 <= d <= hi1)]
    plain = [p for p in media if b"A" * 16 in p or b"B" * 16 in p or bytes(range(1, 21)) in p]
    check("media crossed the outside leg (%d packets)" % len(media), len(media) >= 80)
    check("no packet on the outside leg carries the plaintext payload (%d do)" % len(plain),
          not plain)
    keys = set()
    for m in sip_:
        keys.update(c[2] for c in media_of(body(m))[3])
    text = "".join(open(f, errors="replace").read() for f in logs)
    check("no key from the wire appears in sipring's logs (%d keys)" % len(keys),
          keys and not any(k in text or k[:20] in text for k in keys))


def bencode(x):
    if isinstance(x, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(x.items())) + b"e"
    if isinstance(x, list):
        return b"l" + b"".join(bencode(v) for v in x) + b"e"
    if isinstance(x, int):
        return b"i%de" % x
    b = x.encode() if isinstance(x, str) else x
    return b"%d:%s" % (len(b), b)


def bdecode(b, i=0):
    c = b[i:i + 1]
    if c == b"d" or c == b"l":
        i += 1
        items = []
        while b[i:i + 1] != b"e":
            v, i = bdecode(b, i)
            items.append(v)
        return (dict(zip(items[::2], items[1::2])) if c == b"d" else items), i + 1
    if c == b"i":
        e = b.index(b"e", i)
        return int(b[i + 1:e]), e + 1
    colon = b.index(b":", i)
    n = int(b[i:colon])
    return b[colon + 1:colon + 1 + n].decode(errors="replace"), colon + 1 + n


class Engine:
    """rtpengine's ng control protocol: offer and answer, each returning the rewritten SDP."""

    def __init__(self, port):
        self.sock = udp("127.0.0.1")
        self.to = ("127.0.0.1", port)
        self.n = 0

    def cmd(self, d):
        self.n += 1
        # rtpengine answers a repeated cookie from its cache: unique per process and command
        cookie = b"t%d-%d-%d" % (os.getpid(), int(time.time() * 1000), self.n)
        self.sock.sendto(cookie + b" " + bencode(d), self.to)
        reply = self.sock.recv(65535)
        r, _ = bdecode(reply.split(b" ", 1)[1])
        if r.get("result") != "ok":
            check("rtpengine %s: %s" % (d["command"], r.get("error-reason", r)), False)
            sys.exit(1)
        return r["sdp"]


def engine_offer(eng, cmd, call_id, from_tag, to_tag, text, proto):
    d = {"command": cmd, "call-id": call_id, "from-tag": from_tag, "sdp": text,
         "transport-protocol": proto, "ICE": "remove", "replace": ["origin", "session-connection"],
         "flags": ["trust-address"]}
    if to_tag:
        d["to-tag"] = to_tag
    return eng.cmd(d)


def engine_out(p1, base, ng_port, suite):
    """A (inside) calls out; at the far side rtpengine turns sipring's SRTP into plain RTP for B."""
    s1 = ("127.0.0.1", p1)
    a = UA("127.0.0.1", base, "a")
    far = UA("127.0.0.3", base + 1, "b")
    a_rtp, a_rtcp = udp("127.0.0.1", base + 10), udp("127.0.0.1", base + 11)
    b_rtp, b_rtcp = udp("127.0.0.3", base + 12), udp("127.0.0.3", base + 13)
    eng = Engine(ng_port)
    call_id = "srtp-out-%d" % base
    ruri = "sip:b@127.0.0.3:%d" % (base + 1)
    a.send(a.request("INVITE", ruri, call_id, 1, "atag", ruri, sdp_body=sdp("127.0.0.1", base + 10)), s1)
    inv, _ = recv_sip(far.sock, "INVITE ")
    _, _, proto, crypto = media_of(body(inv))
    check("%s: sipring offers RTP/SAVP with a=crypto %s outside (%s)" % (suite, suite, crypto and crypto[0][1]),
          proto == "RTP/SAVP" and [c[1] for c in crypto] == [suite])
    plain_for_b = engine_offer(eng, "offer", call_id, "atag", "", body(inv), "RTP/AVP")
    e_ip, e_port, e_proto, _ = media_of(plain_for_b)
    secure_answer = engine_offer(eng, "answer", call_id, "atag", "btag", sdp("127.0.0.3", base + 12),
                                 "RTP/SAVP")
    _, _, ans_proto, ans_crypto = media_of(secure_answer)
    check("%s: rtpengine answers RTP/SAVP with one a=crypto of that suite (%s)" %
          (suite, ans_crypto and ans_crypto[0][1]),
          ans_proto == "RTP/SAVP" and [c[1] for c in ans_crypto] == [suite])
    far.send(far.response(inv, 200, "OK", "btag", secure_answer), s1)
    ok, _ = recv_sip(a.sock, r"SIP/2.0 200")
    ip_a, ra, proto_a, crypto_a = media_of(body(ok))
    check("%s: A gets plain RTP/AVP without a=crypto" % suite, proto_a == "RTP/AVP" and not crypto_a)
    to_uri, ruri = ruri, contact_uri(ok)
    a.send(a.request("ACK", ruri, call_id, 1, "atag", to_uri, "btag", route_set(ok, True)), s1)
    media_both_ways("%s via rtpengine" % suite, a_rtp, (ip_a, ra), b_rtp, (e_ip, e_port), 2000,
                    a_rtcp, (ip_a, ra + 1), b_rtcp, (e_ip, e_port + 1))
    a.send(a.request("BYE", ruri, call_id, 2, "atag", to_uri, "btag", route_set(ok, True)), s1)
    bye, _ = recv_sip(far.sock, "BYE ")
    far.send(far.response(bye, 200, "OK", "btag"), s1)


def engine_in(p1, base, ng_port, suite):
    """The far side calls A with SRTP offered by rtpengine for its plain endpoint B."""
    s1 = ("127.0.0.1", p1)
    a = UA("127.0.0.1", base, "a")
    far = UA("127.0.0.3", base + 1, "b")
    a_rtp, a_rtcp = udp("127.0.0.1", base + 10), udp("127.0.0.1", base + 11)
    b_rtp, b_rtcp = udp("127.0.0.3", base + 12), udp("127.0.0.3", base + 13)
    eng = Engine(ng_port)
    register(a, s1, "sr1.test")
    call_id = "srtp-in-%d" % base
    ruri = "sip:a@sr1.test"
    offer = engine_offer(eng, "offer", call_id, "btag", "", sdp("127.0.0.3", base + 12), "RTP/SAVP")
    _, _, o_proto, o_crypto = media_of(offer)
    check("%s: rtpengine offers RTP/SAVP with %d a=crypto lines" % (suite, len(o_crypto)),
          o_proto == "RTP/SAVP" and suite in [c[1] for c in o_crypto])
    far.send(far.request("INVITE", ruri, call_id, 1, "btag", ruri, sdp_body=offer), s1)
    inv, _ = recv_sip(a.sock, "INVITE ")
    ip_a, ra, proto_a, crypto_a = media_of(body(inv))
    check("%s: A is offered plain RTP/AVP without a=crypto" % suite,
          inv != "" and proto_a == "RTP/AVP" and not crypto_a)
    a.send(a.response(inv, 200, "OK", "atag", sdp("127.0.0.1", base + 10)), s1)
    ok, _ = recv_sip(far.sock, r"SIP/2.0 200")
    _, _, ans_proto, ans_crypto = media_of(body(ok))
    check("%s: sipring answers RTP/SAVP with one a=crypto of that suite (%s)" %
          (suite, ans_crypto and ans_crypto[0][1]),
          ans_proto == "RTP/SAVP" and [c[1] for c in ans_crypto] == [suite])
    plain_for_b = engine_offer(eng, "answer", call_id, "btag", "atag", body(ok), "RTP/AVP")
    e_ip, e_port, _, _ = media_of(plain_for_b)
    routes = route_set(ok, True)
    to_uri, ruri = ruri, contact_uri(ok)
    far.send(far.request("ACK", ruri, call_id, 1, "btag", to_uri, "atag", routes), s1)
    recv_sip(a.sock, "ACK ")
    media_both_ways("%s from rtpengine" % suite, a_rtp, (ip_a, ra), b_rtp, (e_ip, e_port), 3000,
                    a_rtcp, (ip_a, ra + 1), b_rtcp, (e_ip, e_port + 1))
    far.send(far.request("BYE", ruri, call_id, 2, "btag", to_uri, "atag", routes), s1)
    bye, _ = recv_sip(a.sock, "BYE ")
    a.send(a.response(bye, 200, "OK", "atag"), s1)


def optional_plain(p1, base):
    """--srtp-outside optional: sipring offers best-effort SRTP (RTP/AVP with a=crypto); a far
    side that answers plain RTP/AVP without a=crypto gets plain RTP, byte for byte."""
    s1 = ("127.0.0.1", p1)
    a = UA("127.0.0.1", base, "a")
    far = UA("127.0.0.3", base + 1, "b")
    a_rtp = udp("127.0.0.1", base + 10)
    b_rtp = udp("127.0.0.3", base + 12)
    call_id = "srtp-opt-%d" % base
    ruri = "sip:b@127.0.0.3:%d" % (base + 1)
    a.send(a.request("INVITE", ruri, call_id, 1, "atag", ruri, sdp_body=sdp("127.0.0.1", base + 10)), s1)
    inv, _ = recv_sip(far.sock, "INVITE ")
    ip_s, port_s, proto, crypto = media_of(body(inv))
    check("optional: the outside is offered RTP/AVP with %d a=crypto lines (best effort)" % len(crypto),
          proto == "RTP/AVP" and len(crypto) == 4)
    far.send(far.response(inv, 200, "OK", "btag", sdp("127.0.0.3", base + 12)), s1)
    ok, _ = recv_sip(a.sock, r"SIP/2.0 200")
    ip_a, ra, proto_a, crypto_a = media_of(body(ok))
    check("optional: A gets the plain answer", proto_a == "RTP/AVP" and not crypto_a)
    to_uri, ruri = ruri, contact_uri(ok)
    a.send(a.request("ACK", ruri, call_id, 1, "atag", to_uri, "btag", route_set(ok, True)), s1)
    media_both_ways("optional, answered plain", a_rtp, (ip_a, ra), b_rtp, (ip_s, port_s), 4000)


mode = sys.argv[1]
if mode == "pair":
    pair(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
elif mode == "wire":
    wire(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7:])
elif mode == "engine-out":
    engine_out(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
elif mode == "optional-plain":
    optional_plain(int(sys.argv[2]), int(sys.argv[3]))
elif mode == "engine-in":
    engine_in(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
sys.exit(1 if failed else 0)
