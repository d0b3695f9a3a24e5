#!/usr/bin/env python3
"""Second opinion on pip ownership: bytes of the files each RECORD lists, in an unpacked rootfs.

Usage: record_totals.py ROOTFS  ->  JSON on stdout:
  {"dists": {"<dist-info dir>": {"listed": bytes, "exclusive": bytes}}, "shared": bytes}
listed: regular files the RECORD lists that exist; exclusive: those no other RECORD lists;
shared: the distinct bytes of files several RECORDs list (nvidia/__init__.py and its .pyc).
Reads RECORD with the csv module as pip does; counts each file once per RECORD.
"""
import csv
import json
import os
import sys


def main(root):
    listed = {}
    for dirpath, dirnames, _files in os.walk(root):
        for name in dirnames:
            record = os.path.join(dirpath, name, "RECORD")
            if not name.endswith(".dist-info") or not os.path.isfile(record):
                continue
            files = set()
            with open(record, newline="", encoding="utf-8") as f:
                for row in csv.reader(f):
                    if not row:
                        continue
                    path = os.path.normpath(os.path.join(dirpath, row[0]))
                    if path.startswith(root) and os.path.isfile(path) and not os.path.islink(path):
                        files.add(path)
            listed[name] = files
    owners = {}
    for name, files in listed.items():
        for path in files:
            owners.setdefault(path, []).append(name)
    size = lambda paths: sum(os.lstat(p).st_size for p in paths)
    dists = {
        name: {"listed": size(files), "exclusive": size(p for p in files if len(owners[p]) == 1)}
        for name, files in listed.items()
    }
    shared = size(p for p, names in owners.items() if len(names) > 1)
    json.dump({"dists": dists, "shared": shared}, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
