#!/usr/bin/env bash
# Installs what CurveFS-TS needs on a Debian machine, idempotently:
# system packages (libfuse2, fuse, etcd-server, and libfuse-dev with a C
# toolchain for our FUSE addon) with apt-get when missing, then the npm
# packages (npm ci, which also builds the TypeScript), then the FUSE addon
# (client/fuse/native, node-gyp against Node's installed headers).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
dpkg -s libfuse2 >/dev/null 2>&1 || need+=(libfuse2)
dpkg -s libfuse-dev >/dev/null 2>&1 || need+=(libfuse-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v make >/dev/null 2>&1 || need+=(make)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v python3 >/dev/null 2>&1 || need+=(python3)
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

# The FUSE addon (client/fuse/native: fuse-native 2.2.6's C part, patched to
# pass each request's uid/gid/pid). Rebuilt when missing or older than its
# sources; a failed build stops here (set -e), loudly.
native=client/fuse/native
addon=$native/build/Release/curvefs_fuse.node
if [ ! -f "$addon" ] || [ -n "$(find "$native" -maxdepth 1 -type f -newer "$addon")" ]; then
  echo "install-deps: building the FUSE addon ($native)"
  log=$(mktemp)
  if ! npm run build:native >"$log" 2>&1 || [ ! -f "$addon" ]; then
    cat "$log" >&2
    rm -f "$log"
    echo "install-deps: the FUSE addon $addon could not be built (needs libfuse-dev, make, g++, python3)" >&2
    exit 1
  fi
  rm -f "$log"
fi
