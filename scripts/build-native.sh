#!/usr/bin/env bash
# Builds the FUSE addon (client/fuse/native: fuse-native 2.2.6's C part,
# patched to pass each request's uid/gid/pid) with node-gyp, against the
# headers of the Node that runs this script (never downloaded) and the
# system libfuse 2 (Debian libfuse-dev). Run through `npm run build:native`,
# which puts npm's own node-gyp on PATH. Fails loudly on any error.
set -euo pipefail
cd "$(dirname "$0")/.."
nodedir=$(node -p "require('path').resolve(process.execPath, '..', '..')")
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "build-native: Node's headers are not in $nodedir/include/node (install Node with its headers)" >&2
  exit 1
fi
if ! pkg-config --exists fuse; then
  echo "build-native: libfuse 2 headers are missing (apt-get install libfuse-dev pkg-config)" >&2
  exit 1
fi
if ! command -v node-gyp >/dev/null 2>&1; then
  echo "build-native: node-gyp is not on PATH (run this as \`npm run build:native\`)" >&2
  exit 1
fi
node-gyp rebuild --directory client/fuse/native --nodedir="$nodedir"
test -f client/fuse/native/build/Release/curvefs_fuse.node
