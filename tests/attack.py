#!/usr/bin/env python3
"""tests/attack.py MODE ...: the attacker of tests/test_attack.sh (issue 13). It writes any
header, speaks UDP, TCP and TLS, and has many addresses (every one it is given is bound in
turn). Each mode prints "sent N" and what it saw; the shell script judges by what reached the
toll host, the inside recorder and the bindings, not by what this prints.

  relay EDGE ADDRS...        class 1: strict routes, our Route with any To tag, ours then
                             external, every method, UDP/TCP/TLS, sip:/sips:, IP and domain
  forged EDGE ADDRS...       class 4: 2xx/18x whose top Via names sipring over any second Via
  hijack EDGE ADDRS...       class 2: REGISTER / un-REGISTER of the PBX's AOR from the outside
  store EDGE N ADDRS...      class 5: N OPTIONS to silent0@DOMAIN per address, each with a new private Contact
  invite EDGE SECS RATE CALLEES ADDRS...
                             class 5: INVITEs with SDP to silent0..silent<CALLEES-1>@DOMAIN,
                             RATE per second from each address, for SECS seconds
  slow EDGE PORT CONNS SECS ADDRS...
                             class 5: CONNS TCP connections per address, one byte a second
"""
import socket
import ssl
import sys
import time

DOMAIN = "edge.test"
TOLL = "198.51.100.66"
INSIDE = "10.88.0.9"


def req(method, ruri, src, sport, transport, cid, routes="", to_tag="", extra="", body=""):
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/{transport} {src}:{sport};branch=z9hG4bK{cid}-{method};rport",
             "Max-Forwards: 70",
             f"From: <sip:mallory@{src}>;tag=m{cid}",
             f"To: <sip:+19005550100@{TOLL}>" + (f";tag={to_tag}" if to_tag else ""),
             f"Call-ID: {cid}", f"CSeq: 1 {method}",
             f"Contact: <sip:mallory@{src}:{sport}>"]
    if routes:
        lines.append("Route: " + routes)
    if extra:
        lines.append(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


class Sender:
    """one socket per (address, transport); streams connect once and stay open"""

    def __init__(self, edge):
        self.edge, self.socks, self.sent, self.codes = edge, {}, 0, []

    def sock(self, src, transport):
        key = (src, transport)
        if key in self.socks:
            return self.socks[key]
        if transport == "UDP":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((src, 5060))
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((src, 0))
            s.settimeout(3)
            s.connect((self.edge, 5061 if transport == "TLS" else 5060))
            if transport == "TLS":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(s)
            s.setblocking(False)
        self.socks[key] = s
        return s

    def send(self, src, transport, data):
        s = self.sock(src, transport)
        try:
            if transport == "UDP":
                s.sendto(data, (self.edge, 5060))
            else:
                s.sendall(data)
            self.sent += 1
        except (BlockingIOError, ssl.SSLWantWriteError, OSError):
            pass

    def drain(self):
        """reads what came back; returns the status codes seen so far"""
        codes = self.codes
        for s in self.socks.values():
            s.setblocking(False)
            while True:
                try:
                    d = s.recv(65535)
                except (BlockingIOError, ssl.SSLWantReadError, OSError):
                    break
                if not d:
                    break
                for part in d.split(b"SIP/2.0 ")[1:]:
                    codes.append(part[:3].decode(errors="replace"))
        return codes


def relay(edge, addrs):
    s = Sender(edge)
    methods = ["INVITE", "OPTIONS", "MESSAGE", "REGISTER", "SUBSCRIBE", "REFER", "BYE", "ACK",
               "INFO", "NOTIFY", "UPDATE", "PRACK"]
    us = [f"sip:{edge}", f"sip:{edge}:5060", f"sip:{edge};lr", f"sips:{edge}", f"sip:{DOMAIN}",
          f"sip:{edge};transport=tcp"]
    far = [f"sip:+19005550100@{TOLL}", f"sip:+19005550100@{TOLL};transport=tcp",
           f"sip:b@{INSIDE}", f"sips:+19005550100@{TOLL}"]
    routes = []
    for u in us:
        routes.append(f"<{u}>")                                     # ours, loose-ish
        routes.append(f"<{u};lr>")
        routes.append(f"<{u};lr;sr=0123456789ab.0123456789ab>")     # a made-up proof
        for f in far:
            routes.append(f"<{u};lr>, <{f};lr>")                    # ours then external
    n = 0
    for m in methods:
        for transport in ("UDP", "TCP", "TLS"):
            src = addrs[n % len(addrs)]
            # strict: the Request-URI names sipring, the last Route the target
            for u in us:
                for f in far:
                    n += 1
                    s.send(src, transport, req(m, u, src, 5060, transport, f"s{n}",
                                               routes=f"<{f}>", to_tag="t" if n % 2 else ""))
            # loose: far Request-URI with our Route (with or without a To tag)
            for f in far:
                for r in routes:
                    n += 1
                    s.send(src, transport, req(m, f, src, 5060, transport, f"l{n}", routes=r,
                                               to_tag="" if n % 3 == 0 else "x"))
            # no Route at all: an open relay by Request-URI
            for f in far:
                n += 1
                s.send(src, transport, req(m, f, src, 5060, transport, f"n{n}"))
            time.sleep(0.05)
            s.drain()
    time.sleep(1)
    codes = s.drain()
    print(f"sent {s.sent}; answers {len(codes)}: " +
          " ".join(f"{c}x{codes.count(c)}" for c in sorted(set(codes))))


def forged(edge, addrs):
    s = Sender(edge)
    n = 0
    for i, src in enumerate(addrs):
        for second in (f"{INSIDE}:5060", f"{TOLL}:5060", f"10.88.0.2:5060;received={INSIDE}"):
            for status in ("200 OK", "183 Session Progress", "180 Ringing"):
                n += 1
                branch = f"z9hG4bK{n}.0.0.{n:06x}.{n:012x}-{n:08x}"
                m = (f"SIP/2.0 {status}\r\nVia: SIP/2.0/UDP {edge}:5060;branch={branch}\r\n"
                     f"Via: SIP/2.0/UDP {second};branch=z9hG4bKv{n}\r\n"
                     f"From: <sip:a@{DOMAIN}>;tag=a\r\nTo: <sip:b@{TOLL}>;tag=b\r\n"
                     f"Call-ID: forged-{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:b@{TOLL}>\r\n"
                     "Content-Length: 0\r\n\r\n").encode()
                s.send(src, "UDP", m)
    time.sleep(0.5)
    print(f"sent {s.sent}; answers {len(s.drain())}")


def hijack(edge, addrs):
    s = Sender(edge)
    n = 0
    for src in addrs:
        for routes in ("", f"<sip:{edge};lr>", f"<sip:{DOMAIN};lr>"):
            for contact, expires in ((f"<sip:pbx@{src}:5060>", "3600"), ("*", "0")):
                for transport in ("UDP", "TCP"):
                    n += 1
                    m = req("REGISTER", f"sip:{DOMAIN}", src, 5060, transport, f"h{n}",
                            routes=routes, extra=f"Expires: {expires}").decode()
                    m = m.replace(f"To: <sip:+19005550100@{TOLL}>", f"To: <sip:pbx@{DOMAIN}>")
                    m = m.replace(f"Contact: <sip:mallory@{src}:5060>", f"Contact: {contact}")
                    s.send(src, transport, m.encode())
    time.sleep(1)
    codes = s.drain()
    print(f"sent {s.sent}; answers " + " ".join(f"{c}x{codes.count(c)}" for c in sorted(set(codes))))
    if "200" in codes:
        print("a REGISTER from the outside got 200")
        sys.exit(1)


def store(edge, per, addrs):
    s = Sender(edge)
    n = 0
    for k in range(per):
        for i, src in enumerate(addrs):
            n += 1
            m = req("OPTIONS", f"sip:silent0@{DOMAIN}", src, 5060, "UDP", f"o{n}").decode()
            m = m.replace(f"Contact: <sip:mallory@{src}:5060>",
                          f"Contact: <sip:x{n}@192.168.{k % 250}.{i % 250}:5060>")
            m = m.replace(f"Via: SIP/2.0/UDP {src}:5060", f"Via: SIP/2.0/UDP 192.168.{k % 250}.{i % 250}:5060")
            s.send(src, "UDP", m.encode())
        if k % 10 == 9:
            time.sleep(0.05)
            s.drain()
    time.sleep(0.5)
    s.drain()
    print(f"sent {s.sent}")


SDP = ("v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
       "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def invite(edge, secs, rate, callees, addrs):
    s = Sender(edge)
    n, t0 = 0, time.time()
    while time.time() - t0 < secs:
        for src in addrs:
            n += 1
            who = f"silent{n % callees}"
            m = req("INVITE", f"sip:{who}@{DOMAIN}", src, 5060, "UDP", f"i{n}",
                    body=SDP.format(ip=src)).decode()
            m = m.replace(f"To: <sip:+19005550100@{TOLL}>", f"To: <sip:{who}@{DOMAIN}>")
            s.send(src, "UDP", m.encode())
        s.drain()
        time.sleep(1.0 / rate)
    time.sleep(0.5)
    codes = s.drain()
    print(f"sent {s.sent}; answers " + " ".join(f"{c}x{codes.count(c)}" for c in sorted(set(codes))))


def slow(edge, port, conns, secs, addrs):
    socks = []
    for src in addrs:
        for _ in range(conns):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.bind((src, 0))
            c.settimeout(2)
            try:
                c.connect((edge, port))
                socks.append(c)
            except OSError:
                c.close()
    opened = len(socks)
    msg = f"OPTIONS sip:{edge} SIP/2.0\r\nVia: SIP/2.0/TCP x;branch=z9hG4bKslow\r\n".encode()
    t0, i = time.time(), 0
    while time.time() - t0 < secs:
        alive = []
        for c in socks:
            try:
                c.send(msg[i % len(msg):i % len(msg) + 1])
                alive.append(c)
            except OSError:
                c.close()
        socks = alive
        i += 1
        time.sleep(1)
    # a closed connection shows as EOF or reset on read
    still = 0
    for c in socks:
        c.setblocking(False)
        try:
            d = c.recv(100)
            still += d != b""
        except BlockingIOError:
            still += 1
        except OSError:
            pass
    print(f"opened {opened}; still open after {secs} s: {still}")


def main():
    mode, edge = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    if mode == "relay":
        relay(edge, rest)
    elif mode == "forged":
        forged(edge, rest)
    elif mode == "hijack":
        hijack(edge, rest)
    elif mode == "store":
        store(edge, int(rest[0]), rest[1:])
    elif mode == "invite":
        invite(edge, float(rest[0]), float(rest[1]), int(rest[2]), rest[3:])
    elif mode == "slow":
        slow(edge, int(rest[0]), int(rest[1]), float(rest[2]), rest[3:])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
