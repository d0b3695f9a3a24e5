#!/usr/bin/env python3
"""Fat binary entry bytes of ELF files, by cubloaty's own parser (its Python API, not its
report, which also counts bare cubins kept outside fat binaries).

    python cubloaty_fatbins.py FILE...   (the python of the venv cubloaty is installed in)

Prints one JSON object: {file: {arch: bytes}}, bytes being each entry's header + padded
payload, over the fat binaries cubloaty finds: in fat binary sections as its report reads
them, elsewhere (.rodata, .data) the well-formed ones it finds by their magic.
"""

import json
import mmap
import struct
import sys

from cubloaty import elf as E
from cubloaty import fatbin as F
from cubloaty.analysis import FATBIN_SECTIONS


def fatbins(data, start, end, dedicated):
    if not dedicated:
        return F.find_fatbins(data, start, end, strict=True)
    try:
        return F.find_fatbins(data, start, end)
    except (F.FatbinError, struct.error):
        return F.find_fatbins(data, start, end, strict=True)


def by_arch(path):
    out = {}
    with open(path, "rb") as f:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        elf = E.ElfFile(data)
        for sec in elf.sections:
            if not sec.file_size or sec.offset + sec.size > len(data):
                continue
            start, end = sec.offset, sec.offset + sec.size
            dedicated = sec.name in FATBIN_SECTIONS or (
                "fatbin" in sec.name.lower() and F.is_fatbin(data, start)
            )
            for fatbin in fatbins(data, start, end, dedicated):
                for entry in fatbin.entries:
                    out[entry.arch] = out.get(entry.arch, 0) + entry.file_size
    return out


print(json.dumps({path: by_arch(path) for path in sys.argv[1:]}))
