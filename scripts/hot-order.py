#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""hot-order.py: write scripts/hot-order.ld, the order of ember's hot code and read-only data.

A process's resident set counts every page mapped into it, and the kernel maps a binary's
pages around each one touched (fault-around: 64 KiB windows, or a whole large page-cache
folio, up to a few hundred KiB on this host's ext4). So ember's resident text is the number
of windows its start and idle touch, not the size of the code it runs. This script records
what a VM's life touches and writes a linker script that puts those input sections first,
packed, in .text.hot and .rodata.hot; the rest (error paths, devices not configured, libc's
scanf, locale and wide-character code) stays after them, untouched.

  make build/ember guests build/bench/idle.elf && python3 scripts/hot-order.py && make

Runs build/ember under valgrind's lackey (every instruction and data access) twice: the
`hello` payload from a configuration file (--no-api, start to reset), then an API session
(boot-source, machine-config, InstanceStart, GETs, SIGTERM) with the `idle` payload; the
first run's sections go first, so an idle VM without the API touches the fewest windows.
Addresses map to input sections through build/ember.map (the link map). A stale list only
costs memory, never correctness: sections it names that no longer exist match nothing, new
ones go after the hot ones. Check the result with bench/run.sh (overhead RSS).
"""
import bisect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMBER = os.path.join(ROOT, "build/ember")
MAP = os.path.join(ROOT, "build/ember.map")
OUT = os.path.join(ROOT, "scripts/hot-order.ld")
HELLO = os.path.join(ROOT, "build/guests/hello.elf")
IDLE = os.path.join(ROOT, "build/bench/idle.elf")
ORDERED = (".text", ".rodata")  # output sections reordered; .data and .bss are written anyway


def die(msg):
    sys.exit("hot-order: " + msg)


def input_sections(path):
    """[(start, end, output section, input section, object)] from a GNU ld map."""
    text = open(path).read()
    lines = text[text.index("Linker script and memory map"):].splitlines()
    secs, out, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        top = re.match(r"^(\.\S+|__\S+)(\s|$)", line)
        if top:  # .text.hot is this script's own: its sections count as .text's
            out = top.group(1).removesuffix(".hot")
        m = re.match(r"^ (\.\S+)(?:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S+))?\s*$", line)
        if m and out in ORDERED:
            if m.group(2) is None:  # a long name: address, size and object on the next line
                nxt = lines[i + 1].split() if i + 1 < len(lines) else []
                i += 1
                if len(nxt) < 3 or not nxt[0].startswith("0x") or not nxt[1].startswith("0x"):
                    continue
                start, size, obj = int(nxt[0], 16), int(nxt[1], 16), nxt[2]
            else:
                start, size, obj = int(m.group(2), 16), int(m.group(3), 16), m.group(4)
            if size:
                secs.append((start, start + size, out, m.group(1), obj))
        i += 1
    secs.sort()
    return secs


def entry_point(path):
    with open(path, "rb") as f:
        hdr = f.read(32)
    return int.from_bytes(hdr[24:32], "little")


def lackey(args, log, api=None):
    """ember under lackey (no seccomp: valgrind cannot run seccomp(2)); api(p) drives it,
    then SIGTERM. Returns the trace's path."""
    cmd = ["valgrind", "--tool=lackey", "--trace-mem=yes", "--log-file=" + log, EMBER,
           "--no-seccomp"] + args
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if api:
        api(p)
        p.send_signal(signal.SIGTERM)
    p.communicate(timeout=300)
    return log


def http(sock_path, method, path, body=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    data = json.dumps(body) if body is not None else ""
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
              f"\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n{data}".encode())
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    s.close()
    if not reply.startswith(b"HTTP/1.1 2"):
        die(f"{method} {path}: {reply[:200]!r}")


def api_session(tmp):
    sock = os.path.join(tmp, "api.sock")

    def drive(p):
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        else:
            die("ember under valgrind did not open its API socket in 30 s")
        http(sock, "PUT", "/boot-source",
             {"kernel_image_path": IDLE, "boot_args": "console=ttyS0"})
        http(sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
        http(sock, "PUT", "/actions", {"action_type": "InstanceStart"})
        line = p.stdout.readline()
        if b"READY" not in line:
            die(f"the idle payload printed {line!r}, not READY")
        http(sock, "GET", "/")
        http(sock, "GET", "/machine-config")
        http(sock, "GET", "/vm/config")
        time.sleep(0.5)

    return lackey(["--api-sock", sock], os.path.join(tmp, "api.trace"), drive)


def touched(traces, secs, base):
    starts = [s[0] for s in secs]
    first = {}
    for path in traces:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 2 or parts[0] not in ("I", "L", "S", "M"):
                    continue
                addr = int(parts[1].split(",")[0], 16) - base
                k = bisect.bisect_right(starts, addr) - 1
                if k >= 0 and addr < secs[k][1] and secs[k] not in first:
                    first[secs[k]] = len(first)
    return sorted(first, key=first.get)


def pattern(obj, insec):
    """A linker-script input section pattern for one input section of one object."""
    lib = re.match(r".*/(lib[^/]+\.a)\(([^)]+)\)$", obj)
    if lib:
        return f"*{lib.group(1)}:{lib.group(2)}({insec})"
    rel = obj.split("build/obj/", 1)[-1]
    return f"*{rel}({insec})"


def variants(hot, secs):
    """glibc picks a string routine's variant by CPU (ifunc): valgrind's CPU has no AVX-512,
    hosts do. Add every variant of each routine that ran (a few KiB)."""
    variant = re.compile(r".*libc\.a\(([a-z_]+)-(avx|evex|sse|erms)")
    ran = {m.group(1) for s in hot if (m := variant.match(s[4]))}
    return hot + [s for s in secs if s not in hot and (m := variant.match(s[4])) and
                  m.group(1) in ran]


def unseen(hot, secs):
    """What runs outside valgrind's view: glibc's set-up of the vDSO (valgrind gives the
    process none), the seccomp filters' install (off under valgrind: syscall() is how ember
    calls seccomp(2)) and their BPF programs, printf's padding (_IO_padn: a timestamp's
    leading zeros, so only some runs). And the read-only data of the code that ran: lackey
    does not see system calls read memory (paths given to open and stat), and one stray read
    maps a whole window, so an object's .rodata, .rodata.str* and .rodata.cst* go with its
    code, and .rodata.FUNC (-fdata-sections) with .text.FUNC."""
    extra = re.compile(r".*libc\.a\((dl-object|dl-lookup|dl-setup_hash|setup-vdso|syscall|"
                       r"iopadn)\.o\)$|.*/src/seccomp/(load|syscall_names)\.o$|"
                       r".*/gen/seccomp_bpf\.o$")
    ran = {(s[4], s[3]) for s in hot if s[2] == ".text"}
    objs = {obj for obj, _ in ran}

    def data_of_hot_code(s):  # an object's pools, or .rodata.FUNC beside a .text.FUNC that ran
        m = re.match(r"^\.rodata(?:\.(str|cst)\d.*|\.([^.]+).*)?$", s[3])
        if s[2] != ".rodata" or not m:
            return False
        return (s[4], ".text." + m.group(2)) in ran if m.group(2) else s[4] in objs

    return hot + [s for s in secs if s not in hot and (extra.match(s[4]) or data_of_hot_code(s))]


def main():
    for f in (EMBER, MAP, HELLO, IDLE):
        if not os.path.exists(f):
            die(f"{f} is missing: make build/ember guests build/bench/idle.elf first")
    secs = input_sections(MAP)
    base_entry = entry_point(EMBER)
    with tempfile.TemporaryDirectory(prefix="ember-hot.") as tmp:
        cfg = os.path.join(tmp, "hello.json")
        with open(cfg, "w") as f:
            json.dump({"boot-source": {"kernel_image_path": HELLO, "boot_args": "console=ttyS0"},
                       "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}, f)
        traces = [lackey(["--no-api", "--config-file", cfg], os.path.join(tmp, "hello.trace")),
                  api_session(tmp)]
        with open(traces[0]) as f:
            first = next(line for line in f if line.startswith("I "))
        base = int(first.split()[1].split(",")[0], 16) - base_entry
        hot = unseen(variants(touched(traces, secs, base), secs), secs)
    with open(OUT, "w") as f:
        f.write("/* Generated by scripts/hot-order.py (do not edit): the input sections a VM's\n"
                " * start, API session and idle touch, first in .text and .rodata (README\n"
                " * \"Benchmarks\": resident memory). INSERT keeps ld's default script. */\n")
        for out in ORDERED:
            pats = [pattern(s[4], s[3]) for s in hot if s[2] == out]
            size = sum(s[1] - s[0] for s in hot if s[2] == out)
            f.write(f"\n/* {len(pats)} input sections, {size} bytes */\n")
            # The page alignment that starts the read-only segment is the default script's
            # just before .rodata, and INSERT BEFORE goes ahead of it: .rodata.hot has its
            # own, or it would land in the executable segment.
            align = "  . = ALIGN(CONSTANT (MAXPAGESIZE));\n" if out == ".rodata" else ""
            f.write(f"SECTIONS\n{{\n{align}  {out}.hot :\n  {{\n")
            for p in dict.fromkeys(pats):
                f.write(f"    {p}\n")
            f.write(f"  }}\n}}\nINSERT BEFORE {out};\n")
    print(f"hot-order: wrote {OUT}")


if __name__ == "__main__":
    main()
