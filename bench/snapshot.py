#!/usr/bin/env python3
"""bench/snapshot.py - ember's snapshots, side by side with QEMU's own save and restore.

Payload: build/bench/ticker.elf (bench/ticker.c): prints READY, then a '.' about every
millisecond; a restored VM prints its next '.' as soon as it runs, so the first byte on
the VMM's stdout after a restore is "the guest running again".

For each guest memory size (SIZES, MiB; default 128 and 1024), 1 vCPU:
  create    ember boots the payload (--config-file, --api-sock), pauses, and
            PUT /snapshot/create (Full): the request's time, the memory file's apparent
            size and what it takes on disk (zero pages are holes).
  File      RUNS restores, each in a new ember, loaded as soon as its socket accepts and
            again after it idled IDLE_MS (default 100; ember prepares KVM's VM while it
            idles): process start -> API socket accepting,
            PUT /snapshot/load (resume_vm) request -> 204, ember's own measure (its
            "'load snapshot' VMM action took N us" log line), load request -> the guest's
            first byte, process start -> the guest's first byte.
  Uffd      the same with mem_backend Uffd and examples/uffd_handler.c (started, and its
            socket listening, before the clock starts).
  clones    CLONES embers started at once, all loaded (File) at once: clones per second
            (CLONES / the time from the first spawn to the last clone's first byte), and
            each clone's RSS and PSS (/proc/PID/smaps_rollup) once all run.
  QEMU      (QEMU=path, default qemu-system-x86_64; QEMU= skips it) the same payload under
            `-M microvm`: migrate "exec:cat > FILE" of the running guest (QMP; the time to
            "completed", the file's size), then RUNS restores with `-incoming defer` and
            QMP migrate-incoming "exec:cat FILE": QMP command -> the guest's first byte
            (the load request), and process start -> first byte.

Environment: EMBER (build/ember), RUNS (default 10), CLONES (default 10), SIZES
("128 1024"), QEMU, BENCH_OUT (bench/run.sh: a directory for "metric min median max"
files, snapshot-ember-MIB.out and snapshot-qemu-MIB.out, which go into bench/results.json). Prints min / median / max per figure. Timing is from this script
(time.monotonic_ns around subprocess spawns and Unix-socket requests: both VMMs pay
the same Python overhead, ~0.1 ms a request, ~1 ms a spawn).
"""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMBER = os.environ.get("EMBER", os.path.join(ROOT, "build/ember"))
TICKER = os.path.join(ROOT, "build/bench/ticker.elf")
RUNS = int(os.environ.get("RUNS", "10"))
CLONES = int(os.environ.get("CLONES", "10"))
# Restores also after the process idled this long (ms) before the load request: a process
# started ahead, as a pool of VMMs is (ember prepares KVM's VM meanwhile); 0: not measured.
IDLE_MS = int(os.environ.get("IDLE_MS", "100"))
SIZES = [int(s) for s in os.environ.get("SIZES", "128 1024").split()]
QEMU = os.environ.get("QEMU", shutil.which("qemu-system-x86_64") or "")
TIMEOUT = 20.0


def now():
    return time.monotonic_ns()


def ms(ns):
    return ns / 1e6


def die(msg):
    sys.exit("bench/snapshot.py: " + msg)


def wait_socket(path, proc, timeout=TIMEOUT):
    """Polls connect() until the Unix socket accepts; returns the connected socket."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if proc.poll() is not None:
                die("%s exited with %s before its socket %s listened" % (proc.args[0], proc.returncode, path))
            time.sleep(0.0002)
    die("no socket at %s after %.0f s" % (path, timeout))


def http(sock, method, path, body=None):
    """One HTTP/1.1 request on a connected Unix socket: (status, body)."""
    data = json.dumps(body).encode() if body is not None else b""
    req = "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n" % (method, path, len(data))
    if data:
        req += "Content-Type: application/json\r\n"
    sock.sendall(req.encode() + b"\r\n" + data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            die("%s %s: connection closed" % (method, path))
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split()[1])
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(rest) < n:
        rest += sock.recv(65536)
    return status, rest.decode(errors="replace")


def first_byte(proc, timeout=TIMEOUT):
    """Blocks until the VMM writes a byte on stdout; the time it came."""
    fd = proc.stdout.fileno()
    got = []

    def reader():
        try:
            b = os.read(fd, 1)
        except OSError:
            b = b""
        got.append((now(), b))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    if not got or not got[0][1]:
        die("%s: no guest output (exit status %s)" % (proc.args[0], proc.poll()))
    return got[0][0]


def read_until(proc, marker, timeout=TIMEOUT):
    buf = b""
    end = time.monotonic() + timeout
    while marker not in buf:
        if time.monotonic() > end:
            die("%s: no %r on stdout, got %r" % (proc.args[0], marker, buf[-80:]))
        b = os.read(proc.stdout.fileno(), 4096)
        if not b:
            die("%s ended: %r" % (proc.args[0], buf[-200:]))
        buf += b


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def summary(values):
    v = sorted(values)
    return "%9.2f %9.2f %9.2f" % (v[0], statistics.median(v), v[-1])


# bench/run.sh's JSON: OUT[file][metric] = values, written as BENCH_OUT/file.out at the end.
OUT = {}
OUT_FILE = [None]


def record(metric, values):
    if OUT_FILE[0] and values:
        OUT.setdefault(OUT_FILE[0], {})[metric] = list(values)


def write_out():
    d = os.environ.get("BENCH_OUT")
    if not d:
        return
    for name, metrics in OUT.items():
        with open(os.path.join(d, name + ".out"), "w") as f:
            f.write("# %-29s %12s %12s %12s\n" % ("metric", "min", "median", "max"))
            for m, v in metrics.items():
                v = sorted(v)
                f.write("%-30s %12.3f %12.3f %12.3f\n" % (m, v[0], statistics.median(v), v[-1]))


def row(label, values, unit="ms", key=None):
    if values:
        print("  %-44s %s  %s" % (label, summary(values), unit))
        if key:
            record(key, values)


class Tmp:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ember-snapbench-")
        self.n = 0

    def path(self, name):
        self.n += 1
        return os.path.join(self.dir, "%d-%s" % (self.n, name))


def ember_spawn(tmp, extra=()):
    sock = tmp.path("api.sock")
    err = open(tmp.path("ember.err"), "w+")
    t0 = now()
    p = subprocess.Popen([EMBER, "--api-sock", sock, *extra], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=err)
    return p, sock, err, t0


def ember_create(tmp, mib):
    """Boots the ticker, snapshots it (Full): (state, mem, create ms)."""
    cfg = tmp.path("vm.json")
    with open(cfg, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": TICKER},
                   "machine-config": {"vcpu_count": 1, "mem_size_mib": mib}}, f)
    p, sock, err, _ = ember_spawn(tmp, ["--config-file", cfg])
    read_until(p, b"READY\n..")
    s = wait_socket(sock, p)
    st, body = http(s, "PATCH", "/vm", {"state": "Paused"})
    state, mem = tmp.path("vm.state"), tmp.path("vm.mem")
    t = now()
    st2, body2 = http(s, "PUT", "/snapshot/create", {"snapshot_path": state, "mem_file_path": mem,
                                                      "snapshot_type": "Full"})
    t_create = now() - t
    if st != 204 or st2 != 204:
        die("ember snapshot: %s %s / %s %s" % (st, body, st2, body2))
    s.close()
    stop(p)
    return state, mem, ms(t_create)


def ember_load_ms(err):
    err.seek(0)
    m = re.search(r"'load snapshot' VMM action took (\d+) us", err.read())
    return int(m.group(1)) / 1000 if m else None


def ember_restore(tmp, state, mem, backend, handler_sock=None, idle_ms=0):
    """One restore in a new ember, loaded @idle_ms after its socket accepts: times (ms)."""
    p, sock, err, t0 = ember_spawn(tmp)
    s = wait_socket(sock, p)
    t_sock = now()
    if idle_ms:
        time.sleep(idle_ms / 1000)
    path = handler_sock if backend == "Uffd" else mem
    t_req = now()
    st, body = http(s, "PUT", "/snapshot/load", {"snapshot_path": state, "resume_vm": True,
                                                 "mem_backend": {"backend_type": backend,
                                                                 "backend_path": path}})
    t_204 = now()
    if st != 204:
        die("ember load (%s): %s %s" % (backend, st, body))
    t_first = first_byte(p)
    r = {"sock": ms(t_sock - t0), "req_204": ms(t_204 - t_req), "req_first": ms(t_first - t_req),
         "start_first": ms(t_first - t0), "own": ember_load_ms(err)}
    s.close()
    stop(p)
    return r


def uffd_handler(tmp):
    exe = os.path.join(tmp.dir, "uffd_handler")
    if not os.path.exists(exe):
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", exe,
                        os.path.join(ROOT, "examples/uffd_handler.c")], check=True)
    return exe


def ember_bench(tmp, mib):
    print("ember, %d MiB, 1 vCPU (min / median / max over %d runs)" % (mib, RUNS))
    OUT_FILE[0] = "snapshot-ember-%d" % mib
    state, mem, t_create = ember_create(tmp, mib)
    record("create-ms", [t_create])
    st = os.stat(mem)
    print("  %-44s %9.2f ms" % ("snapshot create (Full), request -> 204", t_create))
    print("  %-44s %9d KiB apparent, %d KiB on disk; state file %d bytes" % (
        "snapshot size", st.st_size // 1024, st.st_blocks // 2, os.stat(state).st_size))
    for backend, idle in (("File", 0), ("Uffd", 0), ("File", IDLE_MS), ("Uffd", IDLE_MS)):
        if backend == "File" and idle and not IDLE_MS:
            break
        runs = []
        for i in range(RUNS + 1):  # + a warm-up run, not counted
            h = None
            hsock = None
            if backend == "Uffd":
                hsock = tmp.path("uffd.sock")
                h = subprocess.Popen([uffd_handler(tmp), hsock, mem], stderr=subprocess.DEVNULL)
                for _ in range(2000):
                    if os.path.exists(hsock):
                        break
                    time.sleep(0.001)
            r = ember_restore(tmp, state, mem, backend, hsock, idle)
            if h:
                h.wait(timeout=TIMEOUT)
            if i:
                runs.append(r)
        print("  restore, %s backend%s:" % (backend, ", the process idle %d ms first" % idle
                                             if idle else ", loaded at once"))
        k = "%s%s-" % (backend.lower(), "-idle" if idle else "")
        row("  process start -> API socket accepting", [r["sock"] for r in runs])
        row("  load request -> 204 (guest running)", [r["req_204"] for r in runs],
            key=k + "load-204-ms")
        own = [r["own"] for r in runs if r["own"] is not None]
        row("  ember's own 'load snapshot' measure", own, key=k + "load-own-ms")
        row("  load request -> guest's first byte", [r["req_first"] for r in runs],
            key=k + "load-first-byte-ms")
        if not idle:
            row("  process start -> guest's first byte", [r["start_first"] for r in runs],
                key=k + "start-first-byte-ms")
    ember_clones(tmp, state, mem)


def smaps_rollup(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def ember_clones(tmp, state, mem):
    t0 = now()
    procs = [ember_spawn(tmp) for _ in range(CLONES)]
    socks = [wait_socket(sock, p) for p, sock, _, _ in procs]
    results = [None] * CLONES

    def load(i):
        results[i] = http(socks[i], "PUT", "/snapshot/load", {
            "snapshot_path": state, "resume_vm": True,
            "mem_backend": {"backend_type": "File", "backend_path": mem}})

    threads = [threading.Thread(target=load, args=(i,)) for i in range(CLONES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    firsts = [first_byte(p) for p, _, _, _ in procs]
    t_all = max(firsts) - t0
    if any(r is None or r[0] != 204 for r in results):
        die("clones: loads answered %s" % [r and r[0] for r in results])
    time.sleep(0.05)
    rss = [smaps_rollup(p.pid) for p, _, _, _ in procs]
    print("  clones: %d started and loaded at once (File): all running after %.1f ms: %.0f clones/s"
          % (CLONES, ms(t_all), CLONES / (t_all / 1e9)))
    record("clones-per-s", [CLONES / (t_all / 1e9)])
    row("  RSS per clone", [r["Rss"] for r in rss], "KiB", key="clone-rss-kib")
    row("  PSS per clone", [r["Pss"] for r in rss], "KiB", key="clone-pss-kib")
    for s in socks:
        s.close()
    for p, _, _, _ in procs:
        stop(p)


# --- QEMU ---

def qemu_cmd(mib, qmp, extra=()):
    return [QEMU, "-M", "microvm", "-enable-kvm", "-cpu", "qemu64", "-m", str(mib), "-nodefaults",
            "-no-user-config", "-nographic", "-serial", "stdio", "-kernel", TICKER,
            "-qmp", "unix:%s,server=on,wait=off" % qmp, *extra]


def qmp_open(path, proc):
    s = wait_socket(path, proc)
    f = s.makefile("rwb", buffering=0)
    f.readline()  # the greeting
    qmp(f, "qmp_capabilities")
    return s, f


def qmp(f, cmd, args=None):
    msg = {"execute": cmd}
    if args:
        msg["arguments"] = args
    f.write(json.dumps(msg).encode() + b"\n")
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            if "error" in r:
                die("QMP %s: %s" % (cmd, r["error"]))
            return r["return"]


def qemu_bench(tmp, mib):
    print("QEMU microvm (%s), %d MiB, 1 vCPU: migration to a file, -incoming" % (QEMU, mib))
    OUT_FILE[0] = "snapshot-qemu-%d" % mib
    q = tmp.path("qmp.sock")
    p = subprocess.Popen(qemu_cmd(mib, q), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    read_until(p, b"READY\n..")
    s, f = qmp_open(q, p)
    mem = tmp.path("qemu.mig")
    t = now()
    qmp(f, "migrate", {"uri": "exec:cat > %s" % mem})
    while qmp(f, "query-migrate").get("status") not in ("completed", "failed"):
        time.sleep(0.0005)
    t_save = now() - t
    record("create-ms", [ms(t_save)])
    s.close()
    stop(p)
    st = os.stat(mem)
    print("  %-44s %9.2f ms" % ("migrate to a file, command -> completed", ms(t_save)))
    print("  %-44s %9d KiB apparent, %d KiB on disk" % ("migration file size", st.st_size // 1024,
                                                        st.st_blocks // 2))
    runs = []
    for i in range(RUNS + 1):
        q = tmp.path("qmp.sock")
        t0 = now()
        p = subprocess.Popen(qemu_cmd(mib, q, ["-incoming", "defer"]), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        s, f = qmp_open(q, p)
        t_req = now()
        qmp(f, "migrate-incoming", {"uri": "exec:cat %s" % mem})
        t_first = first_byte(p)
        if i:
            runs.append({"req_first": ms(t_first - t_req), "start_first": ms(t_first - t0)})
        s.close()
        stop(p)
    row("restore: migrate-incoming -> guest's first byte", [r["req_first"] for r in runs],
        key="file-load-first-byte-ms")
    row("restore: process start -> guest's first byte", [r["start_first"] for r in runs],
        key="file-start-first-byte-ms")


def main():
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("bench/snapshot.py: no usable /dev/kvm: nothing measured")
        return
    for f in (EMBER, TICKER):
        if not os.path.exists(f):
            die("%s is missing (make build/ember build/bench/ticker.elf)" % f)
    tmp = Tmp()
    try:
        for mib in SIZES:
            ember_bench(tmp, mib)
            if QEMU:
                qemu_bench(tmp, mib)
            else:
                print("QEMU skipped (QEMU= or not installed)")
        write_out()
    finally:
        shutil.rmtree(tmp.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
