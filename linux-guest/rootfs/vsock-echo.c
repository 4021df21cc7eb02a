/* vsock-echo: the guest's AF_VSOCK helper (busybox has none), for tests/linux.sh.
 *   vsock-echo listen PORT         accept one connection on PORT, echo what comes
 *                                  until EOF, print how many bytes
 *   vsock-echo connect CID PORT MSG  connect, send MSG and a newline, print the
 *                                  reply (up to EOF or a newline)
 * x86-64 only, no libc (nolibc.h). */

#define AF_VSOCK       40
#define SOCK_STREAM    1
#define SHUT_WR	       1
#define VMADDR_CID_ANY 0xffffffffu

static const char prog[] = "vsock-echo";
static int run(long argc, char **argv);

#include "nolibc.h"

struct sockaddr_vm {
	unsigned short svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[3];
};

static long write_all(long fd, const char *p, unsigned long n)
{
	while (n) {
		long w = sys3(SYS_write, fd, (long)p, (long)n);
		if (w <= 0)
			return w < 0 ? w : -5;
		p += w;
		n -= (unsigned long)w;
	}
	return 0;
}

static int do_listen(unsigned int port)
{
	struct sockaddr_vm a = {AF_VSOCK, 0, port, VMADDR_CID_ANY, 0, {0}};
	static char buf[4096];
	unsigned long total = 0;
	long s, c, r;

	s = sys3(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0)
		die("socket", s);
	if ((r = sys3(SYS_bind, s, (long)&a, sizeof(a))) < 0)
		die("bind", r);
	if ((r = sys3(SYS_listen, s, 1, 0)) < 0)
		die("listen", r);
	out("vsock-echo: listening on port ");
	out_num(port);
	out("\n");
	c = sys3(SYS_accept, s, 0, 0);
	if (c < 0)
		die("accept", c);
	while ((r = sys3(SYS_read, c, (long)buf, sizeof(buf))) > 0) {
		total += (unsigned long)r;
		if ((r = write_all(c, buf, (unsigned long)r)) < 0)
			die("write", r);
	}
	if (r < 0)
		die("read", r);
	sys3(SYS_close, c, 0, 0);
	sys3(SYS_close, s, 0, 0);
	out("vsock-echo: echoed ");
	out_num(total);
	out(" bytes\n");
	return 0;
}

static int do_connect(unsigned int cid, unsigned int port, const char *msg)
{
	struct sockaddr_vm a = {AF_VSOCK, 0, port, cid, 0, {0}};
	char buf[256];
	unsigned long n = 0;
	long s, r;

	s = sys3(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0)
		die("socket", s);
	if ((r = sys3(SYS_connect, s, (long)&a, sizeof(a))) < 0)
		die("connect", r);
	if ((r = write_all(s, msg, len(msg))) < 0 || (r = write_all(s, "\n", 1)) < 0)
		die("write", r);
	while (n < sizeof(buf) - 1) {
		r = sys3(SYS_read, s, (long)(buf + n), (long)(sizeof(buf) - 1 - n));
		if (r < 0)
			die("read", r);
		if (r == 0)
			break;
		n += (unsigned long)r;
		if (buf[n - 1] == '\n')
			break;
	}
	while (n && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	sys3(SYS_shutdown, s, SHUT_WR, 0);
	sys3(SYS_close, s, 0, 0);
	out("vsock-echo: reply: ");
	out(buf);
	out("\n");
	return 0;
}

static int run(long argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	if (argc == 3 && m[0] == 'l')
		return do_listen(num(argv[2]));
	if (argc == 5 && m[0] == 'c')
		return do_connect(num(argv[2]), num(argv[3]), argv[4]);
	out("usage: vsock-echo listen PORT | connect CID PORT MSG\n");
	return 2;
}
