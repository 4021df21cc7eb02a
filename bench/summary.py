#!/usr/bin/env python3
"""bench/summary.py RESULTS.json - the one table of `make bench`: ember against QEMU microvm
(and the floor, bench/minvmm.c) from the same run, every figure a median with its min-max
over the runs, and how far ahead ember is (QEMU's cost / ember's, or ember's rate / QEMU's).

bench/run.sh runs it last, on the JSON it has just written (bench/results.json); it can be
run again on any saved results file. Rates derived from run times (exits/s, MB/s) use the
medians only: a run's time minus the empty-boot baseline's median, as bench/devices.sh does.
"""
import json
import sys


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if v == int(v) and a >= 1:
        return "%d" % v
    return "%.0f" % v if a >= 100 else "%.1f" % v if a >= 10 else "%.2f" % v


def cell(m):
    """median (min-max), or a lone median."""
    if m is None:
        return "-"
    if "min" in m and m["min"] != m["max"]:
        return "%s (%s-%s)" % (fmt(m["median"]), fmt(m["min"]), fmt(m["max"]))
    return fmt(m["median"])


def main():
    doc = json.load(open(sys.argv[1]))
    res = doc["measurements"]

    def get(name, metric):
        return res.get(name, {}).get(metric)

    def med(name, metric):
        m = get(name, metric)
        return m["median"] if m else None

    rows = []  # (label, ember cell, QEMU cell, floor cell, ahead)

    def ahead(e, q, higher_better):
        if e is None or q is None or e <= 0 or q <= 0:
            return "-"
        return "%.1fx" % (e / q if higher_better else q / e)

    def add(label, ename, qname, metric, higher_better=False, floor=None, qmetric=None):
        e, q = get(ename, metric), get(qname, qmetric or metric) if qname else None
        f = get(floor, metric) if floor else None
        rows.append((label, cell(e), cell(q), cell(f),
                     ahead(e and e["median"], q and q["median"], higher_better)))

    def add_value(label, e, q, higher_better=True):
        rows.append((label, fmt(e), fmt(q), "-", ahead(e, q, higher_better)))

    rows.append(("start-up and whole life: build/guests/hello.elf, 1 vCPU, 128 MiB",))
    add("spawn -> first UART byte (ms)", "ember-start", "qemu-start", "first-byte-ms",
        floor="minvmm-start")
    # Whole life: ember's runs interleaved with the floor's (bench/scale.sh), when measured.
    life = "ember-life" if "ember-life" in res else "ember-start"
    add("spawn -> reap, wall (ms)", life, "qemu-start", "total-ms", floor="minvmm-start")
    add("spawn -> reap, CPU (ms)", life, "qemu-start", "cpu-ms", floor="minvmm-start")
    add("peak RSS, whole process (KiB)", "ember-start", "qemu-start", "peak-rss-kib",
        floor="minvmm-start")
    add("resident outside guest RAM, idle (KiB)", "ember-mem", "qemu-mem", "overhead-rss-kib")
    add("  of which anonymous (KiB)", "ember-mem", "qemu-mem", "overhead-anon-kib")

    jobs = sorted(int(k.split("-j")[1]) for k in res if k.startswith("rate-ember-j"))
    if jobs:
        rows.append(("creation rate: whole hello runs per second, N in flight",))
    for j in jobs:
        add("%d in flight (runs/s)" % j, "rate-ember-j%d" % j, "rate-qemu-j%d" % j, "rate-per-s",
            higher_better=True, floor="rate-minvmm-j%d" % j)

    if "density-ember" in res:
        rows.append(("density: idle VMs at once (bench/idle.elf, 1 vCPU, 128 MiB each)",))
        add("VMs READY", "density-ember", "density-qemu", "ready-count", higher_better=True)
        add("first spawn -> all READY (ms)", "density-ember", "density-qemu", "all-ready-ms")
        add("PSS per VM (KiB)", "density-ember", "density-qemu", "pss-kib")
        add("host kernel slab per VM (KiB)", "density-ember", "density-qemu",
            "host-Slab-kib-per-vm")

    if "api" in res:
        rows.append(("API (ember only; QEMU has QMP, not this API)",))
        add("spawn -> API socket accepting (ms)", "api", None, "connect-ms")
        add("GET / on a keep-alive connection (us)", "api", None, "get-root-us")
        add("PUT /machine-config (us)", "api", None, "put-machine-config-us")

    for mib in (128, 1024):
        e, q = "snapshot-ember-%d" % mib, "snapshot-qemu-%d" % mib
        if e not in res:
            continue
        rows.append(("snapshots, %d MiB (QEMU: migrate to a file, -incoming)" % mib,))
        add("create (Full), request -> done (ms)", e, q, "create-ms")
        add("restore: load request -> first byte (ms)", e, q, "file-load-first-byte-ms")
        add("restore: spawn -> first byte (ms)", e, q, "file-start-first-byte-ms")
        add("restore after 100 ms idle: load -> byte (ms)", e, None,
            "file-idle-load-first-byte-ms")
        add("clones started at once (clones/s)", e, None, "clones-per-s", higher_better=True)
        add("PSS per clone (KiB)", e, None, "clone-pss-kib")

    par = res.get("dev-params", {})

    def rate(name, base, param, scale):
        t, b, n = med(name, "total-ms"), med(base, "total-ms"), par.get(param, {}).get("median")
        if t is None or b is None or not n or t <= b:
            return None
        return n / ((t - b) / 1000) / scale

    if "dev-ember-exits" in res:
        rows.append(("devices (rates from the medians: run minus its empty-boot baseline)",))
        add_value("port-I/O exits per second (thousands)",
                  rate("dev-ember-exits", "dev-ember-exits0", "exits", 1e3),
                  rate("dev-qemu-exits", "dev-qemu-exits0", "exits", 1e3))
        add_value("block read, 64 MiB, io_engine Sync (MB/s)",
                  rate("dev-ember-blk", "dev-ember-blk0", "blk-bytes", 1e6),
                  rate("dev-qemu-blk", "dev-qemu-blk0", "blk-bytes", 1e6))
        for what, key in (("transmit, 1514-byte frames", "tx"),
                          ("transmit, 64 KiB GSO frames", "gso")):
            add_value("net %s (MB/s)" % what,
                      rate("dev-ember-net-" + key, "dev-ember-net0", "net-%s-bytes" % key, 1e6),
                      rate("dev-qemu-net-" + key, "dev-qemu-net0", "net-%s-bytes" % key, 1e6))
        add_value("net receive, 1514-byte frames (MB/s)",
                  rate("dev-ember-net-rx", "dev-ember-net0-rx", "net-rx-bytes", 1e6),
                  rate("dev-qemu-net-rx", "dev-qemu-net0-rx", "net-rx-bytes", 1e6))

    w = (46, 26, 26, 22, 7)
    head = ("metric: median (min-max)", "ember", "QEMU microvm", "floor: bench/minvmm",
            "ember ahead")
    print("ember against QEMU microvm, one table (%s runs each, %s; load average %s -> %s)" % (
        doc.get("runs"), doc.get("date"), doc.get("loadavg_start"), doc.get("loadavg_end")))
    line = "%-*s %-*s %-*s %-*s %*s"
    print(line % (w[0], head[0], w[1], head[1], w[2], head[2], w[3], head[3], w[4], head[4]))
    print("-" * (sum(w) + 4))
    for r in rows:
        if len(r) == 1:
            print(r[0])
            continue
        print(line % (w[0], "  " + r[0], w[1], r[1], w[2], r[2], w[3], r[3], w[4], r[4]))
    print("-" * (sum(w) + 4))
    print("ember ahead: QEMU's median over ember's for costs (time, memory), ember's over QEMU's")
    print("for rates; above 1.0x ember is ahead. The sections above hold each method.")


if __name__ == "__main__":
    main()
