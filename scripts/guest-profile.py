#!/usr/bin/env python3
"""Symbolize guest rip samples (ember --sample-rip FILE) with a System.map.

Usage: scripts/guest-profile.py SAMPLES [SYSTEM_MAP] [--top N]

SAMPLES has one line per sample, "<vcpu> <elapsed_ms> 0x<rip> <cpl>", as
ember writes them. Prints the functions the guest spent its time in, by share
of the samples, overall and (with --phases) per 10-second slice of the boot.
"""
import argparse
import bisect
import collections
import sys


def load_map(path):
    """Sorted (address, name) of the text symbols of a System.map."""
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tTwW":
                syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def symbolize(addrs, names, rip, cpl):
    if cpl == 3:
        return "[user space]"
    i = bisect.bisect_right(addrs, rip) - 1
    return names[i] if i >= 0 else f"[unknown 0x{rip:x}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("samples")
    ap.add_argument("system_map", nargs="?", default="build/guest/System.map")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--phases", action="store_true", help="also per 10 s slice")
    args = ap.parse_args()

    addrs, names = load_map(args.system_map)
    total = collections.Counter()
    phases = collections.defaultdict(collections.Counter)
    n = 0
    with open(args.samples) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            ms, rip, cpl = int(parts[1]), int(parts[2], 16), int(parts[3])
            fn = symbolize(addrs, names, rip, cpl)
            total[fn] += 1
            phases[ms // 10000][fn] += 1
            n += 1
    if not n:
        sys.exit(f"{args.samples}: no samples")
    print(f"{n} samples")
    for fn, c in total.most_common(args.top):
        print(f"{100.0 * c / n:6.2f}%  {c:7d}  {fn}")
    if args.phases:
        for p in sorted(phases):
            cnt = phases[p]
            m = sum(cnt.values())
            top = ", ".join(f"{fn} {100.0 * c / m:.0f}%" for fn, c in cnt.most_common(3))
            print(f"{p * 10:4d}-{p * 10 + 10:<4d}s  {m:6d}  {top}")


if __name__ == "__main__":
    main()
