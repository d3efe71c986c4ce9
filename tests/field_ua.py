#!/usr/bin/env python3
"""tests/field_ua.py: drives real user agents for the field test bed (tests/test_field.sh).

baresip is driven through its ctrl_tcp module (netstring-framed JSON commands, events on the
same connection); the socket is opened inside the phone's network namespace (setns), so one
process drives phones in several namespaces. Each scenario prints one line per check,
"ok   - ..." or "FAIL - ...", and exits 1 when any failed.

usage: field_ua.py call CALLER CALLEE TARGET --seconds S --hangup caller|callee
                        [--hold] [--dtmf] [--ns-a NS --ns-b NS] [--relay-ns NS]
       CALLER/CALLEE: NETNS:CTRL_ADDR:PORT:NAME
"""
import argparse
import ctypes
import json
import os
import select
import socket
import subprocess
import sys
import time

failed = 0


def check(name, cond):
    global failed
    print(("ok   - " if cond else "FAIL - ") + name, flush=True)
    if not cond:
        failed += 1
    return cond


CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def in_netns(ns, fn):
    """runs fn() with this thread in network namespace ns, then returns to the old one (a
    socket stays in the namespace it was made in)"""
    old = os.open("/proc/self/ns/net", os.O_RDONLY)
    new = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        setns(new)
        return fn()
    finally:
        setns(old)
        os.close(old)
        os.close(new)


class Baresip:
    def __init__(self, spec):
        self.ns, host, port, self.name = spec.split(":")
        self.sock = in_netns(self.ns, lambda: socket.create_connection((host, int(port)), 5))
        self.buf = b""
        self.events = []
        self.token = 0

    def _read(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError(self.name + ": control connection closed")
        self.buf += data
        while True:
            colon = self.buf.find(b":")
            if colon < 0:
                break
            n = int(self.buf[:colon])
            if len(self.buf) < colon + 1 + n + 1:
                break
            msg = json.loads(self.buf[colon + 1:colon + 1 + n])
            self.buf = self.buf[colon + 1 + n + 1:]
            self.events.append((time.time(), msg))
        return True

    def cmd(self, command, params=""):
        self.token += 1
        tok = str(self.token)
        body = json.dumps({"command": command, "params": params, "token": tok}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")
        end = time.time() + 5
        while time.time() < end:
            for _, m in self.events:
                if m.get("response") and m.get("token") == tok:
                    self.events.remove((_, m))
                    return m
            self._read(0.2)
        raise RuntimeError("%s: no answer to %s" % (self.name, command))

    def wait(self, etype, timeout, since=0.0):
        """the first event of etype after `since` within timeout s, or None"""
        end = time.time() + timeout
        while True:
            for t, m in self.events:
                if t >= since and m.get("event") and m.get("type") == etype:
                    return m
            left = end - time.time()
            if left <= 0:
                return None
            self._read(min(left, 0.2))

    def pump(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            self._read(min(0.2, end - time.time()))

    def seen(self, etype, since=0.0):
        return [m for t, m in self.events if t >= since and m.get("event") and m.get("type") == etype]


def pump_all(uas, seconds):
    end = time.time() + seconds
    while time.time() < end:
        for u in uas:
            u._read(0.05)


def counter(ns, name):
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "counter", "inet",
                          "srcount", name], capture_output=True, text=True).stdout
    for tok in out.split("packets")[1:]:
        return int(tok.split()[0])
    return 0


def counters(ns_a, ns_b):
    return counter(ns_a, "rtp"), counter(ns_b, "rtp")


def relay_sockets(ns):
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-uanp"], capture_output=True,
                         text=True).stdout
    n = 0
    for line in out.splitlines():
        if "sipring" not in line:
            continue
        port = int(line.split()[3].rsplit(":", 1)[1])
        if 30000 <= port <= 30999:
            n += 1
    return n


def window(a, b, ns_a, ns_b, seconds):
    """RTP packets that reached each phone's namespace from the relay during `seconds`"""
    a0, b0 = counters(ns_a, ns_b)
    pump_all([a, b], seconds)
    a1, b1 = counters(ns_a, ns_b)
    return a1 - a0, b1 - b0


def scenario_call(args):
    a = Baresip(args.caller)
    b = Baresip(args.callee)
    ns_a, ns_b = a.ns, b.ns
    start = time.time()
    r = a.cmd("dial", args.target)
    check("%s dials %s (%s)" % (a.name, args.target, r.get("data", "")[:60]), r.get("ok"))
    inc = b.wait("CALL_INCOMING", 15, start)
    if not check("%s rings" % b.name, inc is not None):
        return
    r = b.cmd("accept")
    est_b = b.wait("CALL_ESTABLISHED", 10, start)
    est_a = a.wait("CALL_ESTABLISHED", 10, start)
    if not check("the call is established at both ends", est_a is not None and est_b is not None):
        return
    setup = time.time() - start
    print("# set up in %.1f s" % setup, flush=True)
    # 50 packets/s each way: a 4 s window carries about 200; 150 leaves room for jitter
    pa, pb = window(a, b, ns_a, ns_b, 4)
    check("audio both ways: %d packets reached %s, %d reached %s in 4 s" % (pa, a.name, pb, b.name),
          pa >= 150 and pb >= 150)
    elapsed_start = time.time()
    if args.dtmf:
        t0 = time.time()
        a.cmd("sndcode", "5")
        pump_all([a, b], 1.0)
        b.cmd("sndcode", "9")
        pump_all([a, b], 1.5)
        got_b = [m.get("param") for m in b.seen("CALL_DTMF_START", t0)]
        got_a = [m.get("param") for m in a.seen("CALL_DTMF_START", t0)]
        check("RFC 4733 DTMF both ways: %s got %s, %s got %s" % (b.name, got_b, a.name, got_a),
              "5" in got_b and "9" in got_a)
    if args.hold:
        for holder, other in ((a, b), (b, a)):
            r = holder.cmd("hold")
            pump_all([a, b], 1.5)
            ph_a, ph_b = window(a, b, ns_a, ns_b, 3)
            held_to = ph_b if holder is a else ph_a
            check("%s holds (%s): %d packets reached %s in 3 s" % (holder.name, r.get("ok"),
                                                                  held_to, other.name),
                  r.get("ok") and held_to <= 10)
            r = holder.cmd("resume")
            pump_all([a, b], 1.5)
            pa, pb = window(a, b, ns_a, ns_b, 3)
            check("%s resumes: audio both ways again (%d at %s, %d at %s in 3 s)" %
                  (holder.name, pa, a.name, pb, b.name), r.get("ok") and pa >= 100 and pb >= 100)
    # hold the call past 64*T1 = 32 s: a lost ACK would end it then
    rest = args.seconds - (time.time() - start)
    pump_all([a, b], max(rest - 4, 0))
    pa, pb = window(a, b, ns_a, ns_b, 4)
    closed = a.seen("CALL_CLOSED", start) + b.seen("CALL_CLOSED", start)
    check("after %.0f s the call is still up (no side closed it: %s) and audio flows (%d, %d)"
          % (time.time() - start, [m.get("param") for m in closed], pa, pb),
          not closed and pa >= 150 and pb >= 150)
    hanger, other = (a, b) if args.hangup == "caller" else (b, a)
    t_bye = time.time()
    hanger.cmd("hangup")
    cl_other = other.wait("CALL_CLOSED", 10, t_bye)
    cl_hanger = hanger.wait("CALL_CLOSED", 10, t_bye)
    check("%s hangs up: %s sees the call closed (%s)" % (hanger.name, other.name,
                                                        cl_other and cl_other.get("param")),
          cl_other is not None and cl_hanger is not None)
    pump_all([a, b], 1.2)
    if args.relay_ns:
        n = relay_sockets(args.relay_ns)
        check("1 s after the BYE sipring holds no relay socket (%d)" % n, n == 0)
    print("# call lasted %.1f s" % (t_bye - start), flush=True)


def scenario_tone(wav_path, want_hz):
    """the tone a phone decoded: the median of zero-crossing estimates over the loud 0.25 s
    chunks of its sndfile dump (hold leaves silent ones); within 5 % of the far phone's"""
    import array
    import wave
    if not wav_path:
        check("a decoded-audio dump exists", False)
        return
    with wave.open(wav_path) as w:
        rate, ch = w.getframerate(), w.getnchannels()
        data = array.array("h", w.readframes(w.getnframes()))[::ch]
    n = rate // 4
    est = []
    for i in range(0, len(data) - n, n):
        c = data[i:i + n]
        if max(abs(x) for x in c) < 1000:
            continue
        z = sum(1 for a, b in zip(c, c[1:]) if (a < 0) != (b < 0))
        est.append(z / 2 / (n / rate))
    est.sort()
    hz = est[len(est) // 2] if est else 0
    check("%s: the far phone's %d Hz tone arrived (%.0f Hz over %d loud chunks of %.1f s)" %
          (wav_path.split("/")[-2], want_hz, hz, len(est), len(data) / rate),
          abs(hz - want_hz) <= want_hz * 0.05 and len(est) >= 8)


def scenario_bodiless(capture, agent):
    """whether the REGISTERs of `agent` in a tcpdump -A capture came without Content-Length"""
    import re
    blocks = re.split(r"\n(?=\d\d:\d\d:\d\d\.\d+ IP )", open(capture, errors="replace").read())
    regs = [b for b in blocks if "REGISTER sip:" in b and agent in b]
    with_cl = [b for b in regs if re.search(r"(?im)^(content-length|l)\s*:", b)]
    check("%s's REGISTERs (%d) came without Content-Length (%d with)" % (agent, len(regs),
                                                                        len(with_cl)),
          len(regs) >= 1 and not with_cl)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "bodiless":
        scenario_bodiless(sys.argv[2], sys.argv[3])
        sys.exit(1 if failed else 0)
    if len(sys.argv) == 4 and sys.argv[1] == "tone":
        scenario_tone(sys.argv[2], int(sys.argv[3]))
        sys.exit(1 if failed else 0)
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["call"])
    ap.add_argument("caller")
    ap.add_argument("callee")
    ap.add_argument("target")
    ap.add_argument("--seconds", type=float, default=41)
    ap.add_argument("--hangup", choices=["caller", "callee"], default="caller")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--dtmf", action="store_true")
    ap.add_argument("--relay-ns")
    args = ap.parse_args()
    try:
        scenario_call(args)
    except Exception as e:  # a dead control connection is a failed check, not a traceback
        check("scenario ran to its end (%s)" % e, False)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
