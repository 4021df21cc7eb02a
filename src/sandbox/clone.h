/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One sandbox clone: an ember process restored from the template's snapshot, with its
 * own directory for its API socket, vsock socket and console log. Memory is the
 * template's memory file mapped copy-on-write (ember's File backend), and the root file
 * system is the initramfs inside that memory: nothing a clone writes reaches the
 * template or another clone. ember-sandbox drives ember only through its API socket.
 */
#ifndef EMBER_SANDBOX_CLONE_H
#define EMBER_SANDBOX_CLONE_H

#include "template.h"

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <sys/types.h>

struct sb_clone {
	pid_t pid;	      /* ember, or 0 once reaped */
	char dir[64];	      /* the clone's private directory */
	char api[PATH_MAX];   /* DIR/api.sock, or JAIL/root/run/api.sock */
	char vsock[PATH_MAX]; /* DIR/v.sock, or JAIL/root/v.sock: the hybrid vsock */
	char jail[PATH_MAX];  /* --jail: BASE/ember/ID, removed with the clone */
	double restore_ms;    /* process start to the load's 204 */
};

/*
 * --jail: every clone under ember-jailer, as its own uid (first_uid, then the next),
 * in a chroot under base (beside the template: the template's files are hard-linked
 * into each jail, so they must be on the same filesystem and readable by others).
 * ember's parent-death signal does not survive the jailer's change of uid: a jailed
 * clone outlives an ember-sandbox that is killed.
 */
struct sb_jail {
	char jailer[PATH_MAX];
	char base[PATH_MAX];
	unsigned first_uid;
	unsigned next; /* atomically incremented */
};

/* Fills J for template T (the jailer beside EMBER); ERR when jailing cannot work here. */
int sb_jail_init(struct sb_jail *j, const struct sb_template *t, const char *ember, char *err,
		 size_t errlen);

/* Milliseconds on the monotonic clock. */
double sb_now_ms(void);

/*
 * Starts ember (EMBER, the binary; under the jailer when JAIL is not NULL) and restores
 * T into it, running when RESUME, else
 * paused (sb_clone_resume later). On failure, returns negative errno with ERR set
 * (a line naming the template or ember's fault_message) and leaves nothing behind.
 */
int sb_clone_start(struct sb_clone *c, const struct sb_template *t, const char *ember,
		   struct sb_jail *jail, bool resume, char *err, size_t errlen);
int sb_clone_resume(struct sb_clone *c, char *err, size_t errlen);

/* Kills the VM, reaps ember and removes the clone's directory. Safe to call twice. */
void sb_clone_destroy(struct sb_clone *c);

/* True while ember runs (reaps it if it has exited). */
bool sb_clone_alive(struct sb_clone *c);

/* One API request on SOCK: the HTTP status, the body copied to BODY (NUL-ended). */
int sb_api(const char *sock, const char *method, const char *path, const char *json, char *body,
	   size_t bodylen);

#endif
