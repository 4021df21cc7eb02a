// SPDX-License-Identifier: Apache-2.0
/*
 * The filters at work: each case forks a child that installs a filter (a
 * file's, or one of ember's built-in ones as ember links them) and makes
 * syscalls; the parent checks how the child ended and what it logged. A
 * syscall outside the filter (Firecracker's "trap") is logged by the SIGSYS
 * handler, naming the thread and the syscall, and the process exits 148.
 */
#include "test.h"
#include "seccomp/seccomp.h"
#include "util/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <semaphore.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct child {
	int status;
	char log[2048];
};

/* In a child: its end, as the SIGSYS handler's (no sanitizer's _exit: it makes syscalls). */
__attribute__((noreturn)) static void child_exit(int code)
{
	for (;;)
		syscall(SYS_exit_group, code);
}

/* In a child: a line on the log (stderr). */
static void say(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0)
		child_exit(95);
}

struct thread_call {
	void (*fn)(const void *);
	const void *arg;
};

/* The child's thread named "seccomp-test": log lines name a thread other than main by it. */
static void *named_thread(void *opaque)
{
	const struct thread_call *call = opaque;

	prctl(PR_SET_NAME, "seccomp-test", 0, 0, 0);
	call->fn(call->arg);
	child_exit(0);
}

/*
 * Runs @fn(@arg) in a child's thread named "seccomp-test" (the filter is that
 * thread's only) whose stderr (the log) goes to a pipe; the child exits 0 if
 * @fn returns.
 */
static void run_child(void (*fn)(const void *), const void *arg, struct child *c)
{
	struct thread_call call = {fn, arg};
	int pfd[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	/* What the handler's log line needs from libc, done before any filter (load.c). */
	tzset();
	CHECK(pipe(pfd) == 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		pthread_t t;

		close(pfd[0]);
		dup2(pfd[1], STDERR_FILENO);
		if (seccomp_handle_sigsys() || pthread_create(&t, NULL, named_thread, &call))
			child_exit(90);
		pthread_join(t, NULL);
		child_exit(96);
	}
	close(pfd[1]);
	while (len < sizeof(c->log) - 1 &&
	       (n = read(pfd[0], c->log + len, sizeof(c->log) - 1 - len)) > 0)
		len += (size_t)n;
	c->log[len] = '\0';
	close(pfd[0]);
	CHECK(waitpid(pid, &c->status, 0) == pid);
}

static bool exited(const struct child *c, int code)
{
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == code;
}

#define CHECK_EXIT(c, code)                                                                       \
	do {                                                                                      \
		if (!exited(c, code))                                                             \
			FAIL_AT("child status 0x%x, not exit %d; its log: %s", (c)->status, code, \
				(c)->log);                                                        \
	} while (0)

/* A filter from a file's text, compiled as a --seccomp-filter file is. */
static void compile_doc(const char *text, enum seccomp_thread t, struct seccomp_prog *p)
{
	struct seccomp_filters f;
	char err[SECCOMP_ERR_MAX];

	if (seccomp_parse(text, strlen(text), &f, err))
		FAIL_AT("parse: %s", err);
	if (seccomp_compile(&f.f[t], seccomp_thread_key(t), p, err))
		FAIL_AT("compile: %s", err);
	seccomp_filters_free(&f);
}

/* What the handler's log line and the exit need, and @extra (JSON rules). */
static char *small_filter(const char *dflt, const char *extra)
{
	static const char fmt[] =
	    "{\"vmm\": {\"default_action\": %s, \"filter_action\": \"allow\", \"filter\": ["
	    "  {\"syscall\": \"write\"}, {\"syscall\": \"exit_group\"},"
	    "  {\"syscall\": \"gettid\"}, {\"syscall\": \"getpid\"},"
	    "  {\"syscall\": \"prctl\", \"args\": [{\"index\": 0, \"type\": \"dword\","
	    "   \"op\": \"eq\", \"val\": 16, \"comment\": \"PR_GET_NAME\"}]}%s%s]},"
	    " \"api\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	    "[]},"
	    " \"vcpu\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	    "[]}}";
	char *s = malloc(sizeof(fmt) + strlen(dflt) + strlen(extra) + 1);

	CHECK(s);
	sprintf(s, fmt, dflt, *extra ? "," : "", extra);
	return s;
}

static void install_or_die(const struct seccomp_prog *p)
{
	if (seccomp_install(p))
		child_exit(91);
}

static void getppid_after(const void *arg)
{
	install_or_die(arg);
	syscall(SYS_getppid);
}

TEST(forbidden_syscall_kills_and_is_named)
{
	char *text = small_filter("\"trap\"", "");
	struct seccomp_prog p;
	struct child c;

	compile_doc(text, SECCOMP_VMM, &p);
	free(text);
	run_child(getppid_after, &p, &c);
	seccomp_prog_free(&p);
	CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
	CHECK_CONTAINS(
	    c.log,
	    ":seccomp-test] Shutting down VM after intercepting a bad syscall: getppid (110)");
}

TEST(kill_process_needs_no_handler)
{
	char *text = small_filter("\"kill_process\"", "");
	struct seccomp_prog p;
	struct child c;

	compile_doc(text, SECCOMP_VMM, &p);
	free(text);
	run_child(getppid_after, &p, &c);
	seccomp_prog_free(&p);
	CHECK(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGSYS);
	CHECK_STR(c.log, "");
}

static void getppid_twice(const void *arg)
{
	install_or_die(arg);
	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != EPERM)
		child_exit(92);
}

TEST(errno_action_lets_the_process_go_on)
{
	/* A denylist, the other way round: everything but getppid, which fails with EPERM. */
	static const char text[] =
	    "{\"vmm\": {\"default_action\": \"allow\", \"filter_action\": {\"errno\": 1},"
	    "  \"filter\": [{\"syscall\": \"getppid\"}]},"
	    " \"api\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	    "[]},"
	    " \"vcpu\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	    "[]}}";
	struct seccomp_prog p;
	struct child c;

	compile_doc(text, SECCOMP_VMM, &p);
	run_child(getppid_twice, &p, &c);
	seccomp_prog_free(&p);
	CHECK_EXIT(&c, 0);
}

static void ioctls(const void *arg)
{
	int v;

	install_or_die(arg);
	/* FIONREAD is allowed (it fails on a pipe-less fd, harmlessly); then FIOCLEX is not. */
	ioctl(STDIN_FILENO, FIONREAD, &v);
	say("FIONREAD went through\n");
	ioctl(STDIN_FILENO, FIOCLEX);
}

TEST(argument_filters)
{
	char extra[256], *text;
	struct seccomp_prog p;
	struct child c;

	snprintf(extra, sizeof(extra),
		 "{\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", "
		 "\"op\": \"eq\", \"val\": %d}]}",
		 FIONREAD);
	text = small_filter("\"trap\"", extra);
	compile_doc(text, SECCOMP_VMM, &p);
	free(text);
	run_child(ioctls, &p, &c);
	seccomp_prog_free(&p);
	CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
	CHECK_CONTAINS(c.log, "FIONREAD went through");
	CHECK_CONTAINS(c.log, "bad syscall: ioctl (16)");
}

static void pause_installed(const void *arg)
{
	install_or_die(arg);
	say("installed\n");
	/* The parent reads /proc, then kills this child. */
	for (;;)
		syscall(SYS_pause);
}

TEST(no_new_privs_and_seccomp_mode)
{
	char *text = small_filter("\"trap\"", "{\"syscall\": \"pause\"}");
	char path[64], buf[4096], line[16];
	struct seccomp_prog p;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;
	FILE *f;

	compile_doc(text, SECCOMP_VMM, &p);
	free(text);
	CHECK(pipe(pfd) == 0);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		dup2(pfd[1], STDERR_FILENO);
		pause_installed(&p);
	}
	close(pfd[1]);
	CHECK(read(pfd[0], line, sizeof(line)) > 0);
	close(pfd[0]);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	CHECK(f);
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n > 0 ? n : 0] = '\0';
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	seccomp_prog_free(&p);
	CHECK_CONTAINS(buf, "NoNewPrivs:\t1");
	CHECK_CONTAINS(buf, "Seccomp:\t2");
}

/* --- ember's own filters, as built --- */

static void vcpu_socket(const void *arg)
{
	(void)arg;
	install_or_die(&seccomp_builtin_progs[SECCOMP_VCPU]);
	socket(AF_UNIX, SOCK_STREAM, 0);
}

TEST(vcpu_filter_forbids_a_socket)
{
	struct child c;

	run_child(vcpu_socket, NULL, &c);
	CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
	CHECK_CONTAINS(c.log, "seccomp-test] Shutting down VM after intercepting a bad syscall: "
			      "socket (41)");
}

/* An anonymous mapping as malloc makes it, then the same executable. */
static void exec_mapping(const void *arg)
{
	void *p;

	install_or_die(arg);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		child_exit(93);
	say("data mapping went through\n");
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

TEST(no_filter_maps_executable_memory)
{
	for (int t = 0; t < SECCOMP_NR_THREADS; t++) {
		struct child c;

		run_child(exec_mapping, &seccomp_builtin_progs[t], &c);
		CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
		CHECK_CONTAINS(c.log, "data mapping went through");
		CHECK_CONTAINS(c.log, "bad syscall: mmap (9)");
	}
}

static void api_kvm_ioctl(const void *arg)
{
	(void)arg;
	install_or_die(&seccomp_builtin_progs[SECCOMP_API]);
	ioctl(-1, 0xae80 /* KVM_RUN */, 0);
}

TEST(api_filter_forbids_kvm)
{
	struct child c;

	run_child(api_kvm_ioctl, NULL, &c);
	CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
	CHECK_CONTAINS(c.log, "bad syscall: ioctl (16)");
}

static void vmm_open_for_reading(const void *arg)
{
	(void)arg;
	install_or_die(&seccomp_builtin_progs[SECCOMP_VMM]);
	/* PATCH /drives' flags go through (the file does not exist); plain O_RDONLY does not. */
	if (open("/nonexistent-ember", O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) >= 0 ||
	    errno != ENOENT)
		child_exit(94);
	say("drive open went through\n");
	/* The VM's end hurries the late thread's grace period (vmm/kvm.c). */
	if (ioctl(-1, KVM_SET_GSI_ROUTING, NULL) >= 0 || errno != EBADF)
		child_exit(93);
	say("routing went through\n");
	open("/etc/passwd", O_RDONLY);
}

TEST(vmm_filter_opens_only_as_its_actions_do)
{
	struct child c;

	run_child(vmm_open_for_reading, NULL, &c);
	CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
	CHECK_CONTAINS(c.log, "drive open went through");
	CHECK_CONTAINS(c.log, "routing went through");
	CHECK_CONTAINS(c.log, "bad syscall: openat (257)");
}

/*
 * The late thread's whole life (vmm/kvm.c): a semaphore, a timer, one ioctl. The
 * hurry of its grace period is the VMM thread's (KVM_SET_GSI_ROUTING), not its own.
 */
static void setup_thread_life(const void *arg)
{
	struct kvm_reinject_control rc = {.pit_reinject = 0};
	const struct itimerspec its = {.it_value = {0, 500000}};
	sem_t go;

	(void)arg;
	if (sem_init(&go, 0, 1))
		child_exit(95);
	install_or_die(&seccomp_builtin_progs[SECCOMP_SETUP]);
	sem_post(&go);
	while (sem_wait(&go) && errno == EINTR)
		;
	/* It arms the VMM thread's timer that hurries its grace period. */
	if (timerfd_settime(-1, 0, &its, NULL) >= 0 || errno != EBADF)
		child_exit(93);
	if (ioctl(-1, KVM_REINJECT_CONTROL, &rc) >= 0 || errno != EBADF)
		child_exit(94);
	say("reinject control went through\n");
	ioctl(-1, KVM_SET_GSI_ROUTING, NULL);
}

TEST(setup_filter_allows_its_one_ioctl)
{
	struct child c;

	run_child(setup_thread_life, NULL, &c);
	CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
	CHECK_CONTAINS(c.log, "reinject control went through");
	CHECK_CONTAINS(c.log, "bad syscall: ioctl (16)");
}

static void setup_mapping(const void *arg)
{
	(void)arg;
	install_or_die(&seccomp_builtin_progs[SECCOMP_SETUP]);
	mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

TEST(setup_filter_maps_nothing)
{
	struct child c;

	run_child(setup_mapping, NULL, &c);
	CHECK_EXIT(&c, SECCOMP_EXIT_BAD_SYSCALL);
	CHECK_CONTAINS(c.log, "bad syscall: mmap (9)");
}

TEST_MAIN(TEST_ENTRY(forbidden_syscall_kills_and_is_named),
	  TEST_ENTRY(kill_process_needs_no_handler),
	  TEST_ENTRY(errno_action_lets_the_process_go_on), TEST_ENTRY(argument_filters),
	  TEST_ENTRY(no_new_privs_and_seccomp_mode), TEST_ENTRY(vcpu_filter_forbids_a_socket),
	  TEST_ENTRY(no_filter_maps_executable_memory), TEST_ENTRY(api_filter_forbids_kvm),
	  TEST_ENTRY(vmm_filter_opens_only_as_its_actions_do),
	  TEST_ENTRY(setup_filter_allows_its_one_ioctl), TEST_ENTRY(setup_filter_maps_nothing))
