#!/usr/bin/env python3
"""Second opinion on duplicate contents: identical regular files in an unpacked rootfs.

Usage: duplicate_groups.py ROOTFS [MIN_SIZE]  ->  JSON on stdout, a list of
  {"size": bytes, "count": copies, "paths": ["/a", "/b", ...]}
for every set of regular files of at least MIN_SIZE bytes (default 4096) with the same
SHA-256 stored as more than one inode. Hard links are one copy (their paths are all listed).
Symlinks are never followed. Sorted by (count - 1) * size, largest first, then by paths.
"""
import hashlib
import json
import os
import stat
import sys


def main(root, min_size):
    paths_of = {}  # (dev, ino) -> [paths]
    size_of = {}
    for dirpath, _dirnames, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or st.st_size < min_size:
                continue
            key = (st.st_dev, st.st_ino)
            paths_of.setdefault(key, []).append("/" + os.path.relpath(path, root))
            size_of[key] = st.st_size
    by_digest = {}
    for key, paths in paths_of.items():
        digest = hashlib.sha256()
        with open(os.path.join(root, paths[0][1:]), "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        by_digest.setdefault((size_of[key], digest.hexdigest()), []).append(key)
    groups = []
    for (size, _digest), keys in by_digest.items():
        if len(keys) < 2:
            continue
        paths = sorted(p for key in keys for p in paths_of[key])
        groups.append({"size": size, "count": len(keys), "paths": paths})
    groups.sort(key=lambda g: (-(g["count"] - 1) * g["size"], -g["size"], g["paths"]))
    json.dump(groups, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4096)
