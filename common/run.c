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

#include "run.h"

extern char **environ;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
take_output(int fd, struct buf *out)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		size_t room = out->len < RUN_OUTPUT_MAX ?
		    RUN_OUTPUT_MAX - out->len : 0;
		if (room > 0)
			buf_append(out, chunk, (size_t)n < room ? (size_t)n : room);
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
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	long long deadline = now_ms() + timeout_ms;
	int pfd[2], wstatus, rc;
	pid_t pid, w;

	memset(res, 0, sizeof(*res));
	if (pipe(pfd) == -1)
		return error_errno(err, ERR_FAIL, "pipe");
	fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pfd[1]);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
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
	 * open, so the end is the shell's exit, not end-of-file.
	 */
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long long left = deadline - now_ms();

		w = waitpid(pid, &wstatus, WNOHANG);
		if (w == pid) {
			take_output(pfd[0], &res->output);
			set_result(res, wstatus);
			break;
		}
		if (left <= 0) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &wstatus, 0) == -1 && errno == EINTR)
				;
			take_output(pfd[0], &res->output);
			set_result(res, wstatus);
			res->timed_out = 1;
			break;
		}
		if (poll(&p, 1, left < 20 ? (int)left : 20) > 0)
			take_output(pfd[0], &res->output);
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
