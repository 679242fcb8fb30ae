#!/usr/bin/env bash
# Installs what CurveFS-TS needs on a Debian machine, idempotently:
# system packages (libfuse2, fuse, etcd-server) with apt-get when missing,
# then the npm packages (npm ci, which also builds the TypeScript).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
dpkg -s libfuse2 >/dev/null 2>&1 || need+=(libfuse2)
command -v fusermount >/dev/null 2>&1 || need+=(fuse)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# fusectl lets a stuck FUSE connection be aborted (tests use it as a last resort).
if [ -d /sys/fs/fuse/connections ] && [ -z "$(ls -A /sys/fs/fuse/connections 2>/dev/null)" ]; then
  mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run build --silent
fi
