#!/usr/bin/env python3
"""Small FTPS helpers for the peers benchmark (bench/peers/run.sh). Loopback only.

Subcommands (all print one JSON object on stdout):

  mem      --pid PID
           RSS/PSS of PID and all its descendants (a server's total memory).
  idle     --port P --user U --passfile F --pid PID [--n 200]
           Measures the server's memory, opens N concurrent logged-in TLS
           control sessions (AUTH TLS, USER/PASS, PBSZ 0, PROT P), lets them
           sit idle, measures again, closes them. At most 1000 sessions
           (tools/idleclient does 10,000).
  reuse    --port P --user U --passfile F --file NAME
           Does one PROT P RETR without resuming the control connection's TLS
           session on the data connection (what Python's ftplib does), and one
           with resumption (what curl, lftp and FileZilla do). Tells whether
           the server *requires* TLS session reuse on the data connection.
  list     --port P --user U --passfile F --dir DIR [--n 5]
           One session; times N x LIST DIR and, if FEAT announces MLST,
           N x MLSD DIR (each: PASV, TLS data connection, transfer, 226);
           reports median, min and every time in order (times_ms).
  sessions --port P --user U --passfile F --file NAME [--n 200] [--parallel 1]
           N sessions, each AUTH TLS + login + PROT P + RETR NAME (data
           connection resuming the TLS session) + QUIT, in-process (no
           per-session process start, unlike the curl loop in run.sh), run
           sequentially or by K threads; reports sessions/s.

Every network loop is bounded by a count and a wall-clock deadline, and only
127.0.0.1 / ::1 are accepted as targets.
"""
import argparse
import ftplib
import ipaddress
import json
import os
import socket
import ssl
import sys
import threading
import time


def die(msg):
    print(json.dumps({"error": msg}))
    sys.exit(1)


def check_loopback(host):
    try:
        if not ipaddress.ip_address(host).is_loopback:
            die("refusing non-loopback host %s" % host)
    except ValueError:
        die("host must be a literal loopback address, got %r" % host)


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # self-signed benchmark certificate
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayFTP_TLS(ftplib.FTP_TLS):
    """ftplib.FTP_TLS with TCP_NODELAY on control and data sockets, as curl,
    lftp and FileZilla set it. (Without it, Nagle + the server's delayed ACK
    stall USER by ~40 ms after the handshake on servers that send no TLS 1.3
    session ticket, e.g. pure-ftpd: a client artefact, not server cost.)
    Data connections do NOT resume the control connection's TLS session."""

    reuse = False

    def connect(self, *args, **kwargs):
        resp = super().connect(*args, **kwargs)
        nodelay(self.sock)
        return resp

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        nodelay(conn)
        if self._prot_p:
            session = self.sock.session if self.reuse else None
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


class ReuseFTP_TLS(NoDelayFTP_TLS):
    """... and data connections resume the control connection's TLS session,
    as curl/lftp/FileZilla do (plain ftplib does not)."""

    reuse = True


# ---------------------------------------------------------------- memory ---

def proc_tree(root):
    """PID root and all its descendants (from /proc ppid links)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # field 4 (ppid) comes after the ")" that closes the command name
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo and len(out) < 100000:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def read_kib(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_mem(pid):
    """Sum over the process tree: RSS (counts shared pages once per process),
    PSS (shared pages split between their users) and USS (private pages)."""
    pids = [p for p in proc_tree(pid) if os.path.exists("/proc/%d" % p)]
    rss = sum(read_kib("/proc/%d/status" % p, "VmRSS:") for p in pids)
    pss = sum(read_kib("/proc/%d/smaps_rollup" % p, "Pss:") for p in pids)
    uss = sum(read_kib("/proc/%d/smaps_rollup" % p, "Private_Clean:") +
              read_kib("/proc/%d/smaps_rollup" % p, "Private_Dirty:") for p in pids)
    return {"procs": len(pids), "rss_kib": rss, "pss_kib": pss, "uss_kib": uss}


def settle(pid, deadline_s=10.0):
    """Wait (bounded) until the server's process count stops changing, so
    sessions of earlier tests that are still exiting don't count."""
    end = time.monotonic() + deadline_s
    last = tree_mem(pid)
    while time.monotonic() < end:
        time.sleep(0.5)
        cur = tree_mem(pid)
        if cur["procs"] == last["procs"]:
            return cur
        last = cur
    return last


# -------------------------------------------------------------- sessions ---

def login(cls, a, timeout=10.0):
    ftp = cls(context=tls_context(), timeout=timeout)
    ftp.connect(a.host, a.port)
    ftp.login(a.user, a.password)  # FTP_TLS.login sends AUTH TLS first
    ftp.prot_p()                   # PBSZ 0 + PROT P
    return ftp


def cmd_mem(a):
    print(json.dumps(tree_mem(a.pid)))


def cmd_idle(a):
    deadline = time.monotonic() + a.max_seconds
    before = settle(a.pid)
    conns, errors = [], []
    for _ in range(a.n):
        if time.monotonic() > deadline:
            errors.append("deadline reached")
            break
        try:
            conns.append(login(NoDelayFTP_TLS, a))
        except Exception as e:  # keep going; report how many made it
            errors.append("%s: %s" % (type(e).__name__, e))
            if len(errors) > 10:
                break
    time.sleep(a.hold)
    during = tree_mem(a.pid)
    for c in conns:
        try:
            c.quit()
        except Exception:
            c.close()
    opened = len(conns)
    res = {
        "requested": a.n, "opened": opened, "errors": errors[:3],
        "before": before, "during": during,
        "rss_kib_per_session": round((during["rss_kib"] - before["rss_kib"]) / opened, 1) if opened else None,
        "pss_kib_per_session": round((during["pss_kib"] - before["pss_kib"]) / opened, 1) if opened else None,
        "uss_kib_per_session": round((during["uss_kib"] - before["uss_kib"]) / opened, 1) if opened else None,
        "procs_per_session": round((during["procs"] - before["procs"]) / opened, 2) if opened else None,
    }
    print(json.dumps(res))


def retr_once(cls, a):
    ftp = login(cls, a)
    try:
        got = []
        ftp.retrbinary("RETR " + a.file, got.append)
        return sum(len(b) for b in got)
    finally:
        try:
            ftp.quit()
        except Exception:
            ftp.close()


def cmd_reuse(a):
    res = {}
    for name, cls in (("without_reuse", NoDelayFTP_TLS), ("with_reuse", ReuseFTP_TLS)):
        try:
            res[name] = "ok (%d bytes)" % retr_once(cls, a)
        except Exception as e:
            res[name] = "FAILED: %s: %s" % (type(e).__name__, str(e).strip())
    res["requires_reuse"] = res["without_reuse"].startswith("FAILED") and res["with_reuse"].startswith("ok")
    print(json.dumps(res))


def cmd_list(a):
    ftp = login(ReuseFTP_TLS, a)
    res = {}
    try:
        feat = ftp.sendcmd("FEAT")
        variants = [("LIST", "LIST " + a.dir)]
        if "MLST" in feat.upper():
            variants.append(("MLSD", "MLSD " + a.dir))
        else:
            res["MLSD"] = "not supported (no MLST in FEAT)"
        for name, cmd in variants:
            times, data = [], b""
            for _ in range(a.n):
                chunks = []
                t = time.perf_counter()
                ftp.retrbinary(cmd, chunks.append)
                times.append((time.perf_counter() - t) * 1000)
                data = b"".join(chunks)
            in_order = [round(t, 2) for t in times]
            times.sort()
            res[name] = {"median_ms": round(times[len(times) // 2], 2),
                         "min_ms": round(times[0], 2), "bytes": len(data),
                         "lines": data.count(b"\n"), "times_ms": in_order}
    finally:
        try:
            ftp.quit()
        except Exception:
            ftp.close()
    print(json.dumps(res))


def cmd_sessions(a):
    """a.n sessions in total, run by a.parallel threads (1 = sequential)."""
    deadline = time.monotonic() + a.max_seconds
    lock = threading.Lock()
    st = {"ok": 0, "failed": 0, "started": 0, "err": None}

    def worker():
        while True:
            with lock:
                if st["started"] >= a.n or st["failed"] > 10 or time.monotonic() > deadline:
                    return
                st["started"] += 1
            try:
                retr_once(ReuseFTP_TLS, a)
                with lock:
                    st["ok"] += 1
            except Exception as e:
                with lock:
                    st["failed"] += 1
                    st["err"] = "%s: %s" % (type(e).__name__, e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, a.parallel))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.max_seconds + 30)
    secs = time.monotonic() - t0
    if st["started"] < a.n and not st["err"]:
        st["err"] = "deadline reached"
    print(json.dumps({"ok": st["ok"], "failed": st["failed"], "parallel": a.parallel,
                      "seconds": round(secs, 3),
                      "sessions_per_s": round(st["ok"] / secs, 1) if secs > 0 else None,
                      "last_error": st["err"]}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def net(p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--user", required=True)
        p.add_argument("--passfile", required=True)
        p.add_argument("--max-seconds", type=float, default=120.0)

    p = sub.add_parser("mem"); p.add_argument("--pid", type=int, required=True)
    p = sub.add_parser("idle"); net(p)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--hold", type=float, default=2.0)
    p = sub.add_parser("reuse"); net(p); p.add_argument("--file", required=True)
    p = sub.add_parser("list"); net(p); p.add_argument("--dir", required=True)
    p.add_argument("--n", type=int, default=5)
    p = sub.add_parser("sessions"); net(p); p.add_argument("--file", required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--parallel", type=int, default=1)
    a = ap.parse_args()

    if a.cmd != "mem":
        check_loopback(a.host)
        with open(a.passfile) as f:
            a.password = f.read().strip()
        a.n = min(getattr(a, "n", 1), 1000)  # hard caps on any loop
        a.parallel = max(1, min(getattr(a, "parallel", 1), 16))
        socket.setdefaulttimeout(15)
    {"mem": cmd_mem, "idle": cmd_idle, "reuse": cmd_reuse, "list": cmd_list,
     "sessions": cmd_sessions}[a.cmd](a)


if __name__ == "__main__":
    main()
