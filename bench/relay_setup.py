#!/usr/bin/env python3
"""bench/relay_setup.py: opens K relayed streams on a media relay and prints, one per line, the
relay port the sending side must send to. Every stream's caller announces 127.0.0.1:SRC and its
callee 127.0.0.1:SINK, so one socket sends all streams and one receives them.

  relay_setup.py sipring SIP_PORT K SRC SINK [BATCH [srtp]]   calls through sipring (INVITE/200/ACK)
  relay_setup.py rtpengine NG_PORT K SRC SINK [BATCH [srtp]]  offer/answer over rtpengine's ng protocol
BATCH names the Call-IDs, so that a second batch opens new sessions. With srtp the callee's leg
is SDES-SRTP (AES_CM_128_HMAC_SHA1_80) and the caller's plain RTP, so the relay encrypts every
packet the caller sends: for sipring the callee signals from 127.0.0.3, outside of its
--inside 127.0.0.1/32, and answers sipring's a=crypto:1; for rtpengine the offer asks for
RTP/SAVP towards the callee, who answers rtpengine's AES_CM_128_HMAC_SHA1_80 line.
"""
import os
import re
import socket
import sys

mode, port, k, src, sink = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
batch = sys.argv[6] if len(sys.argv) > 6 else "b0"
srtp = len(sys.argv) > 7 and sys.argv[7] in ("srtp", "srtp-rev")
# srtp-rev: the callee sends SRTP (from SRC) and the caller receives plain RTP (on SINK); the
# port printed is the one the callee sends to
rev = len(sys.argv) > 7 and sys.argv[7] == "srtp-rev"
caller_port, callee_port = (sink, src) if rev else (src, sink)
KEY = "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"


def sdp(media_port, sess, crypto_tag=0):
    """Plain RTP/AVP, or RTP/SAVP answering the offer's a=crypto line crypto_tag."""
    proto = "RTP/SAVP" if crypto_tag else "RTP/AVP"
    crypto = "a=crypto:%d AES_CM_128_HMAC_SHA1_80 %s\r\n" % (crypto_tag, KEY) if crypto_tag else ""
    return ("v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d %s 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n%s" % (sess, media_port, proto, crypto))


def crypto_tag(text, suite="AES_CM_128_HMAC_SHA1_80"):
    m = re.search(r"a=crypto:(\d+) %s " % suite, text)
    return int(m.group(1)) if m else 0


def media_port(text):
    m = re.search(r"m=audio (\d+) ", text)
    return int(m.group(1)) if m else 0


def bencode(x):
    if isinstance(x, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(x.items())) + b"e"
    if isinstance(x, list):
        return b"l" + b"".join(bencode(v) for v in x) + b"e"
    if isinstance(x, int):
        return b"i%de" % x
    b = x.encode() if isinstance(x, str) else x
    return b"%d:%s" % (len(b), b)


def via_sipring():
    caller = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    callee = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    caller.bind(("127.0.0.1", 0))
    callee.bind(("127.0.0.3" if srtp else "127.0.0.1", 0))
    caller.settimeout(5)
    callee.settimeout(5)
    cp, ep = caller.getsockname()[1], callee.getsockname()[1]
    cip = callee.getsockname()[0]
    for i in range(k):
        body = sdp(caller_port, i)
        inv = ("INVITE sip:b@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKb%d\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a%d\r\nTo: <sip:b@127.0.0.1>\r\n"
               "Call-ID: %s-%d\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:%d>\r\n"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
               % (cip, ep, cp, i, i, batch, i, cp, len(body), body))
        caller.sendto(inv.encode(), ("127.0.0.1", port))
        req = callee.recv(65535).decode()
        keep = [l for l in req.split("\r\n") if re.match(r"(?i)(via|from|call-id|cseq|record-route):", l)]
        body = sdp(callee_port, i, crypto_tag(req) if srtp else 0)
        if srtp and not crypto_tag(req):
            sys.exit("sipring offered no AES_CM_128_HMAC_SHA1_80 to the callee")
        ok = ("SIP/2.0 200 OK\r\n%s\r\nTo: <sip:b@127.0.0.1>;tag=b%d\r\nContact: <sip:b@%s:%d>\r\n"
              "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
              % ("\r\n".join(keep), i, cip, ep, len(body), body))
        callee.sendto(ok.encode(), ("127.0.0.1", port))
        while True:
            resp = caller.recv(65535).decode()
            if resp.startswith("SIP/2.0 200"):
                break
        ack = ("ACK sip:b@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKa%d\r\n"
               "Max-Forwards: 70\r\nRoute: <sip:127.0.0.1:%d;lr>\r\nFrom: <sip:a@127.0.0.1>;tag=a%d\r\n"
               "To: <sip:b@127.0.0.1>;tag=b%d\r\nCall-ID: %s-%d\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
               % (cip, ep, cp, i, port, i, i, batch, i))
        caller.sendto(ack.encode(), ("127.0.0.1", port))
        callee.recv(65535)
        print(media_port(req) if rev else media_port(resp))


def via_rtpengine():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)

    def ng(cmd):
        # rtpengine answers a repeated cookie from its cache: unique per batch and process
        cookie = b"c%s-%d-%d" % (batch.encode(), os.getpid(), ng.n)
        ng.n += 1
        s.sendto(cookie + b" " + bencode(cmd), ("127.0.0.1", port))
        reply = s.recv(65535)
        text = reply.split(b" ", 1)[1].decode(errors="replace")
        if "6:result2:ok" not in text:
            sys.exit("rtpengine: " + text[:200])
        return text
    ng.n = 0
    for i in range(k):
        # strict-source: rtpengine drops packets from anyone but the learned source, as its
        # experts run it against RTP Bleed (sipring's latching does the same)
        offer = {"command": "offer", "call-id": "%s-%d" % (batch, i), "from-tag": "a%d" % i,
                 "sdp": sdp(caller_port, i), "flags": ["strict-source"]}
        if srtp:
            offer["transport-protocol"] = "RTP/SAVP"
        out = ng(offer).replace("\\r\\n", "\n")
        tag = crypto_tag(out) if srtp else 0
        if srtp and not tag:
            sys.exit("rtpengine offered no AES_CM_128_HMAC_SHA1_80 to the callee")
        ans = ng({"command": "answer", "call-id": "%s-%d" % (batch, i), "from-tag": "a%d" % i,
                  "to-tag": "b%d" % i, "sdp": sdp(callee_port, i, tag), "flags": ["strict-source"]})
        print(media_port(out) if rev else media_port(ans.replace("\\r\\n", "\n")))


via_sipring() if mode == "sipring" else via_rtpengine()
