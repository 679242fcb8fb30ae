# The CurveFS FUSE binding (curvefs-fuse.c, patched from fuse-native 2.2.6),
# built by `npm run build:native` against the system libfuse 2 (Debian
# libfuse-dev). pkg-config fails the build loudly when libfuse-dev is missing.
{
  "targets": [{
    "target_name": "curvefs_fuse",
    "sources": ["curvefs-fuse.c"],
    "include_dirs": ["."],
    "cflags": ["-g", "-O2", "-Wall", "<!@(pkg-config --cflags fuse)"],
    "libraries": ["<!@(pkg-config --libs fuse)"]
  }]
}
