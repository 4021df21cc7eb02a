// SPDX-License-Identifier: Apache-2.0
/*
 * rate - VMs created, run to their end and reaped per second, with N in flight.
 *
 *   rate [-j N] [-n RUNS] [-r REPEATS] [-x STATUS] [-2 PATH] -- VMM-COMMAND [ARG...]
 *
 * Each repeat spawns RUNS copies of the command (posix_spawn; stdin and stdout on
 * /dev/null, stderr to -2's file), keeping N of them running at once, and reaps each
 * with wait4: every one must end with the -x status (-N: killed by signal N). The rate
 * is RUNS / the wall time from the first spawn to the last reap. Prints, after a '#'
 * line, "metric min median max" for rate-per-s and cpu-ms (the VMMs' user + system
 * time per run, from wait4), over the repeats.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_REPEATS 1000

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void print_stat(const char *name, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-16s %12.2f %12.2f %12.2f\n", name, v[0],
	       n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[n - 1]);
}

static long number(const char *flag, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "rate: -%s %s: expected a number from %ld to %ld\n", flag, s, min,
			max);
		exit(2);
	}
	return v;
}

static int status_ok(int status, int expect)
{
	if (expect >= 0)
		return WIFEXITED(status) && WEXITSTATUS(status) == expect;
	return WIFSIGNALED(status) && WTERMSIG(status) == -expect;
}

/* One repeat: @runs spawns, @jobs at a time; 0, or -1 after saying why. */
static int one_repeat(char **argv, int jobs, int runs, int expect, const char *err_path,
		      double *rate, double *cpu_ms)
{
	posix_spawn_file_actions_t fa;
	int started = 0, done = 0, running = 0, ret = 0;
	double t0, cpu = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	t0 = now_ms();
	while (done < runs) {
		while (running < jobs && started < runs && !ret) {
			pid_t pid;
			int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);

			if (err) {
				fprintf(stderr, "rate: %s: cannot spawn: %s\n", argv[0],
					strerror(err));
				ret = -1;
				break;
			}
			started++;
			running++;
		}
		if (!running)
			break;
		struct rusage ru;
		int status;
		pid_t pid = wait4(-1, &status, 0, &ru);

		if (pid < 0) {
			fprintf(stderr, "rate: wait4: %s\n", strerror(errno));
			ret = -1;
			break;
		}
		running--;
		done++;
		cpu += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
		if (!status_ok(status, expect) && !ret) {
			fprintf(stderr,
				"rate: %s: run %d ended with wait status 0x%x, expected %s %d "
				"(its stderr: %s)\n",
				argv[0], done, status, expect < 0 ? "signal" : "exit status",
				expect < 0 ? -expect : expect, err_path);
			ret = -1;
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	*rate = done * 1e3 / (now_ms() - t0);
	*cpu_ms = done ? cpu / done : 0;
	return ret;
}

int main(int argc, char **argv)
{
	int jobs = 1, runs = 50, repeats = 3, expect = 0, opt;
	const char *err_path = "/dev/null";
	static double rates[MAX_REPEATS], cpus[MAX_REPEATS];

	while ((opt = getopt(argc, argv, "+j:n:r:x:2:h")) != -1) {
		switch (opt) {
		case 'j':
			jobs = (int)number("j", optarg, 1, 4096);
			break;
		case 'n':
			runs = (int)number("n", optarg, 1, 1000000);
			break;
		case 'r':
			repeats = (int)number("r", optarg, 1, MAX_REPEATS);
			break;
		case 'x':
			expect = (int)number("x", optarg, -64, 255);
			break;
		case '2':
			err_path = optarg;
			break;
		default:
			fprintf(
			    opt == 'h' ? stdout : stderr,
			    "usage: rate [-j N] [-n RUNS] [-r REPEATS] [-x STATUS] [-2 PATH] -- "
			    "VMM-COMMAND [ARG...]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "rate: no VMM command after --\n");
		return 2;
	}
	for (int i = 0; i < repeats; i++) {
		if (one_repeat(argv + optind, jobs, runs, expect, err_path, &rates[i], &cpus[i]))
			return 1;
	}
	printf("# %s: %d repeats of %d runs, %d at a time\n", argv[optind], repeats, runs, jobs);
	printf("# metric                    min       median          max\n");
	print_stat("rate-per-s", rates, repeats);
	print_stat("cpu-ms", cpus, repeats);
	return 0;
}
