# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
# tests/lib/vsock.sh: the host's side of the virtio_vsock payload's exchanges, as
# python3 programs (plain sockets, exact bytes, time-outs) on Firecracker's hybrid
# Unix sockets. For tests/vsock.sh and tests/api.sh (api:guest-vsock).
#   VSOCK_CLIENT UDS              "CONNECT 52", "OK <port>", "ping" -> "pong"
#   VSOCK_LISTENER PATH RESULT    on <uds_path>_53: gets "hello", answers "world",
#                                 writes what it got to RESULT

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
