#!/usr/bin/env bash
# npm run bench:fs [-- --quick]: CurveFS through a real FUSE mount, side by
# side with the local disk and the peers s3fs and rclone on the same S3
# server (../shared/bench/peers.sh: sequential dd bs=1M, creates, stats,
# unlinks, small files), then `ls -l` of a 10,000-entry directory on the
# local disk and on a CurveFS mount (`curvefs local up`, local object store).
#
# Sizes follow issue #7: 1 GiB sequential, 10,000 metadata ops, 1,000 files
# of 16 KiB; --quick: 256 MiB, 1,000, 300. Any BENCH_* variable overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${CURVEFS_SHARED:-$ROOT/../shared}
[ -f "$SHARED/bench/peers.sh" ] || { echo "fs-bench: $SHARED/bench/peers.sh not found (set CURVEFS_SHARED)" >&2; exit 1; }

quick=0
[ "${1:-}" = "--quick" ] && quick=1
if [ $quick = 1 ]; then
  : "${BENCH_SEQ_MB:=256}" "${BENCH_META_N:=1000}" "${BENCH_SMALL_N:=300}" "${LS_N:=2000}"
else
  : "${BENCH_SEQ_MB:=1024}" "${BENCH_META_N:=10000}" "${BENCH_SMALL_N:=1000}" "${LS_N:=10000}"
fi
: "${BENCH_SMALL_KB:=16}"
export BENCH_SEQ_MB BENCH_META_N BENCH_SMALL_N BENCH_SMALL_KB

bash scripts/install-deps.sh >/dev/null
bash "$SHARED/bench/peers.sh"

# ---- ls -l of a large directory: local disk vs CurveFS ----
work=$(mktemp -d /tmp/curvefs-lsbench.XXXXXX)
up_pid=""
cleanup() {
  if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then kill -TERM "$up_pid"; wait "$up_pid" 2>/dev/null || true; fi
  fusermount -u -z "$work/mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fill() { # DIR N: N empty files
  python3 - "$1" "$2" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(n):
    os.close(os.open(os.path.join(d, "f%06d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
PY
}
time_ls() { # DIR -> seconds for ls -l (output counted, discarded)
  local start end count
  start=$(date +%s.%N)
  count=$(ls -l "$1" | wc -l)
  end=$(date +%s.%N)
  [ "$count" -ge "$LS_N" ] || { echo "ls -l saw $count entries, expected $LS_N" >&2; exit 1; }
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }' 
}

mkdir -p "$work/local" "$work/mnt"
fill "$work/local/big" "$LS_N"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
local_s=$(time_ls "$work/local/big")

node bin/curvefs.js local up --mount "$work/mnt" --data "$work/data" --log-level warn > "$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 120); do grep -q '^ready:' "$work/up.log" && break; sleep 0.5; done
grep -q '^ready:' "$work/up.log" || { echo "curvefs local up did not start:"; cat "$work/up.log"; exit 1; }
fill "$work/mnt/big" "$LS_N"
# Cold: a fresh mount (client caches gone) after dropping the kernel's.
kill -TERM "$up_pid"; wait "$up_pid" || true
node bin/curvefs.js local up --mount "$work/mnt" --data "$work/data" --log-level warn > "$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 120); do grep -q '^ready:' "$work/up.log" && break; sleep 0.5; done
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
curve_cold_s=$(time_ls "$work/mnt/big")
curve_warm_s=$(time_ls "$work/mnt/big")

echo
echo "## ls -l of a ${LS_N}-entry directory"
echo
echo "| | local disk | curvefs cold | curvefs warm |"
echo "|---|---|---|---|"
awk -v n="$LS_N" -v l="$local_s" -v c="$curve_cold_s" -v w="$curve_warm_s" 'BEGIN {
  printf "| seconds | %.3f | %.3f | %.3f |\n", l, c, w
  printf "| entries/s | %.0f | %.0f | %.0f |\n", n / l, n / c, n / w
}' 
