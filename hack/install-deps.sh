#!/usr/bin/env bash
# Installs the system packages the tests and the demo use: the real FTPS
# clients (curl, lftp, Python 3 for ftplib) and openssl. Debian packages only;
# nothing when they are all present already.
set -euo pipefail

need=()
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v lftp >/dev/null 2>&1 || need+=(lftp)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v git >/dev/null 2>&1 || need+=(git)
# make image puts the CA roots into the images.
[ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
# The race detector needs a C toolchain.
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "missing packages: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo ">> apt-get install ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
