#!/usr/bin/env python3
"""Second opinion on pip ownership: bytes of the files each RECORD lists, in an unpacked rootfs.

Usage: record_totals.py ROOTFS  ->  JSON {"<dist-info dir name>": bytes, ...} on stdout.
Reads RECORD with the csv module as pip does; counts regular files that exist, once each.
"""
import csv
import json
import os
import sys


def main(root):
    totals = {}
    for dirpath, dirnames, _files in os.walk(root):
        for name in dirnames:
            if not name.endswith(".dist-info"):
                continue
            info = os.path.join(dirpath, name)
            record = os.path.join(info, "RECORD")
            if not os.path.isfile(record):
                continue
            seen = set()
            total = 0
            with open(record, newline="", encoding="utf-8") as f:
                for row in csv.reader(f):
                    if not row:
                        continue
                    path = os.path.normpath(os.path.join(dirpath, row[0]))
                    if not path.startswith(os.path.abspath(root)) or path in seen:
                        continue
                    seen.add(path)
                    if os.path.isfile(path) and not os.path.islink(path):
                        total += os.lstat(path).st_size
            totals[name] = total
    json.dump(totals, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
