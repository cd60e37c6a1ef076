#!/usr/bin/env python3
"""Turns one measure run (samples.tsv + info.tsv, written by bench/peers/run.sh)
into the markdown of RESULTS.md, and writes RUN_DIR/targets.tsv: issue #7's
targets, ftpsd against the peers and the machine's limits of the same run.

Usage: report.py RUN_DIR > RESULTS.md"""
import collections
import json
import os
import statistics
import sys

class Samples(collections.defaultdict):
    """(scope, metric) -> [values], and .rounds: (scope, metric) -> {run: value}."""


SERVERS = ["ftpsd", "vsftpd", "proftpd", "pure-ftpd"]
PEERS = ["vsftpd", "proftpd", "pure-ftpd"]
OURS = "ftpsd"


def load(run_dir):
    samples = Samples(list)                   # (scope, metric) -> [values]
    rounds = collections.defaultdict(dict)    # (scope, metric) -> {run: value}
    with open(os.path.join(run_dir, "samples.tsv"), newline="\n") as f:
        for line in f:
            scope, metric, run, value = line.rstrip("\n").split("\t")
            samples[(scope, metric)].append(value)
            rounds[(scope, metric)][run] = value
    samples.rounds = rounds
    info = collections.OrderedDict()          # (scope, key) -> value
    with open(os.path.join(run_dir, "info.tsv"), newline="\n") as f:
        for line in f:
            scope, key, value = line.rstrip("\n").split("\t", 2)
            info[(scope, key)] = value
    return samples, info


def jget(info, scope, key):
    try:
        return json.loads(info.get((scope, key), ""))
    except ValueError:
        return None


def cell(text):
    """Make text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|")


def num(values):
    return [float(v) for v in values if v not in ("FAIL", "")]


def med_range(values, fmt="%.0f"):
    """'median (min-max)' of numeric samples; failures are shown."""
    if not values:
        return "n/a"
    nums = num(values)
    fails = len(values) - len(nums)
    if not nums:
        return "FAILED"
    out = fmt % statistics.median(nums)
    if len(nums) > 1:
        out += (" (" + fmt + "–" + fmt + ")") % (min(nums), max(nums))
    if fails:
        out += " [%d failed]" % fails
    return out


def median(values):
    nums = num(values)
    return statistics.median(nums) if nums else None


def idle10k(info, knobs):
    """ftpsd's big idle test: total RSS as measured, and extrapolated to the
    requested count when the descriptor limit allowed fewer sessions."""
    d = jget(info, OURS, "idle10k")
    if not d or not d.get("opened"):
        return None
    want = int(knobs.get("idle_big", "0") or 0)
    opened = d["opened"]
    rss_mib = d["during"]["rss_kib"] / 1024
    out = {"opened": opened, "want": want, "rss_mib": rss_mib,
           "label": "%d" % opened,
           "rss": "%.0f" % rss_mib,
           "per": "%s; %s" % (d.get("uss_kib_per_session"), d.get("fds_per_session", "?"))}
    out["rss_at_want"] = rss_mib
    if want and opened < want:
        # before + want x (growth per opened session)
        out["rss_at_want"] = (d["before"]["rss_kib"] + want * d["rss_kib_per_session"]) / 1024
        why = "descriptor limit" if info.get((OURS, "idle10k_limit")) else "see its errors"
        out["label"] = "%d (of %d asked: %s)" % (opened, want, why)
        out["rss"] += " (%.0f extrapolated to %d)" % (out["rss_at_want"], want)
    return out


def targets(samples, info, knobs, servers):
    """Rows (measure, ours, reference, target, met) for issue #7's targets."""
    rows = []
    peers = [p for p in PEERS if p in servers]
    if OURS not in servers:
        return rows

    def met(ok):
        return "n/a" if ok is None else ("yes" if ok else "no")

    def best(fn, pick=max):
        vals = [(fn(p), p) for p in peers]
        vals = [(x, p) for x, p in vals if x is not None]
        return pick(vals) if vals else (None, None)

    def fmt(x, f):
        return "n/a" if x is None else f % x

    def who(peer, x, f):
        return "no peer measured" if peer is None else "%s %s" % (peer, fmt(x, f))

    def ahead(metric, ref_of_round, factor=1.0):
        """'; met in k of n rounds': ftpsd against a reference measured in
        the same round (the same phase of the VM), round by round."""
        mine = samples.rounds.get((OURS, metric), {})
        pairs = [(num([v])[0], ref) for r, v in mine.items()
                 if num([v]) and (ref := ref_of_round(r)) is not None]
        if not pairs:
            return ""
        return "; met in %d of %d rounds" % (sum(x >= y * factor for x, y in pairs), len(pairs))

    def peer_round(peer, metric):
        def ref(r):
            v = num([samples.rounds.get((peer, metric), {}).get(r, "")])
            return v[0] if v else None
        return ref

    def ceiling_round(metric):
        def ref(r):
            v = num([samples.rounds.get(("limits", "tlsloop_tls13_rounds"), {}).get("%s.%s" % (metric, r), "")])
            return v[0] if v else None
        return ref

    def at_least(label, ours, ref, ref_text, factor=1.0, f="%.0f"):
        goal = None if ref is None else ref * factor
        ok = None if ours is None or goal is None else ours >= goal
        rows.append((label, fmt(ours, f), ref_text, ">= " + fmt(goal, f), met(ok)))

    def at_most(label, ours, goal, ref_text, f="%.1f"):
        ok = None if ours is None or goal is None else ours <= goal
        rows.append((label, fmt(ours, f), ref_text, "<= " + fmt(goal, f), met(ok)))

    # The ceiling sampled once per PROT P round, in the same phases of the
    # VM as the transfers; the runs at the start when there are none.
    tls13_key = "tlsloop_tls13_rounds" if samples.get(("limits", "tlsloop_tls13_rounds")) else "tlsloop_tls13"
    tls13 = median(samples.get(("limits", tls13_key), []))
    for metric, name in (("retr_protp", "RETR PROT P"), ("stor_protp", "STOR PROT P"),
                         ("retr_protc", "RETR PROT C"), ("stor_protc", "STOR PROT C")):
        ours = median(samples.get((OURS, metric), []))
        ref, peer = best(lambda p, m=metric: median(samples.get((p, m), [])))
        at_least("%s MB/s >= fastest peer" % name, ours, ref,
                 who(peer, ref, "%.0f") + (ahead(metric, peer_round(peer, metric)) if peer else ""))
        if metric.endswith("_protp"):
            at_least("%s MB/s >= 80%% of tlsloop tls13" % name, ours, tls13,
                     "%s %s%s" % (tls13_key, fmt(tls13, "%.0f"), ahead(metric, ceiling_round(metric), 0.8)), 0.8)
            # the same with the Go client: the ceiling's own TLS stack
            go = metric + "_go"
            at_least("%s MB/s, Go client, >= 80%% of tlsloop tls13" % name,
                     median(samples.get((OURS, go), [])), tls13,
                     "%s %s%s" % (tls13_key, fmt(tls13, "%.0f"), ahead(go, ceiling_round(go), 0.8)), 0.8)

    def rate(s, key):
        d = jget(info, s, key)
        return d.get("sessions_per_s") if d else None

    for key, name in (("sessions_python_seq", "sessions/s sequential"),
                      ("sessions_python_par4", "sessions/s 4 clients")):
        ref, peer = best(lambda p, k=key: rate(p, k))
        at_least("%s >= 2x best peer" % name, rate(OURS, key), ref,
                 who(peer, ref, "%.1f") + (ahead(key, peer_round(peer, key), 2.0) if peer else ""), 2.0, "%.1f")

    d = jget(info, OURS, "idle")
    uss = d.get("uss_kib_per_session") if d else None
    at_most("USS per idle session KiB (%s sessions)" % knobs.get("idle", "?"), uss, 64.0, "limit 64 KiB")

    big = idle10k(info, knobs)
    if big:
        at_most("total RSS MiB, %d idle sessions%s" % (big["want"] or big["opened"],
                                                      " (extrapolated)" if big["rss_at_want"] != big["rss_mib"] else ""),
                big["rss_at_want"], 1024.0, "limit 1 GiB", "%.0f")

    def py_ms(s, kind):
        d = jget(info, s, "list_python")
        x = d.get(kind) if d else None
        return x.get("median_ms") if isinstance(x, dict) else None

    vs = "vsftpd" if "vsftpd" in peers else None
    vs_list_py = py_ms("vsftpd", "LIST") if vs else None
    at_most("LIST ms, Python, in session", py_ms(OURS, "LIST"), vs_list_py,
            who(vs and "vsftpd LIST", vs_list_py, "%.1f"))
    at_most("MLSD ms, Python, in session", py_ms(OURS, "MLSD"), vs_list_py,
            who(vs and "vsftpd LIST", vs_list_py, "%.1f") + (" (vsftpd has no MLSD)" if vs else ""))
    vs_list_curl = median(samples.get(("vsftpd", "list_curl_ms"), [])) if vs else None
    at_most("LIST ms, curl (LIST to 226)", median(samples.get((OURS, "list_curl_ms"), [])), vs_list_curl,
            who(vs, vs_list_curl, "%.1f"))
    return rows


def main():
    run_dir = sys.argv[1]
    samples, info = load(run_dir)
    servers = [s for s in SERVERS if s in info.get(("run", "servers"), "").split()]
    m = lambda k: info.get(("machine", k), "?")
    v = lambda k: info.get(("version", k), "?")
    out = []
    w = out.append

    w("# FTPS peers benchmark: ftpsd, vsftpd, ProFTPD, Pure-FTPd on loopback")
    w("")
    w("Generated by `bash bench/peers/run.sh measure`. Run: %s, %s s wall time; raw data: `%s`."
      % (m("date"), info.get(("run", "elapsed_s"), "?"), run_dir))
    w("Settings: %s." % info.get(("run", "knobs"), "?"))
    for (scope, key), value in info.items():
        if scope == "run" and key.startswith(("failed_", "skipped_")):
            w("")
            w("**%s %s: %s**" % (key.split("_", 1)[1], key.split("_", 1)[0], value))
    w("")
    w("## Machine")
    w("")
    w("| fact | value |")
    w("|---|---|")
    for key, label in [("nproc", "nproc"), ("cpu", "CPU (/proc/cpuinfo)"), ("cpu_flags", "crypto-relevant CPU flags"),
                       ("mem", "memory"), ("os", "OS"), ("kernel", "kernel"), ("pinning", "CPU pinning"),
                       ("cert", "server certificate"),
                       ("crypt_sha512_ms", "password check, SHA-512 crypt (ms per login, same libcrypt for the three peers)"),
                       ("bcrypt4_ms", "password check, bcrypt cost 4 (ms per login, ftpsd; golang.org/x/crypto)"),
                       ("curl_process_ms", "starting one curl process (ms, file:// fetch)")]:
        w("| %s | %s |" % (label, cell(m(key))))
    w("")
    w("## Versions")
    w("")
    w("| software | version |")
    w("|---|---|")
    for s in servers:
        if s == OURS:
            w("| %s | %s — %s; credential cache %s; upload fsync %s |"
              % (s, cell(v(s)), cell(info.get((s, "package"), "?")),
                 cell(info.get((s, "credential_cache"), "?")), cell(info.get((s, "sync_uploads"), "?"))))
        else:
            w("| %s | %s — Debian package: %s |" % (s, cell(v(s)), cell(info.get((s, "package"), "?"))))
    for c in ["curl", "openssl", "lftp", "python", "go"]:
        w("| %s | %s |" % (c, cell(v(c))))
    w("")

    # ------------------------------------------------------------------ table
    w("## Results")
    w("")
    w("Throughput in MB/s (10^6 bytes/s): median of the runs (min–max), computed from curl's "
      "`-w` timers as size / (time_total − time_pretransfer), i.e. from the RETR/STOR command to "
      "the 226 reply, excluding login and curl's own pre-transfer stall (caveat 2); curl's "
      "whole-run `speed_*` is shown below each. Client and server share the same 2 cores. "
      "PROT P = TLS on the data connection.")
    w("")
    w("| measure | " + " | ".join(servers) + " |")
    w("|---|" + "---|" * len(servers))

    def row(label, fn):
        w("| %s | %s |" % (label, " | ".join(cell(fn(s)) for s in servers)))

    knobs = dict(kv.split("=", 1) for kv in info.get(("run", "knobs"), "").split() if "=" in kv)
    big = knobs.get("big", "1024MiB")
    big = "1 GiB" if big == "1024MiB" else big.replace("MiB", " MiB")
    for metric, label in [("retr_protp", "RETR %s, PROT P" % big), ("stor_protp", "STOR %s, PROT P" % big),
                          ("retr_protc", "RETR %s, PROT C, clear data" % big),
                          ("stor_protc", "STOR %s, PROT C, clear data" % big)]:
        row("**%s (MB/s)**, RETR/STOR sent → 226" % label,
            lambda s, m=metric: med_range(samples.get((s, m), [])))
        row("  same, curl speed_* over its whole run incl. login (MB/s)",
            lambda s, m=metric: med_range(samples.get((s, m + "_whole"), [])))
    for metric, label in [("retr_protp_go", "RETR %s, PROT P, Go client (tools/goftps)" % big),
                          ("stor_protp_go", "STOR %s, PROT P, Go client (tools/goftps)" % big)]:
        row("**%s (MB/s)**, RETR/STOR sent → 226" % label,
            lambda s, m=metric: med_range(samples.get((s, m), [])))
    row("curl: start → RETR sent, PROT P (ms; login + curl stall)",
        lambda s: med_range(samples.get((s, "retr_protp_setup_ms"), [])))

    def sess(key):
        def f(s):
            d = jget(info, s, key)
            if not d:
                return "n/a"
            r = "%s" % d.get("sessions_per_s")
            rounds = num(samples.get((s, key), []))
            if len(rounds) > 1:
                r += " (rounds %.0f–%.0f)" % (min(rounds), max(rounds))
            if d.get("failed") or d.get("last_error"):
                r += " (%d ok, %d failed)" % (d.get("ok", 0), d.get("failed", 0))
            elif key == "sessions_curl":
                r += " (%d in %.0f s)" % (d.get("ok", 0), d.get("seconds", 0))
            return r
        return f

    row("sessions/s, sequential (Python ftplib, in-process, TLS session reuse; 4 rounds of %d)"
        % ((int(knobs.get("sessions", "200")) + 3) // 4), sess("sessions_python_seq"))
    row("sessions/s, 4 concurrent clients (Python ftplib; 4 rounds)", sess("sessions_python_par4"))
    row("sessions/s, sequential curl processes (see caveat 2)", sess("sessions_curl"))
    row("LIST of 1000 files, curl: LIST → 226 (ms)", lambda s: med_range(samples.get((s, "list_curl_ms"), []), "%.1f"))

    def listpy(kind):
        def f(s):
            d = jget(info, s, "list_python")
            if not d:
                return "n/a"
            x = d.get(kind)
            if isinstance(x, dict):
                return "%.1f (min %.1f; %d B)" % (x["median_ms"], x["min_ms"], x["bytes"])
            return "not supported" if x else "n/a"
        return f

    row("LIST in an open session, Python: median of 5 (ms)", listpy("LIST"))
    row("MLSD in an open session, Python: median of 5 (ms)", listpy("MLSD"))

    def idle(key, fmt="%.0f"):
        def f(s):
            d = jget(info, s, "idle")
            if not d or d.get("opened") is None:
                return "n/a"
            val = d
            for k in key.split("."):
                val = val.get(k) if isinstance(val, dict) else None
            if val is None:
                return "n/a"
            r = fmt % val
            if d.get("opened") != d.get("requested"):
                r += " (%d/%d opened)" % (d.get("opened"), d.get("requested"))
            return r
        return f

    n_idle = knobs.get("idle", "?")
    row("server RSS before, all processes (KiB)", idle("before.rss_kib"))
    row("server RSS with %s idle TLS sessions (KiB)" % n_idle, idle("during.rss_kib"))
    row("**RSS per idle session (KiB)** (sum of RSS; shared pages counted per process)", idle("rss_kib_per_session"))
    row("PSS per idle session (KiB) (shared pages split)", idle("pss_kib_per_session"))
    row("USS per idle session (KiB) (private pages only)", idle("uss_kib_per_session"))
    row("processes per session", idle("procs_per_session", "%.1f"))
    many = idle10k(info, knobs)
    if many:
        row("**ftpsd only: %s idle TLS sessions at once** (tools/idleclient): total RSS (MiB)" % many["label"],
            lambda s: many["rss"] if s == OURS else "—")
        row("  same: USS per session (KiB); descriptors per session",
            lambda s: many["per"] if s == OURS else "—")

    def reuse(s):
        d = jget(info, s, "reuse_probe")
        if not d:
            return "n/a"
        if d.get("requires_reuse"):
            return "**yes** (%s)" % d["without_reuse"].replace("FAILED: ", "").split(": ", 1)[-1]
        return "no" if str(d.get("without_reuse", "")).startswith("ok") else "? " + str(d)

    row("requires TLS session reuse on data connections (default config)", reuse)
    row("curl resumed the TLS session on the data connection", lambda s: info.get((s, "curl_data_session_reused"), "n/a"))
    row("TLS negotiated with curl (control; data)", lambda s: info.get((s, "curl_tls"), "n/a"))
    for ver in ("tls1_3", "tls1_2", "tls1_1"):
        row("accepts %s (openssl s_client)" % ver.replace("tls1_", "TLS 1."), lambda s, ver=ver: info.get((s, "accepts_" + ver), "n/a"))
    row("PROT C run: client/server exchange", lambda s: info.get((s, "protc_check"), "n/a"))
    w("")

    # ------------------------------------------------------------- limits
    w("## Physical limits of this machine")
    w("")
    w("| measure | MB/s | notes |")
    w("|---|---|---|")
    for alg in ["aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"]:
        w("| `openssl speed -evp %s`, 1 core, 16 KiB blocks | %s | encryption only |"
          % (alg, med_range(samples.get(("limits", "openssl_speed_" + alg), []))))
    for mode, note in [("tcp", "plain TCP, 1 connection, Go, 256 KiB writes"),
                       ("tls13", "Go crypto/tls"),
                       ("tls12-aes256", "Go crypto/tls"),
                       ("tls12-chacha", "Go crypto/tls")]:
        cipher = info.get(("limits", "tlsloop_%s_cipher" % mode), "")
        cipher = "" if mode == "tcp" else cipher
        w("| loopback %s, `tlsloop -mode %s` | %s | %s %s |"
          % (big, mode, med_range(samples.get(("limits", "tlsloop_" + mode), [])), note, cipher))
    if samples.get(("limits", "tlsloop_tls13_rounds")):
        w("| the same `tlsloop -mode tls13` once after each PROT P round, between the transfers | %s | the ceiling of the targets: the same phases of the VM as the transfers |"
          % med_range(samples[("limits", "tlsloop_tls13_rounds")]))
    if samples.get(("limits", "tlsloop_tls13_end")):
        w("| the same `tlsloop -mode tls13` once more at the end of the run | %s | noise gauge: compare with the row above |"
          % med_range(samples[("limits", "tlsloop_tls13_end")]))
    w("")

    # ------------------------------------------------------------- targets
    rows = targets(samples, info, knobs, servers)
    with open(os.path.join(run_dir, "targets.tsv"), "w") as f:
        f.write("measure\tours\treference\ttarget\tmet\n")
        for r in rows:
            f.write("\t".join(str(x).replace("\t", " ") for x in r) + "\n")
    w("## Targets (issue #7)")
    w("")
    w("ftpsd against the peers and this machine's limits, all from this run's samples "
      "(medians; sessions/s: all rounds together). \"met in k of n rounds\": round by round, "
      "against the reference measured in the same round. Also in `targets.tsv`.")
    w("")
    w("| measure | ftpsd | reference | target | met |")
    w("|---|---|---|---|---|")
    for r in rows:
        w("| %s |" % " | ".join(cell(x) for x in r))
    w("")

    # ------------------------------------------------------------- caveats
    w("## Caveats")
    w("")
    for line in CAVEATS:
        w(line)
    w("")

    # ------------------------------------------------------------- commands
    w("## Exact commands")
    w("")
    w("Servers (launched by `run.sh start`/`measure`, configs rendered from `conf/` into `$STATE/run/<server>/`):")
    w("")
    w("```")
    for s in servers:
        w("%s: %s" % (s, info.get((s, "launch"), "?")))
    w("```")
    w("")
    w("Clients (PORT = 2121 vsftpd, 2122 proftpd, 2123 pure-ftpd, 2124 ftpsd):")
    w("")
    w("```")
    for (scope, key), value in info.items():
        if scope == "commands":
            w("# %s\n%s" % (key, value))
    w("```")
    w("")

    # ------------------------------------------------------------- raw
    w("## Raw samples")
    w("")
    w("| scope | metric | values |")
    w("|---|---|---|")
    for (scope, metric), values in samples.items():
        w("| %s | %s | %s |" % (scope, metric, " ".join(values)))
    for (scope, key), value in info.items():
        if scope in servers and key not in ("launch", "package"):
            w("| %s | %s | %s |" % (scope, key, cell(value)))
    w("")
    print("\n".join(out))


CAVEATS = """\
0. **ftpsd** is built from this repository's work tree by run.sh (its commit
   is in the versions table) and runs as one process with one goroutine set
   per session, started with `--log-level warn` (no per-session and
   per-transfer log lines, as the peers run without transfer logs) and, when
   this ftpsd has the flag, `--credential-cache=false` so that every login
   verifies the password hash, as the peers' logins do (bcrypt at cost 4,
   bcrypt's minimum, vs the peers' SHA-512 crypt; both timed in the machine
   table), and `--sync-uploads=false` unless FTPBENCH_FTPSD_SYNC=1: its
   default fsyncs each upload before 226, which none of the peers does (the
   versions table says which was used). Its policy is its default (PROT P and TLS session reuse required)
   with the peers' TLS 1.2 suites; the PROT C run sets data.protection
   ClientChoice. Go's TLS 1.3 server prefers TLS_AES_128_GCM_SHA256 on AES-NI
   machines where OpenSSL's servers pick TLS_AES_256_GCM_SHA384 (see the
   "TLS negotiated" row). A Go process keeps freed heap mapped for minutes,
   so run.sh restarts ftpsd before each idle-memory step (the peers' session
   processes are new too); the big idle step needs one descriptor per
   session in ftpsd (its socket; a user's sessions share one open home
   directory), so an unraisable `ulimit -n` below FTPBENCH_IDLE_BIG + 100
   caps it (then the report extrapolates, and says so).
1. **Two cores, shared, on a VM: noisy.** The client (curl or Python) and the
   server share 2 vCPUs. A PROT P transfer needs one core to encrypt and one
   to decrypt, so the figures are client+server ceilings of this box, not
   server capacity, and the scheduler sometimes puts both ends on one core.
   The machine also has slow phases (the Go TLS loopback figure moved between
   ~900 and ~1480 MB/s across runs; compare the two tls13 rows of the limits
   table), so the 1 GiB transfers and the Python session rounds are
   interleaved across servers (each round visits every server) rather than
   run server after server. Nothing keeps other work (other sessions'
   builds and tests) off this VM during a run. Run-to-run spread can still
   be 20-50 % (see min–max and the raw samples): re-run (optionally
   FTPBENCH_RUNS=5, FTPBENCH_PIN=1) before drawing conclusions from < 1.5x
   differences.
2. **curl 7.88.1 stalls every FTPS transfer by ~0.2 s (sometimes 1 s).** After
   connecting the passive data connection curl starts its TLS handshake there
   and, until the server accepts it (at RETR/LIST), polls only the data socket
   with a 200 ms / 1000 ms timer, so the reply to `TYPE I` sits unread (seen
   with strace). The curl session loop therefore measures mostly curl; compare
   servers on the Python rows (same protocol steps; TCP_NODELAY and TLS
   session reuse like curl). Throughput and LIST use curl's
   `time_total - time_pretransfer`, which starts after the stall; curl's own
   `speed_*` (the "whole run" rows) includes it and understated fast
   1 GiB transfers by 10-60 % in our runs.
3. **proftpd's master sleeps 200 ms after each child exit.** When SIGCHLD
   interrupts its select(), it sleeps PR_TUNABLE_EINTR_RETRY_INTERVAL (0.2 s,
   compile time) before accepting again (seen with strace), so a connection
   arriving just after a session ended waits up to 200 ms for its banner. That,
   not TLS, caps its session rate here.
4. **pure-ftpd** sleeps a random few ms after PASS (timing-attack defence),
   sends no TLS 1.3 session tickets (clients do a full handshake per data
   connection; it does not require reuse), leaves Nagle on for data sockets
   (a ~40 ms stall before `226` after multi-record LIST/MLSD replies:
   Nagle holds the close_notify until the client's delayed ACK; seen with
   strace, MLSD flips between ~5 and ~48 ms), caps its client limit at half
   the passive port range, and only admits users whose shell is in
   /etc/shells (run.sh adds /usr/sbin/nologin there).
5. **vsftpd** runs 3 processes per logged-in TLS session (two helpers, for
   privilege separation and for the control connection's TLS, plus the
   user's process); during STOR strace shows small messages between them for
   every ~16 KiB record written, the likely reason its STOR is much slower
   than its RETR.
6. **Memory.** RSS summed over processes counts libssl/libcrypto pages once per
   process; PSS and USS are the fairer per-session cost. Sessions are idle
   after PROT P.
7. **Data paths.** RETR reads a 1 GiB random file from page cache; STOR writes
   into page cache on the VM disk and is deleted after each run.
8. **Configuration choices** (all in conf/): one local user (SHA-512 crypt; ftpsd: bcrypt 4),
   no chroot, no transfer logs, same TLS 1.2 cipher list everywhere, OpenSSL
   default TLS 1.3 suites (curl negotiates TLS_AES_256_GCM_SHA384; the Go
   tool's TLS 1.3 uses AES-128-GCM), ECDSA P-256 certificate unless
   FTPBENCH_CERT=rsa, proftpd mod_delay off, vsftpd does not ask for client
   certificates. Session-reuse requirements are left at each server's
   default. The Debian packages conflict with each other, so the binaries run
   from a private dpkg-deb extraction (no maintainer scripts).""".split("\n")


if __name__ == "__main__":
    main()
