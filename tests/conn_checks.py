#!/usr/bin/env python3
"""tests/conn_checks.py PORT: the connection limits and time-outs of a sipring started by
tests/test_conn_limits.sh with --max-connections 6 --max-connections-per-ip 3
--tcp-idle-timeout 10 --max-send-queue 65536, listening on tcp:127.0.0.1:PORT and
udp:127.0.0.1:PORT. Prints one line per finding, for the script to check:
  ok<i> <status>             connection i (of those within the limits) was served
  perip4 <closed|status>     a 4th connection from one address
  otherip <status>           a connection from another address meanwhile
  sixth <status>             the 6th connection in all
  total7 <closed|status>     a 7th connection in all
  freed <status>             a new one once one of the six closed
  idle <seconds>             a connection left silent was closed after this long
  slow <closed|open> <bytes> a peer that never reads was closed (bytes it had been sent)
  connect <status> <seconds> a request relayed to a TCP server that never completes the
                             handshake: the answer and how long it took
  icmp <statuses> <seconds>  INVITEs under several Call-IDs (so to both workers) to a UDP
                             port nobody listens on: the answers and the longest wait
"""
import socket
import sys
import threading
import time

port = int(sys.argv[1])
out_lock = threading.Lock()


def say(*a):
    with out_lock:
        print(*a, flush=True)


def options(src_ip, s, n, ruri=None):
    lp = s.getsockname()[1]
    ruri = ruri or f"sip:127.0.0.1:{port};transport=tcp"
    return (f"OPTIONS {ruri} SIP/2.0\r\nVia: SIP/2.0/TCP {src_ip}:{lp};branch=z9hG4bKcc{n}x{lp}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:c@{src_ip}>;tag=c{n}\r\nTo: <sip:127.0.0.1>\r\n"
            f"Call-ID: cc{n}-{src_ip}-{lp}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


def open_from(src_ip, n):
    """a connection from src_ip and one OPTIONS on it: (socket, status or 'closed')"""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src_ip, 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(options(src_ip, s, n))
        r = s.recv(65535)
        return s, (r.split(b" ")[1].decode() if r else "closed")
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return s, "closed"


def idle_phase():
    s, st = open_from("127.0.0.20", 100)
    t0 = time.time()
    s.settimeout(20)
    try:
        while s.recv(65535):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    say("idle", round(time.time() - t0, 1), st)


def slow_phase():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind(("127.0.0.21", 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(0.5)
    sent, closed = 0, False
    deadline = time.time() + 15
    while time.time() < deadline and not closed:
        try:
            s.sendall(b"".join(options("127.0.0.21", s, 1000 + i) for i in range(200)))
            sent += 200
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        except socket.timeout:
            # our sends block once sipring stops reading, or it closed: look
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                closed = err != 0
            except OSError:
                closed = True
    if not closed:
        # drain what sipring sent before closing: a close shows as EOF or a reset
        s.settimeout(3)
        try:
            while True:
                if not s.recv(1 << 20):
                    closed = True
                    break
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
    say("slow", "closed" if closed else "open", sent)


def final_answer(u, m):
    """sends request m to sipring from socket u: (the final status or "none", seconds taken)"""
    t0 = time.time()
    u.sendto(m, ("127.0.0.1", port))
    try:
        while True:
            r = u.recv(65535).split(b" ")[1].decode()
            if not r.startswith("1"):
                return r, time.time() - t0
    except socket.timeout:
        return "none", time.time() - t0


def connect_phase():
    # a TCP server whose accept queue is full: further handshakes never complete
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    dport = srv.getsockname()[1]
    fillers = []
    for _ in range(3):
        f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", dport))
        except BlockingIOError:
            pass
        fillers.append(f)
    time.sleep(0.3)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.settimeout(20)
    lp = u.getsockname()[1]
    m = (f"OPTIONS sip:x@127.0.0.1:{dport};transport=tcp SIP/2.0\r\n"
         f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bKccconnect{lp}\r\nMax-Forwards: 70\r\n"
         f"From: <sip:c@127.0.0.1>;tag=k\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ccconnect-{lp}\r\n"
         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
    status, took = final_answer(u, m)
    say("connect", status, round(took, 1))
    srv.close()


def icmp_phase():
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    dport = dead.getsockname()[1]
    dead.close()  # nothing listens there now: the kernel answers ICMP port unreachable
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.settimeout(10)
    lp = u.getsockname()[1]
    statuses, worst = [], 0.0
    for i in range(6):
        m = (f"INVITE sip:x@127.0.0.1:{dport} SIP/2.0\r\n"
             f"Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bKccicmp{i}x{lp}\r\n"
             "Max-Forwards: 70\r\n"
             f"From: <sip:c@127.0.0.1>;tag=i{i}\r\nTo: <sip:x@127.0.0.1>\r\n"
             f"Call-ID: ccicmp{i}-{lp}\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1>\r\n"
             "Content-Length: 0\r\n\r\n").encode()
        status, took = final_answer(u, m)
        statuses.append(status)
        worst = max(worst, took)
    say("icmp", ",".join(statuses), round(worst, 2))


idle = threading.Thread(target=idle_phase)
idle.start()
time.sleep(0.5)  # the idle connection counts too: 1 of the 6

held = []
for i in range(3):
    s, st = open_from("127.0.0.5", i)
    held.append(s)
    say(f"ok{i}", st)
s, st = open_from("127.0.0.5", 3)
say("perip4", st)
s.close()
time.sleep(0.3)
for n, ip in ((4, "127.0.0.6"), (5, "127.0.0.7")):
    s, st = open_from(ip, n)
    held.append(s)
    say("otherip" if n == 4 else "sixth", st)
s, st = open_from("127.0.0.8", 6)  # idle + 127.0.0.5 x3 + .6 + .7 = 6 already
say("total7", st)
s.close()
held[0].close()
time.sleep(0.5)
s, st = open_from("127.0.0.9", 7)
held.append(s)
say("freed", st)
for s in held:
    s.close()
time.sleep(0.5)
others = [threading.Thread(target=f) for f in (slow_phase, connect_phase, icmp_phase)]
for t in others:
    t.start()
for t in others + [idle]:
    t.join()
