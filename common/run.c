#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "run.h"

extern char **environ;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what is there; 1 once the pipe is at end-of-file. */
static int
take_output(int fd, struct buf *out)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) > 0) {
			size_t room = out->len < RUN_OUTPUT_MAX ?
			    RUN_OUTPUT_MAX - out->len : 0;
			if (room > 0)
				buf_append(out, chunk,
				    (size_t)n < room ? (size_t)n : room);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		/* EAGAIN: more may come; any other error: nothing will. */
		return n == 0 || errno != EAGAIN;
	}
}

static void
set_result(struct run_result *res, int wstatus)
{
	if (WIFEXITED(wstatus)) {
		res->exited = 1;
		res->status = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		res->status = WTERMSIG(wstatus);
	}
}

/* Reaps pid, retrying on EINTR.  pid, 0 (flags WNOHANG: running) or -1. */
static pid_t
reap(pid_t pid, int *wstatus, int flags)
{
	pid_t w;

	while ((w = waitpid(pid, wstatus, flags)) == -1 && errno == EINTR)
		;
	return w;
}

/*
 * A child must not inherit what the daemon does with signals: its
 * threads block some, and SIGPIPE is ignored, which a restarted service
 * would keep for good.  Handled signals are reset by exec anyway; these
 * may be ignored.  (Not sigfillset: SIGKILL, SIGSTOP and the thread
 * library's own signals make posix_spawn fail on some systems.)
 */
static void
signals_default(sigset_t *set)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM,
	    SIGTERM, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2,
	    SIGURG, SIGWINCH, SIGXFSZ };
	size_t i;

	sigemptyset(set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(set, sigs[i]);
}

/*
 * posix_spawn rather than fork: the daemon is threaded, and spawn does the
 * descriptor plumbing and the process group without running our code in
 * the child.
 */
int
run_shell(const char *cmd, int timeout_ms, struct run_result *res,
    struct error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	char *argv[] = { "sh", "-c", UNCONST(cmd), NULL };
	long long deadline = now_ms() + timeout_ms;
	int pfd[2], wstatus = 0, rc, eof = 0, nap = 1;
	pid_t pid, w;

	memset(res, 0, sizeof(*res));
	if (pipe(pfd) == -1)
		return error_errno(err, ERR_FAIL, "pipe");
	fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	sigemptyset(&none);
	signals_default(&dfl);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		errno = rc;
		return error_errno(err, ERR_FAIL, "cannot run '%s'", cmd);
	}

	/*
	 * A restart command may leave a daemon behind that holds the pipe
	 * open, so the end is the shell's exit, not end-of-file.  Once the
	 * pipe is at end-of-file poll would return at once, every time: from
	 * then on only sleep, a little longer each time, until the exit.
	 */
	for (;;) {
		struct pollfd p = { .fd = eof ? -1 : pfd[0], .events = POLLIN };
		long long left = deadline - now_ms();
		int wait_ms;

		if ((w = reap(pid, &wstatus, WNOHANG)) == pid) {
			take_output(pfd[0], &res->output);
			set_result(res, wstatus);
			break;
		}
		if (w == -1) {
			/* Reaped elsewhere (SIGCHLD ignored?): no status. */
			error_errno(err, ERR_FAIL, "wait for '%s'", cmd);
			close(pfd[0]);
			run_result_free(res);
			return -1;
		}
		if (left <= 0) {
			kill(-pid, SIGKILL);
			if (reap(pid, &wstatus, 0) == -1) {
				error_errno(err, ERR_FAIL, "wait for '%s'",
				    cmd);
				close(pfd[0]);
				run_result_free(res);
				return -1;
			}
			take_output(pfd[0], &res->output);
			set_result(res, wstatus);
			res->timed_out = 1;
			break;
		}
		wait_ms = eof ? nap : 20;
		if (wait_ms > left)
			wait_ms = (int)left;
		if (poll(&p, 1, wait_ms) > 0 && !eof)
			eof = take_output(pfd[0], &res->output);
		if (eof && nap < 20)
			nap *= 2;
	}
	close(pfd[0]);
	return 0;
}

int
run_ok(const struct run_result *res)
{
	return res->exited && res->status == 0 && !res->timed_out;
}

const char *
run_describe(const struct run_result *res, char *buf, size_t len)
{
	if (res->timed_out)
		snprintf(buf, len, "timed out, killed");
	else if (res->exited)
		snprintf(buf, len, "exit %d", res->status);
	else
		snprintf(buf, len, "killed by signal %d", res->status);
	return buf;
}

void
run_result_free(struct run_result *res)
{
	buf_free(&res->output);
}

char *
run_subst_path(const char *cmd, const char *path)
{
	struct buf b = { 0 };
	const char *p;

	for (p = cmd; *p != '\0'; p++) {
		if (p[0] == '{' && p[1] == '}') {
			const char *q;

			if (buf_append(&b, "'", 1) == -1)
				goto fail;
			for (q = path; *q != '\0'; q++) {
				if (*q == '\'' ? buf_puts(&b, "'\\''") == -1 :
				    buf_append(&b, q, 1) == -1)
					goto fail;
			}
			if (buf_append(&b, "'", 1) == -1)
				goto fail;
			p++;
		} else if (buf_append(&b, p, 1) == -1)
			goto fail;
	}
	return buf_detach(&b, NULL);
fail:
	buf_free(&b);
	return NULL;
}
