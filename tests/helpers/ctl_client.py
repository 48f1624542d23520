#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Hostile clients of the agent's control socket, for tests/e2e/test-ctl-hostile.sh.

ctl_client.py SOCKET MODE [options]

  dead-peer --uid U   drop to uid U; a child connects and exits; print its pid,
                      then send each stdin line over the inherited connection
                      and print the one reply line
  self --uid U        drop to uid U, connect, print our pid, then send each
                      stdin line with PID replaced by it and print the reply
  idle --uids A,B --per-uid N --hold S
                      open N connections as each uid (effective uid, as
                      SO_PEERCRED reports it), send nothing; print
                      "opened A refused R", then "closed A" once the agent has
                      closed every accepted one (or nothing after S seconds)
  no-read --line L --seconds S
                      send L as fast as possible, never read; print "dropped"
                      when the agent closes the connection, "deadline" after S
  flood --line L --seconds S
                      send L as fast as possible and read every reply; print
                      "replies N open" after S, or "replies N dropped" when
                      the agent closed the connection first
  pipeline --count N  send N lines at once (requests and garbage), then one
                      without a newline and EOF; check exactly N + 1 replies
"""
import argparse
import json
import os
import select
import socket
import sys
import threading
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def drop_to(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def dead_peer(a):
    drop_to(a.uid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    child = os.fork()
    if child == 0:
        # the peer the agent sees is this child: it connects and is gone
        s.connect(a.socket)
        os._exit(0)
    os.waitpid(child, 0)
    print(child, flush=True)
    f = s.makefile("rb")
    for line in sys.stdin:
        s.sendall(line.encode() if line.endswith("\n") else (line + "\n").encode())
        print(f.readline().decode().rstrip("\n"), flush=True)


def self_peer(a):
    drop_to(a.uid)
    s = connect(a.socket)
    print(os.getpid(), flush=True)
    f = s.makefile("rb")
    for line in sys.stdin:
        s.sendall(line.rstrip("\n").replace("PID", str(os.getpid())).encode() + b"\n")
        print(f.readline().decode().rstrip("\n"), flush=True)


def idle(a):
    socks = []
    for uid in (int(u) for u in a.uids.split(",")):
        os.seteuid(uid)
        try:
            for _ in range(a.per_uid):
                socks.append(connect(a.socket))
        finally:
            os.seteuid(0)
    # a refused client gets one error line and EOF at once
    time.sleep(1.0)
    accepted, refused = [], 0
    for s in socks:
        r, _, _ = select.select([s], [], [], 0)
        if r:
            refused += 1
            s.close()
        else:
            accepted.append(s)
    print(f"opened {len(accepted)} refused {refused}", flush=True)
    end = time.monotonic() + a.hold
    open_ = set(accepted)
    while open_ and time.monotonic() < end:
        r, _, _ = select.select(list(open_), [], [], 0.2)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                open_.discard(s)
                s.close()
    if not open_:
        print(f"closed {len(accepted)}", flush=True)


def no_read(a):
    s = connect(a.socket)
    s.settimeout(0.2)
    data = (a.line + "\n").encode() * 256
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        try:
            s.send(data)
        except socket.timeout:
            continue
        except OSError:
            print("dropped", flush=True)
            return
    print("deadline", flush=True)


def flood(a):
    s = connect(a.socket)
    data = (a.line + "\n").encode() * 64
    end = time.monotonic() + a.seconds
    state = {"replies": 0, "eof": False}

    def reader():
        while True:
            try:
                d = s.recv(1 << 16)
            except OSError:
                d = b""
            if not d:
                state["eof"] = True
                return
            state["replies"] += d.count(b"\n")

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    s.settimeout(0.5)
    while time.monotonic() < end and not state["eof"]:
        try:
            s.sendall(data)
        except socket.timeout:
            continue
        except OSError:
            break
    time.sleep(0.2)
    print(f"replies {state['replies']} {'dropped' if state['eof'] else 'open'}", flush=True)


def pipeline(a):
    lines = []
    for i in range(a.count):
        k = i % 5
        lines.append(['{"cmd":"show.apps"}', "", "garbage {", '{"cmd":"nope"}',
                      '{"cmd":"show.stats"}'][k])
    s = connect(a.socket)
    payload = ("\n".join(lines) + "\n" + '{"cmd":"show.apps"}').encode()
    # a writer thread: the agent replies while we still send
    t = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
    t.start()
    buf = b""
    s.settimeout(30)
    while True:
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
    t.join()
    replies = buf.split(b"\n")
    if replies and replies[-1] == b"":
        replies.pop()
    bad = 0
    for r in replies:
        try:
            o = json.loads(r)
            bad += "ok" not in o
        except ValueError:
            bad += 1
    print(f"sent {a.count + 1} requests, got {len(replies)} replies, {bad} not a reply")
    sys.exit(0 if len(replies) == a.count + 1 and not bad else 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("socket")
    p.add_argument("mode", choices=["dead-peer", "self", "idle", "no-read", "flood", "pipeline"])
    p.add_argument("--uid", type=int, default=65534)
    p.add_argument("--uids", default="65534")
    p.add_argument("--per-uid", type=int, default=16)
    p.add_argument("--hold", type=float, default=20)
    p.add_argument("--line", default='{"cmd":"show.apps"}')
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--count", type=int, default=1000)
    a = p.parse_args()
    {"dead-peer": dead_peer, "self": self_peer, "idle": idle, "no-read": no_read, "flood": flood,
     "pipeline": pipeline}[a.mode](a)


if __name__ == "__main__":
    main()
