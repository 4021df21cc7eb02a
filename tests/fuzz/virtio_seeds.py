#!/usr/bin/env python3
"""Writes seed inputs for build/fuzz/fuzz_virtio (tests/fuzz/fuzz_virtio.c) to OUTDIR.

Usage: tests/fuzz/virtio_seeds.py OUTDIR

Each seed is a well-formed driver session for one device: the header, a few
operations (notify, host events) and a RAM image whose rings hold valid
chains, so that the fuzzer starts from requests the device serves and mutates
from there. The layout follows fuzz_virtio.c: queue q's descriptor table at
0x2000 * q, its avail ring 4 KiB above, its used ring 5 KiB above; buffers
from 0x8000.
"""
import os
import struct
import sys

NEXT, WRITE, INDIRECT = 1, 2, 4
ALL = 0xFFFFFFFFFFFFFFFF  # every feature the device offers


def queue(q):
    return 0x2000 * q


class Seed:
    def __init__(self, dev, qsize_log2, flags=0, features=ALL):
        self.head = bytes([dev, (qsize_log2 & 0x3F) | flags]) + struct.pack("<Q", features)
        self.ops = b""
        self.ram = bytearray(0x10000)

    def put(self, gpa, data):
        end = gpa + len(data)
        if end > len(self.ram):
            self.ram.extend(bytes(end - len(self.ram)))
        self.ram[gpa:end] = data

    def desc(self, table, i, addr, length, flags=0, nxt=0):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def avail(self, q, heads, visible=None):
        """The ring holds @heads; avail->idx shows the first @visible (all)."""
        base = queue(q) + 0x1000
        self.put(base, struct.pack("<HH", 0, len(heads) if visible is None else visible))
        for k, h in enumerate(heads):
            self.put(base + 4 + 2 * k, struct.pack("<H", h))

    def op(self, kind, q=0, off=0, value=0):
        self.ops += struct.pack("<BBHI", kind, q, off, value)

    def notify(self, q):
        self.op(2, q)

    def host_event(self, value=0):
        self.op(4, 0, 0, value)

    def post_more(self, q, n):
        """avail->idx moves on by @n (chains already in the ring), then a notify."""
        self.op(3, q, 0, n)

    def data(self):
        return self.head + bytes([len(self.ops) // 8]) + self.ops + bytes(self.ram)


def rng():
    s = Seed(0, 4)
    s.desc(queue(0), 0, 0x8000, 64, WRITE)
    s.desc(queue(0), 1, 0x9000, 32, INDIRECT)  # an indirect table of two buffers
    s.desc(0x9000, 0, 0x8100, 16, WRITE | NEXT, 1)
    s.desc(0x9000, 1, 0x8200, 16, WRITE)
    s.avail(0, [0, 1])
    s.notify(0)
    return s


def block(flags=0):
    s = Seed(1, 4, flags)
    t = queue(0)
    reqs = [  # (type, sector, data length, data device-writable)
        (0, 0, 512, True),  # IN
        (1, 1, 1024, False),  # OUT
        (4, 0, 0, False),  # FLUSH
        (8, 0, 20, True),  # GET_ID
    ]
    heads, i = [], 0
    for k, (typ, sector, length, wr) in enumerate(reqs):
        hdr, data, st = 0x8000 + 0x40 * k, 0xA000 + 0x1000 * k, 0x8800 + 0x40 * k
        s.put(hdr, struct.pack("<IIQ", typ, 0, sector))
        heads.append(i)
        s.desc(t, i, hdr, 16, NEXT, i + 1)
        i += 1
        if length:
            s.desc(t, i, data, length, NEXT | (WRITE if wr else 0), i + 1)
            i += 1
        s.desc(t, i, st, 1, WRITE)
        i += 1
    s.avail(0, heads)
    s.notify(0)
    s.host_event()
    return s


def net():
    s = Seed(2, 4)
    # tx (queue 1): a 12-byte virtio_net_hdr_v1 and a 60-byte frame, in two buffers
    s.put(0x8000, bytes(12))
    s.put(0x8100, bytes.fromhex("ffffffffffff060000000001") + b"\x88\xb5" + bytes(46))
    s.desc(queue(1), 0, 0x8000, 12, NEXT, 1)
    s.desc(queue(1), 1, 0x8100, 60)
    s.avail(1, [0])
    # rx (queue 0): four 2 KiB buffers
    for i in range(4):
        s.desc(queue(0), i, 0x9000 + 0x800 * i, 2048, WRITE)
    s.avail(0, [0, 1, 2, 3])
    s.notify(1)
    s.notify(0)
    s.host_event(60)
    s.host_event(1514)
    return s


def balloon(flags=0):
    s = Seed(3, 4, flags)
    pfns = struct.pack("<4I", 0x10, 0x11, 0x12, 0x13)
    s.put(0x8000, pfns)
    s.desc(queue(0), 0, 0x8000, 16)  # inflate
    s.avail(0, [0])
    s.put(0x8100, pfns)
    s.desc(queue(1), 0, 0x8100, 16)  # deflate
    s.avail(1, [0])
    s.put(0x9000, struct.pack("<HQHQHQ", 4, 1 << 20, 5, 8 << 20, 6, 32 << 20))
    s.desc(queue(2), 0, 0x9000, 30)  # statistics: free, total, available
    s.avail(2, [0])
    s.desc(queue(3), 0, 0x14000, 0x2000, WRITE)  # a reported free range
    s.avail(3, [0])
    for q in range(4):
        s.notify(q)
    s.host_event()
    return s


def vsock_pkt(op, src_port=5000, dst_port=1024, payload=b"", flags=0, buf_alloc=65536, fwd_cnt=0):
    """virtio_vsock_hdr (44 bytes, guest CID 3 to the host's 2, stream) and a payload."""
    return struct.pack("<QQIIIHHIII", 3, 2, src_port, dst_port, len(payload), 1, op, flags,
                       buf_alloc, fwd_cnt) + payload


def vsock(script):
    """rx buffers posted; the guest's first tx packet, the host side's turn (connections
    complete, data, a host client's CONNECT), then the rest of the packets, one chain
    each (header, payload)."""
    s = Seed(4, 4)
    for i in range(8):  # rx (queue 0): 4 KiB buffers
        s.desc(queue(0), i, 0x10000 + 0x1000 * i, 0x1000, WRITE)
    s.avail(0, list(range(8)))
    heads = []
    for i, pkt in enumerate(script):
        buf = 0x8000 + 0x200 * i
        s.put(buf, pkt)
        if len(pkt) > 44:
            s.desc(queue(1), 2 * i, buf, 44, NEXT, 2 * i + 1)
            s.desc(queue(1), 2 * i + 1, buf + 44, len(pkt) - 44)
        else:
            s.desc(queue(1), 2 * i, buf, 44)
        heads.append(2 * i)
    s.avail(1, heads, 1)
    s.notify(0)
    s.notify(1)
    s.host_event(0)  # the connection completes: RESPONSE
    s.host_event(1 | 16 << 8)  # the host accepts and writes 16 bytes
    s.host_event(2)  # a host client: CONNECT 1024
    s.post_more(1, len(heads) - 1)
    s.host_event(0)
    s.host_event(3)  # a host end closes
    s.host_event(0)
    return s


def pmem():
    """A flush (type 0, a 4-byte status) and an unknown type."""
    s = Seed(5, 3)
    s.put(0x8000, struct.pack("<I", 0))
    s.put(0x8100, struct.pack("<I", 7))
    s.desc(queue(0), 0, 0x8000, 4, NEXT, 1)
    s.desc(queue(0), 1, 0x8010, 4, WRITE)
    s.desc(queue(0), 2, 0x8100, 4, NEXT, 3)
    s.desc(queue(0), 3, 0x8110, 4, WRITE)
    s.avail(0, [0, 2])
    s.notify(0)
    return s


def mem():
    """The host requests 2 blocks; the guest plugs one, asks its state, unplugs all."""
    s = Seed(6, 3)
    base = 512 << 10  # region 1
    reqs = [struct.pack("<HHHHQHHHH", 0, 0, 0, 0, base, 1, 0, 0, 0),
            struct.pack("<HHHHQHHHH", 3, 0, 0, 0, base, 2, 0, 0, 0),
            struct.pack("<HHHHQHHHH", 2, 0, 0, 0, 0, 0, 0, 0, 0)]
    for k, r in enumerate(reqs):
        s.put(0x8000 + 0x100 * k, r)
        s.desc(queue(0), 2 * k, 0x8000 + 0x100 * k, 24, NEXT, 2 * k + 1)
        s.desc(queue(0), 2 * k + 1, 0x8080 + 0x100 * k, 10, WRITE)
    s.avail(0, [0, 2, 4])
    s.host_event(2)
    s.notify(0)
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "rng": rng(),
        "block": block(),
        "block-ro-unsafe": block(0x80 | 0x40),
        "net": net(),
        "balloon": balloon(),
        # free page hinting instead of reporting: a run starts (host event 0), queue 3's
        # buffer is a hint
        "balloon-hint": balloon(0x80),
        "pmem": pmem(),
        "mem": mem(),
        # REQUEST, RW "hello", CREDIT_UPDATE, SHUTDOWN (both ways); then a RST
        "vsock": vsock([vsock_pkt(1), vsock_pkt(5, payload=b"hello"), vsock_pkt(6),
                        vsock_pkt(4, flags=3), vsock_pkt(3)]),
        # CREDIT_REQUEST and RW on an unknown connection; a RESPONSE nobody asked for
        "vsock-stray": vsock([vsock_pkt(7, 6000), vsock_pkt(5, 6001, payload=b"x" * 100),
                              vsock_pkt(2, 6002)]),
    }
    # Each again with a snapshot round trip (operation 6) after its operations, then a
    # notification and a host event: the restored device goes on with the same rings.
    for name, s in list(seeds.items()):
        snap = Seed.__new__(Seed)
        snap.__dict__ = {k: (bytearray(v) if isinstance(v, bytearray) else v)
                         for k, v in s.__dict__.items()}
        snap.op(6)
        snap.notify(0)
        snap.host_event()
        seeds[name + "-snapshot"] = snap
    for name, s in seeds.items():
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(s.data())


if __name__ == "__main__":
    main()
