#!/usr/bin/env python3
"""Writes a valid WebAssembly module whose size comes from one large data segment.

Used by bench/oci_pull.sh to measure pulls of big policies. The module exports a memory large
enough for the segment and an empty `_start`, so it validates and instantiates as a WASI
policy; annotate it with kwctl (executionMode: wasi) before pushing.

usage: make_big_module.py OUTPUT SIZE_MIB [SEED]
"""
import os
import random
import sys


def leb128(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def section(section_id, payload):
    return bytes([section_id]) + leb128(len(payload)) + payload


def name(text):
    raw = text.encode()
    return leb128(len(raw)) + raw


def module(data):
    pages = (len(data) + 65535) // 65536 + 1
    types = leb128(1) + b"\x60\x00\x00"                      # one type: () -> ()
    funcs = leb128(1) + leb128(0)                            # one function of that type
    memory = leb128(1) + b"\x00" + leb128(pages)             # min pages, no max
    exports = leb128(2) + name("memory") + b"\x02" + leb128(0) + name("_start") + b"\x00" + leb128(0)
    body = b"\x00\x0b"                                       # no locals, end
    code = leb128(1) + leb128(len(body)) + body
    # Active segment in memory 0 at offset (i32.const 0).
    segment = b"\x00" + b"\x41\x00\x0b" + leb128(len(data)) + data
    datas = leb128(1) + segment
    return (b"\x00asm\x01\x00\x00\x00" + section(1, types) + section(3, funcs) +
            section(5, memory) + section(7, exports) + section(10, code) + section(11, datas))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    size = int(float(sys.argv[2]) * 1024 * 1024)
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 42)
    # Random bytes: nothing along the way can shrink the transfer by compressing it.
    data = rng.randbytes(size)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(module(data))
    os.replace(tmp, sys.argv[1])


if __name__ == "__main__":
    main()
