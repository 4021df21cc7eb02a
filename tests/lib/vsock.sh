# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
# tests/lib/vsock.sh: the host's side of the virtio_vsock payload's exchanges, as
# python3 programs (plain sockets, exact bytes, time-outs) on Firecracker's hybrid
# Unix sockets. For tests/vsock.sh and tests/api.sh (api:guest-vsock).
#   VSOCK_CLIENT UDS              "CONNECT 52", "OK <port>", "ping" -> "pong"
#   VSOCK_LISTENER PATH RESULT    on <uds_path>_53: gets "hello", answers "world",
#                                 writes what it got to RESULT
# And the host's side of the Linux guest's /bin/vsock-echo (tests/linux.sh boot C,
# tests/jailer.sh jailer:linux):
#   LINUX_VSOCK_LISTENER PATH RESULT SECONDS   on <uds_path>_5001: a line in,
#                                 "host-got-<line>" out, what it got to RESULT
#   LINUX_VSOCK_CLIENT UDS        "CONNECT 5000", "OK <port>", a line, prints its echo

VSOCK_CLIENT='
import socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(path)
s.sendall(b"CONNECT 52\n")
line = b""
while not line.endswith(b"\n") and len(line) < 64:
    c = s.recv(1)
    if not c:
        sys.exit("closed before OK: %r" % line)
    line += c
words = line.split()
if len(words) != 2 or words[0] != b"OK" or not words[1].isdigit():
    sys.exit("expected OK <port>, got %r" % line)
s.sendall(b"ping")
got = b""
while len(got) < 4:
    c = s.recv(4 - len(got))
    if not c:
        sys.exit("closed before the answer: %r" % got)
    got += c
if got != b"pong":
    sys.exit("expected pong, got %r" % got)
s.close()
print("host: %s, ping -> pong" % line.decode().strip())
'

VSOCK_LISTENER='
import os, socket, sys
path, result = sys.argv[1], sys.argv[2]
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(path)
l.listen(1)
l.settimeout(60)
c, _ = l.accept()
c.settimeout(30)
got = b""
while len(got) < 5:
    b = c.recv(5 - len(got))
    if not b:
        break
    got += b
c.sendall(b"world")
rest = c.recv(16)  # the guest closes: EOF
with open(result, "w") as f:
    f.write("got %r, then %r\n" % (got, rest))
'

# guest -> host: one connection on <uds_path>_5001, a line in, an answer out.
LINUX_VSOCK_LISTENER='
import socket, sys
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(sys.argv[1])
l.listen(1)
l.settimeout(float(sys.argv[3]))
c, _ = l.accept()
c.settimeout(30)
got = b""
while not got.endswith(b"\n") and len(got) < 256:
    b = c.recv(256)
    if not b:
        break
    got += b
c.sendall(b"host-got-" + got.strip() + b"\n")
c.recv(16)
open(sys.argv[2], "w").write("got %r\n" % got)
'

# host -> guest: CONNECT 5000 on uds_path, a line, its echo.
LINUX_VSOCK_CLIENT='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(b"CONNECT 5000\n")
line = b""
while not line.endswith(b"\n") and len(line) < 64:
    c = s.recv(1)
    if not c:
        sys.exit("closed before OK: %r" % line)
    line += c
if not line.startswith(b"OK "):
    sys.exit("expected OK <port>, got %r" % line)
msg = b"ping-from-host\n"
s.sendall(msg)
got = b""
while len(got) < len(msg):
    c = s.recv(64)
    if not c:
        break
    got += c
s.shutdown(socket.SHUT_WR)
print("%s echo %r" % (line.decode().strip(), got))
'
