#!/usr/bin/env bash
# Peers benchmark: ftpsd (built from this repository) and vsftpd, ProFTPD and
# Pure-FTPd side by side over explicit FTPS (AUTH TLS, PROT P) on loopback.
# Every server gets the same clients, in the same rounds: curl for the big
# transfers and LIST, a small Python ftplib client (tools/ftpclient.py) for
# session rate, LIST/MLSD in a session and memory per idle session, and a
# Go client (tools/goftps) for the PROT P transfers once more, on the TLS
# stack of the loopback ceiling; plus this machine's raw limits (openssl
# speed, Go crypto/tls and plain TCP over loopback: tools/tlsloop). The
# report (RESULTS.md) ends with issue #7's targets, also written as
# $RUN_DIR/targets.tsv.
#
#   bash run.sh install            apt packages, peer binaries (unpacked), Go tools
#   bash run.sh start [SERVER..]   test user/data/certs, start servers (PROT P required)
#   bash run.sh measure [SERVER..] measure (starts/stops each server itself), write RESULTS.md
#   bash run.sh idle10k            only ftpsd's FTPBENCH_IDLE_BIG idle sessions (JSON on stdout)
#   bash run.sh stop               stop every server this harness started (by PID)
#   bash run.sh status             show what runs
#   bash run.sh all                install + measure + stop  (bounded, < 25 min)
#   bash run.sh clean              stop; remove test user, PAM file, state dir
#
# SERVER is ftpsd | vsftpd | proftpd | pure-ftpd (default: all four).
# Knobs (environment): FTPBENCH_STATE (/var/tmp/ftpbench), FTPBENCH_RUN_DIR
# (results dir; default $STATE/results/<UTC time>), FTPBENCH_CERT (ecdsa |
# rsa), FTPBENCH_RUNS (7), FTPBENCH_SESSIONS (200), FTPBENCH_IDLE (200),
# FTPBENCH_IDLE_BIG (10000 idle sessions for ftpsd only; 0 = skip),
# FTPBENCH_BIG_MIB (1024), FTPBENCH_PIN (0; 1 = server on CPU 1, client on
# CPU 0), FTPBENCH_BUDGET_S (1260), FTPBENCH_CURL_LOOP_MAX_S (100),
# FTPBENCH_CHARTS (1 = PNG charts into $RUN_DIR/charts via bench/chart),
# FTPBENCH_FTPSD_SYNC (0; 1 = ftpsd fsyncs each upload, its own default),
# FTPBENCH_FTPSD_LOG_LEVEL (warn; info logs every session and transfer),
# FTPBENCH_COPY_RESULTS (0; 1 = also copy RESULTS.md next to this script),
# FTPBENCH_MODE (start only: strict | protc).
#
# Only 127.0.0.1 is used. Every loop is bounded in count and time. Servers
# are stopped by PID only: the PID run.sh recorded, plus the session
# processes whose /proc/PID/exe is this harness's private copy of the binary.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)   # ftpsd and the Go tools are built from here
STATE=${FTPBENCH_STATE:-/var/tmp/ftpbench}
CERT_KIND=${FTPBENCH_CERT:-ecdsa}
RUNS=${FTPBENCH_RUNS:-7}
SESSIONS=${FTPBENCH_SESSIONS:-200}
IDLE=${FTPBENCH_IDLE:-200}
IDLE_BIG=${FTPBENCH_IDLE_BIG:-10000}
FTPSD_SYNC=${FTPBENCH_FTPSD_SYNC:-0}
FTPSD_LOG_LEVEL=${FTPBENCH_FTPSD_LOG_LEVEL:-warn}   # info: a line per session and transfer
BIG_MIB=${FTPBENCH_BIG_MIB:-1024}
PIN=${FTPBENCH_PIN:-0}
BUDGET_S=${FTPBENCH_BUDGET_S:-1260}   # no new step starts after this; one step is <= ~150 s
LIST_RUNS=5
CURL_LOOP_MAX_S=${FTPBENCH_CURL_LOOP_MAX_S:-100}   # cap for the curl session loop (see RESULTS.md)
CHARTS=${FTPBENCH_CHARTS:-1}

BIG_BYTES=$((BIG_MIB * 1024 * 1024))
SMALL_COUNT=1000
SMALL_BYTES=4096
FTP_USER=ftpbench
HOST=127.0.0.1
SERVERS_ALL=(ftpsd vsftpd proftpd pure-ftpd)
PEERS=(vsftpd proftpd pure-ftpd)   # the Debian packages
# TLS 1.2 suites, identical for the three servers (Mozilla "intermediate");
# TLS 1.3 suites are OpenSSL's defaults everywhere.
TLS12_CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
# the same six suites by their IANA names, for ftpsd (Go's TLS 1.3 suites are fixed)
TLS12_SUITES="TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"

declare -A PORT=([vsftpd]=2121 [proftpd]=2122 [pure-ftpd]=2123 [ftpsd]=2124)
# Passive ranges: distinct per server, below the kernel's ephemeral range
# (32768+), 1000 ports each: pure-ftpd caps its client limit at half the
# size of its passive range (100 ports would mean at most 50 sessions).
declare -A PASV_MIN=([vsftpd]=20000 [proftpd]=21000 [pure-ftpd]=22000 [ftpsd]=23000)
declare -A PASV_MAX=([vsftpd]=20999 [proftpd]=21999 [pure-ftpd]=22999 [ftpsd]=23999)
FTPSD_METRICS=127.0.0.1:2180   # ftpsd's /metrics; its default (:9090) is not loopback-only
declare -A DEBS=([vsftpd]="vsftpd" [proftpd]="proftpd-core proftpd-mod-crypto" [pure-ftpd]="pure-ftpd")
declare -A BIN=([vsftpd]=usr/sbin/vsftpd [proftpd]=usr/sbin/proftpd [pure-ftpd]=usr/sbin/pure-ftpd)

HOME_DIR=$STATE/home
PASSFILE=$STATE/user.pass
NETRC=$STATE/netrc
TLSLOOP=$STATE/bin/tlsloop
IDLECLIENT=$STATE/bin/idleclient
GOFTPS=$STATE/bin/goftps
BENCHHASH=$STATE/bin/benchhash
FTPSD_USERS=$STATE/ftpsd-users.yaml
PY=(python3 "$HERE/tools/ftpclient.py")
export PATH=$PATH:/usr/local/go/bin

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
server_bin() {
  if [[ $1 == ftpsd ]]; then echo "$STATE/bin/ftpsd"; else echo "$STATE/root/$1/${BIN[$1]}"; fi
}

# Client-side CPU pinning (FTPBENCH_PIN=1): client on CPU 0, server on CPU 1.
client() { if [[ $PIN == 1 ]]; then taskset -c 0 "$@"; else "$@"; fi; }

check_servers() {
  local s
  for s in "$@"; do [[ -n ${PORT[$s]:-} ]] || die "unknown server '$s' (ftpsd | vsftpd | proftpd | pure-ftpd)"; done
}

# ======================================================================
# install
# ======================================================================
cmd_install() {
  [[ $(id -u) == 0 ]] || die "install needs root"
  export DEBIAN_FRONTEND=noninteractive
  # Keep maintainer scripts from starting any service (Debian's
  # invoke-rc.d honours policy-rc.d exit 101). Removed again only if we made it.
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi

  mkdir -p "$STATE"
  log "apt-get update"
  timeout 300 apt-get update -q >/dev/null

  # The three servers' Debian packages conflict with each other (each
  # Provides/Conflicts ftp-server, and pure-ftpd pulls in openbsd-inetd), so
  # they cannot be apt-get installed side by side. We apt-get install their
  # runtime libraries plus the clients, and apt-get download + dpkg-deb -x
  # the server packages into a private root: no maintainer script runs and
  # nothing is started on port 21.
  local libs
  mapfile -t libs < <(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
           --no-replaces --no-enhances vsftpd proftpd-core proftpd-mod-crypto pure-ftpd |
         awk '$1 ~ /Depends:$/ && $2 ~ /^(lib|zlib)/ {print $2}' | sort -u)
  log "apt-get install clients + server runtime libraries"
  local ok=1
  timeout 900 apt-get install -y -q --no-install-recommends \
    curl lftp openssl python3 procps iproute2 util-linux "${libs[@]}" >"$STATE/apt.log" 2>&1 || ok=0
  if [[ $ok == 1 ]] && ! command -v go >/dev/null; then
    log "no Go toolchain found; installing Debian's golang-go"
    timeout 900 apt-get install -y -q --no-install-recommends golang-go >>"$STATE/apt.log" 2>&1 || ok=0
  fi
  if [[ $made_policy == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  if [[ $ok == 0 ]]; then tail -20 "$STATE/apt.log" >&2; die "apt-get install failed"; fi

  cmd_stop >/dev/null 2>&1 || true   # never re-extract under a running server
  mkdir -p "$STATE/debs" "$STATE/root" "$STATE/bin"
  chmod 755 "$STATE"
  rm -f "$STATE"/debs/*.deb
  chown _apt "$STATE/debs" 2>/dev/null || true   # lets apt download sandboxed
  log "apt-get download: ${DEBS[vsftpd]} ${DEBS[proftpd]} ${DEBS[pure-ftpd]}"
  local pkgs
  read -ra pkgs <<<"${DEBS[vsftpd]} ${DEBS[proftpd]} ${DEBS[pure-ftpd]}"
  (cd "$STATE/debs" && timeout 300 apt-get download -q "${pkgs[@]}" >/dev/null)
  local s p deb ver
  for s in "${PEERS[@]}"; do
    rm -rf "$STATE/root/$s"
    mkdir -p "$STATE/root/$s"
    ver=""
    local debs_of
    read -ra debs_of <<<"${DEBS[$s]}"
    for p in "${debs_of[@]}"; do
      deb=$(ls "$STATE"/debs/"${p}"_*.deb)
      dpkg-deb -x "$deb" "$STATE/root/$s"
      ver+="$p $(dpkg-deb -f "$deb" Version); "
    done
    echo "${ver%; }" >"$STATE/root/$s/.pkgversion"
    if ldd "$(server_bin "$s")" | grep -q 'not found'; then
      ldd "$(server_bin "$s")" | grep 'not found' >&2
      die "$s: missing shared libraries"
    fi
    log "extracted $s: $(cat "$STATE/root/$s/.pkgversion")"
  done
  [[ -f $STATE/root/proftpd/usr/lib/proftpd/mod_tls.so ]] || die "proftpd mod_tls.so missing"

  # Nothing may be left listening on port 21 by the install.
  if ss -Hltn 'sport = :21' | grep -q .; then
    log "WARNING: something listens on port 21 (not started by this harness?):"
    ss -Hltnp 'sport = :21' >&2
  fi

  build_go
  log "install done"
}

# build_go: ftpsd and the Go tools, from this repository (go build caches,
# so measure calls it every time and always runs the ftpsd of the work tree)
build_go() {
  [[ -f $REPO/go.mod && -d $REPO/ftpsd/cmd/ftpsd ]] || die "$REPO is not the ftps-operator repository"
  mkdir -p "$STATE/bin"
  log "go build: ftpsd, tlsloop, benchhash, idleclient, goftps (from $REPO)"
  local t
  for t in ftpsd/cmd/ftpsd bench/peers/tools/tlsloop bench/peers/tools/benchhash bench/peers/tools/idleclient \
    bench/peers/tools/goftps; do
    (cd "$REPO" && GOTOOLCHAIN=local timeout 600 go build -o "$STATE/bin/$(basename "$t")" "./$t") ||
      die "go build ./$t failed"
  done
}

# ======================================================================
# test fixtures: user, data, certificates, PAM service
# ======================================================================
ensure_fixtures() {
  mkdir -p "$STATE" && chmod 755 "$STATE"
  # test user: system account, no login shell, random password. SHA-512 crypt
  # (~1.3 ms per check here) rather than the yescrypt that Debian's passwd
  # would pick (~22 ms here): every server pays it per login, and it would
  # otherwise dominate the session rate.
  if ! id -u "$FTP_USER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir "$HOME_DIR" \
      --shell /usr/sbin/nologin "$FTP_USER"
  fi
  [[ $(getent passwd "$FTP_USER" | cut -d: -f6) == "$HOME_DIR" ]] || usermod -d "$HOME_DIR" "$FTP_USER"
  if [[ ! -s $PASSFILE ]]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 >"$PASSFILE")
  fi
  usermod -p "$(openssl passwd -6 -stdin <"$PASSFILE")" "$FTP_USER"
  # pure-ftpd only lets in users whose shell is listed in /etc/shells (or is
  # the literal "ftp", which useradd/usermod refuse); register nologin there,
  # as is usual for FTP-only accounts, and remember that we did (run.sh clean)
  if ! grep -qx /usr/sbin/nologin /etc/shells; then
    add-shell /usr/sbin/nologin
    touch "$STATE/.added-nologin-to-etc-shells"
  fi
  (umask 077; printf 'machine %s login %s password %s\n' "$HOST" "$FTP_USER" "$(cat "$PASSFILE")" >"$NETRC")
  # ftpsd: the same user and password in its own users file; bcrypt at cost 4,
  # bcrypt's minimum and the same cost class as the peers' SHA-512 crypt
  # (`ftpsd hash-password` would use cost 10, ~40x slower per login)
  local hash
  hash=$("$BENCHHASH" -cost 4 <"$PASSFILE") || die "benchhash failed"
  (umask 077; render_template "$HERE/conf/ftpsd-users.yaml.tmpl" "$FTPSD_USERS" "USER=$FTP_USER" "HASH=$hash")

  # data: one big random file (made once), 1000 x 4 KiB, an upload directory
  mkdir -p "$HOME_DIR/small" "$HOME_DIR/up"
  if [[ $(stat -c %s "$HOME_DIR/big.bin" 2>/dev/null || echo 0) != "$BIG_BYTES" ]]; then
    log "creating $HOME_DIR/big.bin ($BIG_MIB MiB from /dev/urandom)"
    head -c "$BIG_BYTES" /dev/urandom >"$HOME_DIR/big.bin.tmp"
    mv "$HOME_DIR/big.bin.tmp" "$HOME_DIR/big.bin"
  fi
  if [[ $(find "$HOME_DIR/small" -type f -size "${SMALL_BYTES}c" | wc -l) != "$SMALL_COUNT" ]]; then
    log "creating $SMALL_COUNT x $SMALL_BYTES-byte files in $HOME_DIR/small"
    rm -rf "$HOME_DIR/small" && mkdir -p "$HOME_DIR/small"
    head -c $((SMALL_COUNT * SMALL_BYTES)) /dev/urandom |
      split -b "$SMALL_BYTES" -d -a 4 --additional-suffix=.bin - "$HOME_DIR/small/f"
  fi
  rm -f "$HOME_DIR"/up/*
  chown -R "$FTP_USER:$FTP_USER" "$HOME_DIR"
  chmod 755 "$HOME_DIR"

  # self-signed certificates: ECDSA P-256 (default) and RSA-2048
  local kind
  for kind in ecdsa rsa; do
    local d=$STATE/certs/$kind
    [[ -s $d/cert.pem && -s $d/key.pem ]] && continue
    mkdir -p "$d"
    local newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    [[ $kind == rsa ]] && newkey=(-newkey rsa:2048)
    (umask 077; openssl req -x509 "${newkey[@]}" -nodes -days 3650 -subj "/CN=$HOST" \
      -addext "subjectAltName=IP:127.0.0.1,IP:::1" -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null)
    chmod 644 "$d/cert.pem"
  done
  [[ $CERT_KIND == ecdsa || $CERT_KIND == rsa ]] || die "FTPBENCH_CERT must be ecdsa or rsa"

  # PAM service for vsftpd (see conf/pam-ftpbench)
  cmp -s "$HERE/conf/pam-ftpbench" /etc/pam.d/ftpbench || cp "$HERE/conf/pam-ftpbench" /etc/pam.d/ftpbench
  return 0
}

# ======================================================================
# start / stop
# ======================================================================
# render_template TEMPLATE OUT KEY=VALUE...   (replaces @KEY@ with VALUE)
render_template() {
  local tmpl=$1 out=$2 text kv
  shift 2
  text=$(<"$tmpl")
  for kv in "$@"; do text=${text//@${kv%%=*}@/${kv#*=}}; done
  if grep -q '@[A-Z_0-9]*@' <<<"$text"; then die "unfilled placeholder in $tmpl"; fi
  printf '%s\n' "$text" >"$out"
}

# pid_alive_as PID BIN: PID runs the binary BIN (also after a re-extract)
pid_alive_as() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $exe == "$2" || $exe == "$2 (deleted)" ]]
}

# alive PID: exists and is not a zombie (PID 1 here may reap late)
alive() {
  local st
  st=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}

running_pid() {   # prints the master PID of server $1 if it runs
  local pidf=$STATE/run/$1/pid pid
  [[ -s $pidf ]] || return 1
  pid=$(<"$pidf")
  pid_alive_as "$pid" "$(server_bin "$1")" && echo "$pid"
}

# session_pids BIN: every process whose executable is our copy of BIN
session_pids() {
  local d
  for d in /proc/[0-9]*; do
    pid_alive_as "${d#/proc/}" "$1" && echo "${d#/proc/}"
  done
  return 0
}

# raise_nofile: servers started from here inherit it. FTPBENCH_IDLE_BIG
# sessions need one descriptor each in the idle client and in ftpsd (its
# socket; the sessions of one user share one open home directory).
raise_nofile() {
  local want=$((IDLE_BIG + 1024)) hard cur
  hard=$(ulimit -Hn) cur=$(ulimit -n)
  [[ $hard == unlimited ]] || ((want <= hard)) || want=$hard
  [[ $cur == unlimited ]] || ((cur >= want)) || ulimit -n "$want" ||
    log "WARNING: could not raise ulimit -n to $want (it is $cur)"
}

# ftpsd_has_flag NAME: this ftpsd build knows --NAME (flags come and go
# while ftpsd is developed; the harness adapts and records what it used)
ftpsd_has_flag() {
  local help   # captured first: --help exits non-zero, which pipefail would report
  help=$("$(server_bin ftpsd)" --help 2>&1 || true)
  grep -qE -- "^ +-$1( |\$)" <<<"$help"
}

# ftpsd_mode_flags: the credential cache off, so that every login pays the
# password hash as the peers' logins do; uploads fsync'ed before 226 only if
# FTPBENCH_FTPSD_SYNC=1, since the peers write uploads to the page cache
ftpsd_mode_flags() {
  if ftpsd_has_flag credential-cache; then echo --credential-cache=false; fi
  if ftpsd_has_flag sync-uploads; then
    if [[ $FTPSD_SYNC == 1 ]]; then echo --sync-uploads=true; else echo --sync-uploads=false; fi
  fi
  return 0
}

# ftpsd_max_sessions: room for the idle tests (the peers allow 1000)
ftpsd_max_sessions() {
  local m=1000
  ((IDLE + 100 > m)) && m=$((IDLE + 100))
  ((IDLE_BIG + 100 > m)) && m=$((IDLE_BIG + 100))
  echo "$m"
}

# start_one SERVER MODE   MODE: strict (PROT P required) | protc (PROT C allowed)
start_one() {
  local s=$1 mode=${2:-strict} run=$STATE/run/$1 bin pid port=${PORT[$1]}
  bin=$(server_bin "$s")
  [[ -x $bin ]] || die "$s is not installed; run: bash run.sh install"
  if pid=$(running_pid "$s"); then
    if [[ $(cat "$run/mode" 2>/dev/null) == "$mode" ]]; then log "$s already running (pid $pid, $mode)"; return 0; fi
    stop_one "$s"
  fi
  if ss -Hltn "sport = :$port" | grep -q .; then die "port $port is already in use"; fi
  mkdir -p "$run"
  local cert=$STATE/certs/$CERT_KIND/cert.pem key=$STATE/certs/$CERT_KIND/key.pem
  local common=("PORT=$port" "PASV_MIN=${PASV_MIN[$s]}" "PASV_MAX=${PASV_MAX[$s]}"
                "CERT=$cert" "KEY=$key" "TLS12_CIPHERS=$TLS12_CIPHERS")
  local cmd=()
  case $s in
    vsftpd)
      mkdir -p "$run/empty" && chmod 755 "$run/empty"
      local force=YES; [[ $mode == protc ]] && force=NO
      render_template "$HERE/conf/vsftpd.conf.tmpl" "$run/vsftpd.conf" "${common[@]}" \
        "PAM_SERVICE=ftpbench" "EMPTY_DIR=$run/empty" "FORCE_DATA_SSL=$force"
      cmd=("$bin" "$run/vsftpd.conf") ;;
    proftpd)
      local req=on; [[ $mode == protc ]] && req=ctrl
      local certdir="TLSECCertificateFile  $cert
  TLSECCertificateKeyFile $key"
      [[ $CERT_KIND == rsa ]] && certdir="TLSRSACertificateFile $cert
  TLSRSACertificateKeyFile $key"
      render_template "$HERE/conf/proftpd.conf.tmpl" "$run/proftpd.conf" "${common[@]}" \
        "RUN_DIR=$run" "MODULE_DIR=$STATE/root/proftpd/usr/lib/proftpd" \
        "TLS_REQUIRED=$req" "TLS_CERT_DIRECTIVES=$certdir"
      cmd=("$bin" --nodaemon --config "$run/proftpd.conf") ;;
    pure-ftpd)
      local level=3; [[ $mode == protc ]] && level=2
      render_template "$HERE/conf/pure-ftpd.args.tmpl" "$run/pure-ftpd.args" "${common[@]}" "TLS_LEVEL=$level"
      local args
      mapfile -t args < <(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$run/pure-ftpd.args")
      cmd=("$bin" "${args[@]}") ;;
    ftpsd)
      local data="  data: {}"
      [[ $mode == protc ]] && data="  data:
    protection: ClientChoice"
      render_template "$HERE/conf/ftpsd.yaml.tmpl" "$run/ftpsd.yaml" "${common[@]}" \
        "ROOT=$HOME_DIR" "USERS_FILE=$FTPSD_USERS" "TLS12_SUITES=$TLS12_SUITES" \
        "DATA_POLICY=$data" "MAX_SESSIONS=$(ftpsd_max_sessions)" "METRICS=$FTPSD_METRICS"
      # warn: no per-session and per-transfer log lines, as the peers run
      # without transfer logs (conf/); errors are still logged
      local extra
      mapfile -t extra < <(ftpsd_mode_flags)
      cmd=("$bin" --config "$run/ftpsd.yaml" --log-level "$FTPSD_LOG_LEVEL" "${extra[@]}") ;;
  esac
  [[ $PIN == 1 ]] && cmd=(taskset -c 1 "${cmd[@]}")   # taskset execs: same PID
  printf '%q ' "${cmd[@]}" >"$run/cmdline"
  "${cmd[@]}" </dev/null >>"$run/server.log" 2>&1 &
  pid=$!
  echo "$pid" >"$run/pid"
  echo "$mode" >"$run/mode"
  local i
  for ((i = 0; i < 100; i++)); do   # up to 10 s
    if ss -Hltnp "sport = :$port" | grep -q "pid=$pid,"; then
      log "started $s (pid $pid, 127.0.0.1:$port, passive ${PASV_MIN[$s]}-${PASV_MAX[$s]}, $mode, $CERT_KIND cert)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$run/server.log" >&2 || true
  if [[ -f $run/proftpd.system.log ]]; then tail -20 "$run/proftpd.system.log" >&2; fi
  stop_one "$s"
  die "$s did not come up on port $port"
}

stop_one() {
  local s=$1 bin pid i left
  bin=$(server_bin "$s")
  if pid=$(running_pid "$s"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $s (pid $pid)"
  fi
  rm -f "$STATE/run/$s/pid"
  # session processes outlive the master in vsftpd: end them by their PIDs
  for ((i = 0; i < 30; i++)); do
    left=$(session_pids "$bin")
    [[ -z $left ]] && return 0
    local sig=TERM; ((i >= 20)) && sig=KILL
    for pid in $left; do kill -"$sig" "$pid" 2>/dev/null || true; done
    sleep 0.1
  done
  log "WARNING: $s processes still alive: $(session_pids "$bin" | tr '\n' ' ')"
}

cmd_start() {
  local servers=("$@"); ((${#servers[@]})) || servers=("${SERVERS_ALL[@]}")
  check_servers "${servers[@]}"
  raise_nofile
  build_go
  ensure_fixtures
  local s; for s in "${servers[@]}"; do start_one "$s" "${FTPBENCH_MODE:-strict}"; done
  log "user $FTP_USER, password in $PASSFILE (curl: --netrc-file $NETRC)"
}

cmd_stop() {
  local s
  for s in "${SERVERS_ALL[@]}"; do
    if [[ -x $(server_bin "$s") ]]; then stop_one "$s"; fi
  done
  return 0
}

cmd_status() {
  local s pid
  for s in "${SERVERS_ALL[@]}"; do
    if pid=$(running_pid "$s"); then
      echo "$s: running, pid $pid, port ${PORT[$s]}, mode $(cat "$STATE/run/$s/mode"), processes $(session_pids "$(server_bin "$s")" | wc -l)"
    else
      echo "$s: stopped"
    fi
  done
  return 0
}

# ======================================================================
# measure
# ======================================================================
RUN_DIR=""  # results of this measure run
sample() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$RUN_DIR/samples.tsv"; }   # server metric run value
info() {  # scope key value (value flattened to one line)
  local v=${3//$'\r'/}
  v=${v//$'\t'/ }
  printf '%s\t%s\t%s\n' "$1" "$2" "${v//$'\n'/ / }" >>"$RUN_DIR/info.tsv"
}
budget_left() { ((SECONDS < BUDGET_S)); }

# The one client for transfers: curl, explicit FTPS (AUTH TLS), passive.
CURL_P=(curl -sS --ssl-reqd -k --ftp-pasv --netrc-file "$NETRC" --max-time 120)        # PROT P
CURL_C=(curl -sS --ftp-ssl-control -k --ftp-pasv --netrc-file "$NETRC" --max-time 120) # PROT C
CURL_S=(curl -sS --ssl-reqd -k --ftp-pasv --netrc-file "$NETRC" --max-time 10)         # session loop

machine_facts() {
  info machine date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  info machine nproc "$(nproc)"
  info machine cpu "$(awk -F': *' '/^model name/ && !n {n=$2} /^cpu family/ && !f {f=$2} /^model\t/ && !m {m=$2}
    /^stepping/ && !st {st=$2} /^cpu MHz/ && !h {h=$2} /^flags/ && / hypervisor/ {v=", under a hypervisor"}
    END {printf "%s (family %s, model %s, stepping %s, %.0f MHz%s)", n, f, m, st, h, v}' /proc/cpuinfo)"
  info machine cpu_flags "$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'aes|pclmulqdq|avx2|avx512f|vaes|vpclmulqdq|sha_ni' | tr '\n' ' ')"
  info machine mem "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
  info machine kernel "$(uname -r)"
  # shellcheck source=/dev/null
  info machine os "$(. /etc/os-release && echo "$PRETTY_NAME")"
  info machine pinning "$([[ $PIN == 1 ]] && echo 'server on CPU 1, client on CPU 0 (taskset)' || echo 'none (scheduler places client and server)')"
  info machine cert "$CERT_KIND ($([[ $CERT_KIND == ecdsa ]] && echo P-256 || echo RSA-2048)) self-signed"
  local s
  for s in "${SERVERS_ALL[@]}"; do
    if [[ -f $STATE/root/$s/.pkgversion ]]; then info "$s" package "$(cat "$STATE/root/$s/.pkgversion")"; fi
  done
  info version curl "$(curl --version | head -1)"
  info version openssl "$(openssl version)"
  info version lftp "$(lftp --version | head -1)"
  info version python "$(python3 -c 'import sys,ssl; print(sys.version.split()[0], ssl.OPENSSL_VERSION)')"
  info version go "$(go version 2>/dev/null || echo none)"
  info version vsftpd "$("$(server_bin vsftpd)" -v 0>&1 2>&1 | head -1)"
  info version proftpd "$("$(server_bin proftpd)" --version 2>&1 | head -1)"
  info version pure-ftpd "$("$(server_bin pure-ftpd)" --help 2>&1 | head -1)"
  local rev
  rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git -C "$REPO" status --porcelain -- ftpsd go.mod go.sum 2>/dev/null) ]]; then rev+=" + uncommitted changes in ftpsd/"; fi
  info version ftpsd "ftpsd at $rev"
  info ftpsd package "none: built from this repository ($REPO) by run.sh with $(go version | awk '{print $3}')"
  if ftpsd_has_flag credential-cache; then
    info ftpsd credential_cache "off (--credential-cache=false): every login verifies the bcrypt hash, as the peers check crypt"
  else
    info ftpsd credential_cache "on (this ftpsd has no --credential-cache flag): repeated logins with the same password skip bcrypt"
  fi
  if ! ftpsd_has_flag sync-uploads; then
    info ftpsd sync_uploads "this ftpsd has no --sync-uploads flag (no fsync option)"
  elif [[ $FTPSD_SYNC == 1 ]]; then
    info ftpsd sync_uploads "on (--sync-uploads=true, FTPBENCH_FTPSD_SYNC=1): each upload is fsync'ed before 226; the peers do not fsync"
  else
    info ftpsd sync_uploads "off (--sync-uploads=false): uploads end in the page cache, as the peers' do (ftpsd's default is on)"
  fi
  info machine bcrypt4_ms "$("$BENCHHASH" -cost 4 -verify-runs 200 <"$PASSFILE")"
  # per-login password hash cost (same libcrypt for every server)
  info machine crypt_sha512_ms "$(python3 - "$FTP_USER" <<'EOF'
import sys, time, warnings
warnings.simplefilter("ignore")
import crypt, spwd
h = spwd.getspnam(sys.argv[1]).sp_pwdp
t = time.perf_counter(); n = 20
for _ in range(n): crypt.crypt("x", h)
print("%.2f" % ((time.perf_counter() - t) / n * 1000))
EOF
)"
  # cost of starting one curl process (the session loop pays it 200 times)
  local t0 t1 i
  t0=$(date +%s.%N)
  for ((i = 0; i < 50; i++)); do curl -s -o /dev/null "file://$HOME_DIR/small/f0000.bin"; done
  t1=$(date +%s.%N)
  info machine curl_process_ms "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/50*1000}')"
  return 0
}

measure_limits() {
  log "raw limits: openssl speed (1 core, 16 KiB blocks)"
  local alg line
  for alg in aes-128-gcm aes-256-gcm chacha20-poly1305; do
    budget_left || return 0
    info commands "openssl speed $alg" "openssl speed -evp $alg -seconds 3 -bytes 16384"
    # last field of the result row, in 1000s of bytes per second
    line=$(client openssl speed -evp "$alg" -seconds 3 -bytes 16384 2>/dev/null | tail -1)
    sample limits "openssl_speed_$alg" 1 "$(awk '{v=$NF; sub(/k$/,"",v); printf "%.1f", v/1000}' <<<"$line")"
  done
  log "raw limits: loopback TCP and Go crypto/tls, 1 connection, $BIG_MIB MiB"
  local mode r out
  for mode in tcp tls13 tls12-aes256 tls12-chacha; do
    info commands "tlsloop $mode" "$TLSLOOP -mode $mode -bytes $BIG_BYTES"
    for ((r = 1; r <= RUNS; r++)); do
      budget_left || return 0
      out=$(timeout 120 "$TLSLOOP" -mode "$mode" -bytes "$BIG_BYTES") || { log "tlsloop $mode failed"; continue; }
      sample limits "tlsloop_$mode" "$r" "$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out")"
      if [[ $r == 1 ]]; then
        info limits "tlsloop_${mode}_cipher" "$(sed -n 's/.*proto=\([^ ]*\) cipher=\([^ ]*\).*/\1 \2/p' <<<"$out")"
      fi
    done
  done
  return 0
}

# tls_probe SERVER: which protocol versions the server accepts, what curl
# negotiates, and whether data connections must resume the TLS session
tls_probe() {
  local s=$1 port=${PORT[$1]} v out
  for v in tls1_3 tls1_2 tls1_1; do
    local extra=(); [[ $v == tls1_1 ]] && extra=(-cipher 'DEFAULT:@SECLEVEL=0')
    out=$(timeout 10 openssl s_client -connect "$HOST:$port" -starttls ftp -"$v" "${extra[@]}" -brief </dev/null 2>&1 || true)
    if grep -q '^Protocol version' <<<"$out"; then
      info "$s" "accepts_$v" "yes ($(sed -n 's/^Ciphersuite: //p' <<<"$out"))"
    else
      info "$s" "accepts_$v" "no"
    fi
  done
  # one curl session, verbose: what TLS the control and data connections used
  out=$(client "${CURL_P[@]}" -v -o /dev/null "ftp://$HOST:$port/small/f0000.bin" 2>&1 || true)
  # shellcheck disable=SC2001 # a per-line anchor, which ${out//} has not
  sed 's/^> PASS .*/> PASS ****/' <<<"$out" >"$RUN_DIR/curl-verbose-$s.log"   # no password in logs
  info "$s" curl_tls "$(grep -o 'SSL connection using .*' <<<"$out" | sed 's/SSL connection using //' | sort | uniq -c | awk '{$1=$1" x"; print}' | paste -sd ';' -)"
  info "$s" curl_data_session_reused "$(grep -q 'SSL re-using session ID' <<<"$out" && echo yes || echo no)"
  info "$s" curl_prot "$(grep -o '^> PROT .' <<<"$out" | head -1 | cut -c3-)"
  out=$(client "${PY[@]}" reuse --port "$port" --user "$FTP_USER" --passfile "$PASSFILE" --file small/f0000.bin 2>&1 || true)
  info "$s" reuse_probe "$out"
  return 0
}

# transfer_once SERVER METRIC RUN CURLCMD... : one 1 GiB RETR or STOR -> MB/s
# samples. Primary: bytes / (time_total - time_pretransfer), i.e. from RETR/STOR
# being sent to 226, without login and without curl's own ~0.2-1.2 s stall
# before it (caveat 2); "<metric>_whole" is curl's speed_* over the whole run.
transfer_once() {
  local s=$1 metric=$2 r=$3 out bytes w
  shift 3
  local url=ftp://$HOST:${PORT[$s]}
  if [[ $1 == "$GOFTPS" ]]; then
    go_transfer_once "$s" "$metric" "$r"
    return 0
  fi
  if [[ $metric == retr_* ]]; then
    # Every server starts with big.bin in the page cache: the uploads of the
    # STOR steps push it out, and the first server of a round then read it
    # from disk (ftpsd, first in each round, lost half its first RETR to it).
    cat "$HOME_DIR/big.bin" >/dev/null
    w='%{time_pretransfer} %{time_total} %{size_download} %{speed_download}'
    out=$(client "$@" -o /dev/null -w "$w" "$url/big.bin" 2>>"$RUN_DIR/errors-$s.log") || out="0 0 0 0"
    bytes=$(awk '{print $3}' <<<"$out")
  else
    w='%{time_pretransfer} %{time_total} %{size_upload} %{speed_upload}'
    out=$(client "$@" -T "$HOME_DIR/big.bin" -w "$w" "$url/up/up.bin" 2>>"$RUN_DIR/errors-$s.log") || out="0 0 0 0"
    bytes=$(stat -c %s "$HOME_DIR/up/up.bin" 2>/dev/null || echo 0)
    rm -f "$HOME_DIR/up/up.bin"
  fi
  if [[ $(awk '{print $3}' <<<"$out") == "$BIG_BYTES" && $bytes == "$BIG_BYTES" ]]; then
    sample "$s" "$metric" "$r" "$(awk '{ d = $2 - $1; printf "%.1f", (d > 0 ? $3 / d / 1e6 : 0) }' <<<"$out")"
    sample "$s" "${metric}_whole" "$r" "$(awk '{printf "%.1f", $4 / 1e6}' <<<"$out")"
    sample "$s" "${metric}_setup_ms" "$r" "$(awk '{printf "%.0f", $1 * 1000}' <<<"$out")"
  else
    log "$s $metric run $r failed ($out)"
    sample "$s" "$metric" "$r" FAIL
  fi
  return 0
}

# go_transfer_once SERVER METRIC RUN: the same transfer with tools/goftps
# (PROT P; MB/s from RETR/STOR sent to 226, as curl's figures)
go_transfer_once() {
  local s=$1 metric=$2 r=$3 out bytes=0 op=(-retr big.bin)
  if [[ $metric == stor_* ]]; then
    op=(-stor up/up.bin -file "$HOME_DIR/big.bin")
  else
    cat "$HOME_DIR/big.bin" >/dev/null   # in the page cache, as for curl
  fi
  out=$(client "$GOFTPS" -port "${PORT[$s]}" -user "$FTP_USER" -passfile "$PASSFILE" "${op[@]}" \
    2>>"$RUN_DIR/errors-$s.log") || out=""
  if [[ $metric == stor_* ]]; then
    bytes=$(stat -c %s "$HOME_DIR/up/up.bin" 2>/dev/null || echo 0)
    rm -f "$HOME_DIR/up/up.bin"
  else
    bytes=$BIG_BYTES
  fi
  if [[ $out == *" bytes=$BIG_BYTES "* && $bytes == "$BIG_BYTES" ]]; then
    sample "$s" "$metric" "$r" "$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out")"
    if [[ $r == 1 ]]; then info "$s" "${metric}_tls" "$(sed -n 's/.*\(cipher=.*\)/\1/p' <<<"$out")"; fi
  else
    log "$s $metric run $r failed (${out:-see errors-$s.log})"
    sample "$s" "$metric" "$r" FAIL
  fi
}

# interleaved METRIC CURLCMD... : RUNS rounds, each server once per round, so
# that a slow phase of the (shared, virtual) machine hits all servers alike
# The order rotates from round to round, so that no server always goes
# first, or always follows the same one (whose upload the kernel may still
# be cleaning up). PROT P rounds end with one run of the Go TLS loopback
# ceiling (tlsloop_tls13_rounds): the ceiling of the same phases of the VM,
# whose speed drifts by a fifth or more within one run.
interleaved() {
  local metric=$1 r i n=${#ACTIVE[@]} out
  shift
  log "$metric: $RUNS rounds over ${ACTIVE[*]} (order rotating)"
  for ((r = 1; r <= RUNS; r++)); do
    for ((i = 0; i < n; i++)); do
      budget_left || return 0
      transfer_once "${ACTIVE[(i + r - 1) % n]}" "$metric" "$r" "$@"
    done
    if [[ $metric == *_protp* ]] && out=$(timeout 120 "$TLSLOOP" -mode tls13 -bytes "$BIG_BYTES"); then
      sample limits tlsloop_tls13_rounds "$metric.$r" "$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out")"
    fi
  done
  return 0
}

# start_all MODE SERVER... : start each server; ACTIVE = those that came up
ACTIVE=()
start_all() {
  local mode=$1 s
  shift
  ACTIVE=()
  for s in "$@"; do
    if (start_one "$s" "$mode"); then
      ACTIVE+=("$s")
    else
      info run "failed_$s" "did not start in $mode mode (see the run log)"
      stop_one "$s"
    fi
  done
  return 0
}

list_tests() {
  local s=$1 r out url=ftp://$HOST:${PORT[$1]}
  for ((r = 1; r <= LIST_RUNS; r++)); do
    budget_left || return 0
    # time_pretransfer is when curl is about to send LIST; after it: LIST,
    # data-connection TLS handshake, transfer, 226
    out=$(client "${CURL_P[@]}" -o /dev/null -w '%{time_pretransfer} %{time_total} %{size_download}' "$url/small/" 2>>"$RUN_DIR/errors-$s.log") || out="FAIL"
    if [[ $out == FAIL ]]; then sample "$s" list_curl_ms "$r" FAIL; continue; fi
    sample "$s" list_curl_ms "$r" "$(awk '{printf "%.2f", ($2-$1)*1000}' <<<"$out")"
    sample "$s" list_curl_session_ms "$r" "$(awk '{printf "%.1f", $2*1000}' <<<"$out")"
    if [[ $r == 1 ]]; then info "$s" list_bytes_curl "$(awk '{print $3}' <<<"$out")"; fi
  done
  out=$(client "${PY[@]}" list --port "${PORT[$s]}" --user "$FTP_USER" --passfile "$PASSFILE" \
        --dir small --n "$LIST_RUNS" 2>&1 || true)
  info "$s" list_python "$out"
  json_samples "$s" "$out" list
  return 0
}

# json_samples SERVER JSON KIND: samples from a client's JSON result (the
# info row keeps the whole JSON; samples feed the targets and bench/chart)
#   list: list_python_ms / mlsd_python_ms, one per timed command
#   idle: idle_{rss,pss,uss}_kib_per_session, idle_rss_mib_total, idle_opened
#   idle10k: the same names with idle10k_ in front
json_samples() {
  local m r v
  while IFS=$'\t' read -r m r v; do sample "$1" "$m" "$r" "$v"; done < <(python3 - "$2" "$3" <<'EOF'
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    d = {}
kind = sys.argv[2]
if kind == "list":
    for key, metric in (("LIST", "list_python_ms"), ("MLSD", "mlsd_python_ms")):
        x = d.get(key)
        if isinstance(x, dict):
            for i, t in enumerate(x.get("times_ms", []), 1):
                print("%s\t%d\t%.2f" % (metric, i, t))
elif d.get("opened"):
    for k in ("rss", "pss", "uss"):
        print("%s_%s_kib_per_session\t1\t%s" % (kind, k, d["%s_kib_per_session" % k]))
    print("%s_rss_mib_total\t1\t%.1f" % (kind, d["during"]["rss_kib"] / 1024))
    print("%s_uss_mib_total\t1\t%.1f" % (kind, d["during"]["uss_kib"] / 1024))
    print("%s_opened\t1\t%d" % (kind, d["opened"]))
EOF
)
}

# python_sessions KEY PARALLEL: SESSIONS sessions per server with the Python
# client, in 4 interleaved rounds; sums ok/failed/seconds per server
python_sessions() {
  local key=$1 par=$2 round s out per=$(((SESSIONS + 3) / 4))
  local o f t e
  declare -A n_ok=() n_failed=() n_secs=() n_err=()
  log "$key: $SESSIONS sessions per server, $par client(s), 4 rounds"
  for ((round = 1; round <= 4; round++)); do
    for s in "${ACTIVE[@]}"; do
      budget_left || break 2
      out=$(client "${PY[@]}" sessions --port "${PORT[$s]}" --user "$FTP_USER" --passfile "$PASSFILE" \
            --file "small/f000$round.bin" --n "$per" --parallel "$par" --max-seconds 60 2>&1 || true)
      read -r o f t e < <(python3 -c 'import json,sys
try: d=json.loads(sys.argv[1])
except ValueError: d={"failed": 1, "last_error": sys.argv[1][:80]}
e = d.get("last_error")
e = None if e is None else str(e).replace("\\", "/").replace(chr(34), chr(39))
print(d.get("ok", 0), d.get("failed", 0), d.get("seconds", 0), json.dumps(e))' "$out")
      n_ok[$s]=$((${n_ok[$s]:-0} + o))
      n_failed[$s]=$((${n_failed[$s]:-0} + f))
      n_secs[$s]=$(awk -v a="${n_secs[$s]:-0}" -v b="$t" 'BEGIN{print a+b}')
      if [[ $e != null ]]; then n_err[$s]=$e; fi
      sample "$s" "$key" "$round" "$(awk -v n="$o" -v t="$t" 'BEGIN{ if (t > 0) printf "%.1f", n/t; else print "FAIL" }')"
    done
  done
  for s in "${ACTIVE[@]}"; do
    info "$s" "$key" "$(awk -v n="${n_ok[$s]:-0}" -v f="${n_failed[$s]:-0}" -v t="${n_secs[$s]:-0}" -v p="$par" -v e="${n_err[$s]:-null}" \
      'BEGIN{printf "{\"ok\": %d, \"failed\": %d, \"parallel\": %d, \"seconds\": %.3f, \"sessions_per_s\": %s, \"last_error\": %s}", n, f, p, t, (t > 0 ? sprintf("%.1f", n/t) : "null"), e}')"
  done
  return 0
}

# curl_sessions SERVER: SESSIONS sequential curl processes (capped in time)
curl_sessions() {
  local s=$1 ok=0 fail=0 t0 t1 i f cap=$((SECONDS + CURL_LOOP_MAX_S))
  budget_left || return 0
  t0=$(date +%s.%N)
  for ((i = 0; i < SESSIONS && SECONDS < cap; i++)); do
    printf -v f 'f%04d.bin' $((i % SMALL_COUNT))
    if client "${CURL_S[@]}" -o /dev/null "ftp://$HOST:${PORT[$s]}/small/$f" 2>>"$RUN_DIR/errors-$s.log"; then
      ok=$((ok + 1))
    else
      fail=$((fail + 1))
    fi
  done
  t1=$(date +%s.%N)
  info "$s" sessions_curl "$(awk -v n="$ok" -v f="$fail" -v a="$t0" -v b="$t1" \
    'BEGIN{printf "{\"ok\": %d, \"failed\": %d, \"seconds\": %.2f, \"sessions_per_s\": %.1f}", n, f, b-a, n/(b-a)}')"
  return 0
}

# idle_big_count: IDLE_BIG, or fewer if ftpsd's descriptor limit (one per
# session) cannot hold that many; the report then says so and extrapolates
idle_big_count() {
  local lim
  lim=$(ulimit -n)
  if [[ $lim == unlimited ]] || ((IDLE_BIG + 100 <= lim)); then echo "$IDLE_BIG"; else echo $((lim - 100)); fi
}

# idle_big: ftpsd only, IDLE_BIG idle logged-in TLS sessions at once
# (tools/idleclient): does 10,000 fit in less than 1 GiB? Bounded: 300 s
# to open them, plus the hold and the closing.
idle_big() {
  local pid out
  ((IDLE_BIG > 0)) || return 0
  stop_one ftpsd   # fresh process, as for the idle step
  (start_one ftpsd strict) || return 0
  pid=$(running_pid ftpsd) || return 0
  local n
  n=$(idle_big_count)
  log "ftpsd: memory with $n idle logged-in TLS sessions (tools/idleclient, nofile $(ulimit -n))"
  if ((n < IDLE_BIG)); then
    log "WARNING: ulimit -n is $(ulimit -n) and cannot be raised: $n sessions instead of $IDLE_BIG"
    [[ -z $RUN_DIR ]] || info ftpsd idle10k_limit "ulimit -n $(ulimit -n) (hard $(ulimit -Hn)); ftpsd holds 1 descriptor per session (see fds in the result): $n of $IDLE_BIG sessions"
  fi
  out=$(client timeout 420 "$IDLECLIENT" -port "${PORT[ftpsd]}" -user "$FTP_USER" -passfile "$PASSFILE" \
        -pid "$pid" -n "$n" -max-seconds 300 2>&1 || true)
  if [[ -n $RUN_DIR ]]; then
    info ftpsd idle10k "$out"
    json_samples ftpsd "$out" idle10k
  else
    printf '%s\n' "$out"
  fi
  return 0
}

measure_servers() {
  local s out pid
  # ---- phase 1: data TLS required (PROT P), all servers up
  start_all strict "$@"
  for s in "${ACTIVE[@]}"; do
    info "$s" launch "$(cat "$STATE/run/$s/cmdline")"
    tls_probe "$s"
  done
  interleaved retr_protp "${CURL_P[@]}"
  interleaved stor_protp "${CURL_P[@]}"
  interleaved retr_protp_go "$GOFTPS"
  interleaved stor_protp_go "$GOFTPS"
  log "LIST of $SMALL_COUNT files"
  for s in "${ACTIVE[@]}"; do list_tests "$s"; done
  python_sessions sessions_python_seq 1
  python_sessions sessions_python_par4 4
  for s in "${ACTIVE[@]}"; do
    log "$s: $SESSIONS sequential curl sessions (at most ${CURL_LOOP_MAX_S} s)"
    curl_sessions "$s"
  done
  for s in "${ACTIVE[@]}"; do
    budget_left || break
    log "$s: memory with $IDLE idle logged-in TLS sessions"
    if [[ $s == ftpsd ]]; then
      # A Go process keeps heap freed by the earlier tests mapped for minutes
      # and would lend it to the new sessions (the peers' session processes
      # are all new): measure from a fresh ftpsd, as the peers are measured
      # from fresh session processes.
      stop_one ftpsd
      (start_one ftpsd strict) || continue
    fi
    pid=$(running_pid "$s") || continue
    out=$(client "${PY[@]}" idle --port "${PORT[$s]}" --user "$FTP_USER" --passfile "$PASSFILE" \
          --pid "$pid" --n "$IDLE" 2>&1 || true)
    info "$s" idle "$out"
    json_samples "$s" "$out" idle
  done
  if [[ " ${ACTIVE[*]} " == *" ftpsd "* ]] && budget_left; then idle_big; fi
  cmd_stop

  # ---- phase 2: PROT C allowed (servers restarted with a config switch)
  budget_left || return 0
  log "PROT C: servers restarted with data TLS optional"
  start_all protc "$@"
  for s in "${ACTIVE[@]}"; do
    out=$(client "${CURL_C[@]}" -v -o /dev/null "ftp://$HOST:${PORT[$s]}/small/f0000.bin" 2>&1 || true)
    info "$s" protc_check "$(grep -E '^> PROT|^< 200 .*(PROT|[Pp]rotection|[Cc]lear)' <<<"$out" | paste -sd ' ' - | cut -c1-120)"
  done
  interleaved retr_protc "${CURL_C[@]}"
  interleaved stor_protc "${CURL_C[@]}"
  cmd_stop
  return 0
}

record_commands() {
  local b=${CURL_P[*]} p=${CURL_C[*]}
  local pyc="python3 bench/peers/tools/ftpclient.py"
  local auth="--port PORT --user $FTP_USER --passfile $PASSFILE"
  local wr='%{time_pretransfer} %{time_total} %{size_download} %{speed_download}'
  local ws='%{time_pretransfer} %{time_total} %{size_upload} %{speed_upload}'
  info commands "RETR, PROT P ($RUNS rounds, servers interleaved; MB/s = size / (total - pretransfer))" "$b -o /dev/null -w '$wr' ftp://127.0.0.1:PORT/big.bin"
  info commands "STOR, PROT P ($RUNS rounds, servers interleaved)" "$b -T $HOME_DIR/big.bin -w '$ws' ftp://127.0.0.1:PORT/up/up.bin"
  info commands "RETR, PROT P, Go client ($RUNS rounds, servers interleaved)" "bench/peers/tools/goftps $auth -retr big.bin"
  info commands "STOR, PROT P, Go client ($RUNS rounds, servers interleaved)" "bench/peers/tools/goftps $auth -stor up/up.bin -file $HOME_DIR/big.bin"
  info commands "RETR, PROT C ($RUNS rounds, servers interleaved)" "$p -o /dev/null -w '$wr' ftp://127.0.0.1:PORT/big.bin"
  info commands "STOR, PROT C ($RUNS rounds, servers interleaved)" "$p -T $HOME_DIR/big.bin -w '$ws' ftp://127.0.0.1:PORT/up/up.bin"
  info commands "LIST, curl (x$LIST_RUNS)" "$b -o /dev/null -w '%{time_pretransfer} %{time_total} %{size_download}' ftp://127.0.0.1:PORT/small/"
  info commands "LIST + MLSD in one session" "$pyc list $auth --dir small --n $LIST_RUNS"
  local per=$(((SESSIONS + 3) / 4))
  info commands "sessions, python, sequential (4 rounds R=1..4, servers interleaved)" "$pyc sessions $auth --file small/f000R.bin --n $per --max-seconds 60"
  info commands "sessions, python, 4 threads (4 rounds, servers interleaved)" "$pyc sessions $auth --file small/f000R.bin --n $per --parallel 4 --max-seconds 60"
  info commands "sessions, curl loop" "for i in 0..$((SESSIONS - 1)) (stops after ${CURL_LOOP_MAX_S}s): ${CURL_S[*]} -o /dev/null ftp://127.0.0.1:PORT/small/f\$(printf %04d i).bin"
  info commands "idle sessions + memory (ftpsd: restarted just before)" "$pyc idle $auth --pid MASTER_PID --n $IDLE"
  if ((IDLE_BIG > 0)); then
    info commands "idle sessions + memory, ftpsd only (ulimit -n raised)" "$IDLECLIENT -port 2124 -user $FTP_USER -passfile $PASSFILE -pid FTPSD_PID -n $IDLE_BIG -max-seconds 300"
  fi
  info commands "TLS session reuse probe" "$pyc reuse $auth --file small/f0000.bin"
  info commands "TLS versions" "openssl s_client -connect 127.0.0.1:PORT -starttls ftp -tls1_3|-tls1_2|-tls1_1 -brief (tls1_1 with -cipher DEFAULT:@SECLEVEL=0)"
}

cmd_measure() {
  local servers=("$@"); ((${#servers[@]})) || servers=("${SERVERS_ALL[@]}")
  check_servers "${servers[@]}"
  local s
  for s in "${servers[@]}"; do
    [[ $s == ftpsd || -x $(server_bin "$s") ]] || die "$s is not installed; run: bash run.sh install"
  done
  trap 'cmd_stop' EXIT
  trap 'exit 130' INT TERM
  raise_nofile
  cmd_stop
  build_go
  ensure_fixtures
  for s in "${servers[@]}"; do   # each run's server logs are copied into RUN_DIR
    if [[ -f $STATE/run/$s/server.log ]]; then : >"$STATE/run/$s/server.log"; fi
  done
  RUN_DIR=${FTPBENCH_RUN_DIR:-$STATE/results/$(date -u +%Y%m%dT%H%M%SZ)}
  mkdir -p "$RUN_DIR"
  : >"$RUN_DIR/samples.tsv"; : >"$RUN_DIR/info.tsv"
  info run servers "${servers[*]}"
  info run knobs "runs=$RUNS sessions=$SESSIONS idle=$IDLE idle_big=$IDLE_BIG big=${BIG_MIB}MiB cert=$CERT_KIND pin=$PIN ftpsd_sync=$FTPSD_SYNC"
  log "results go to $RUN_DIR"
  machine_facts
  record_commands
  measure_limits
  measure_servers "${servers[@]}"
  local out
  # noise gauge: the same Go TLS loopback run as at the start
  if out=$(timeout 120 "$TLSLOOP" -mode tls13 -bytes "$BIG_BYTES"); then
    sample limits tlsloop_tls13_end 1 "$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out")"
  fi
  info run elapsed_s "$SECONDS"
  for s in "${servers[@]}"; do
    if [[ -f $STATE/run/$s/server.log ]]; then cp "$STATE/run/$s/server.log" "$RUN_DIR/server-$s.log"; fi
  done
  # report.py also writes $RUN_DIR/targets.tsv (issue #7's targets)
  python3 "$HERE/tools/report.py" "$RUN_DIR" >"$RUN_DIR/RESULTS.md"
  if [[ $CHARTS == 1 ]]; then
    log "charts: go run ./bench/chart -> $RUN_DIR/charts"
    (cd "$REPO" && GOTOOLCHAIN=local timeout 600 go run ./bench/chart -run "$RUN_DIR" -out "$RUN_DIR/charts") ||
      log "WARNING: bench/chart failed"
  fi
  ln -sfn "$RUN_DIR" "$STATE/results/latest" 2>/dev/null || true
  if [[ ${FTPBENCH_COPY_RESULTS:-0} == 1 ]]; then cp "$RUN_DIR/RESULTS.md" "$HERE/RESULTS.md"; fi
  cat "$RUN_DIR/RESULTS.md"
  log "wrote $RUN_DIR/RESULTS.md, targets.tsv, samples.tsv, info.tsv$([[ $CHARTS == 1 ]] && echo ', charts/')"
}

# idle10k on its own: start ftpsd (strict), hold IDLE_BIG sessions, stop
cmd_idle10k() {
  ((IDLE_BIG > 0)) || die "FTPBENCH_IDLE_BIG must be > 0"
  raise_nofile
  build_go
  trap 'cmd_stop' EXIT
  trap 'exit 130' INT TERM
  ensure_fixtures
  cmd_stop
  RUN_DIR=""
  idle_big
}

# clean: stop, then undo what start/install changed outside the Debian
# packages: test user, PAM file, /etc/shells entry, the state directory
cmd_clean() {
  cmd_stop
  if [[ -f $STATE/.added-nologin-to-etc-shells ]]; then
    remove-shell /usr/sbin/nologin && rm -f "$STATE/.added-nologin-to-etc-shells"
  fi
  if cmp -s "$HERE/conf/pam-ftpbench" /etc/pam.d/ftpbench; then rm -f /etc/pam.d/ftpbench; fi
  if id -u "$FTP_USER" >/dev/null 2>&1 &&
     [[ $(getent passwd "$FTP_USER" | cut -d: -f6) == "$HOME_DIR" ]]; then
    userdel "$FTP_USER"
  fi
  if [[ -d $STATE && ( -f $STATE/user.pass || -d $STATE/root ) && $STATE != / ]]; then
    rm -rf -- "$STATE"
  fi
  log "clean: removed $STATE, user $FTP_USER, /etc/pam.d/ftpbench (apt packages stay)"
}

cmd_all() {
  cmd_install
  cmd_measure "$@"
  cmd_stop
}

main() {
  local sub=${1:-}; shift || true
  case $sub in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    measure) cmd_measure "$@" ;;
    idle10k) cmd_idle10k ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    clean) cmd_clean ;;
    all) cmd_all "$@" ;;
    *) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
}
main "$@"
