#!/usr/bin/env bash
# The README's first command: installs what is needed (idempotently) and runs
# `curvefs local up` with the given arguments (e.g. --mount /mnt/curvefs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >&2
exec node bin/curvefs.js local up "$@"
