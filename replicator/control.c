/*
 * control.c - the control socket: how `set`, `status` and `peer` reach
 * the daemon of their store directory.
 *
 * A unix socket, 0600 in the 0700 store directory, so only the store's
 * owner gets here.  One request line per connection, then lines of
 * tab-separated fields and a last line "end" (docs/PROTOCOL.md).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat_fd.h"
#include "log.h"
#include "ctlmsg.h"
#include "mpread.h"
#include "repl_int.h"

#define LINE_MAX_	1024

/* ---- both sides -------------------------------------------------------- */

static int
write_str(int fd, const char *s, struct error *err)
{
	return link_write_all(fd, s, strlen(s), 2000, err);
}

/*
 * Takes the first whole line (without the newline) out of what was read:
 * 1, 0 when none is whole yet, -1 when it is too long for line or will
 * be.
 */
static int
take_line(struct buf *pending, char *line, size_t len, struct error *err)
{
	char *nl;
	size_t l;

	if (pending->len > 0 &&
	    (nl = memchr(pending->data, '\n', pending->len)) != NULL) {
		l = (size_t)(nl - pending->data);
		if (l >= len)
			return error_set(err, ERR_FAIL, "line too long");
		memcpy(line, pending->data, l);
		line[l] = '\0';
		memmove(pending->data, nl + 1, pending->len - l - 1);
		pending->len -= l + 1;
		return 1;
	}
	if (pending->len > LINE_MAX_)
		return error_set(err, ERR_FAIL, "line too long");
	return 0;
}

/* Reads one line (without the newline) before deadline_ms passes. */
static int
read_line(int fd, struct buf *pending, char *line, size_t len,
    int timeout_ms, struct error *err)
{
	char chunk[512];
	struct pollfd pfd;
	ssize_t n;
	int rc;

	for (;;) {
		if ((rc = take_line(pending, line, len, err)) != 0)
			return rc == 1 ? 0 : -1;
		pfd.fd = fd;
		pfd.events = POLLIN;
		do
			rc = poll(&pfd, 1, timeout_ms);
		while (rc == -1 && errno == EINTR);
		if (rc == 0)
			return error_set(err, ERR_FAIL, "timed out");
		if (rc == -1)
			return error_errno(err, ERR_FAIL, "poll");
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			return error_set(err, ERR_FAIL, "connection closed");
		if (buf_append(pending, chunk, (size_t)n) == -1)
			return error_errno(err, ERR_FAIL, "read");
	}
}

int
ctl_read_line(int fd, struct buf *pending, char *line, size_t len,
    int timeout_ms, struct error *err)
{
	return read_line(fd, pending, line, len, timeout_ms, err);
}

/* ---- the daemon's side ---------------------------------------------------- */

/*
 * One state machine per client, in d->ctls, served by control_step each
 * turn of the loop: nothing here blocks but control_stop_all, when the
 * loop is over.
 */

#define CTL_READ_MS	2000	/* the request line: between two reads */
#define CTL_WRITE_MS	2000	/* the whole answer */
#define PREPARE_READ_MS	10000	/* the change, plus 1 s per MiB */

enum ctl_phase {
	CC_REQUEST,	/* reading the request line */
	CC_CHANGE,	/* prepare: reading the LEN bytes of the change */
	CC_PREPARE,	/* prepare: waiting for a round, then its verdicts */
	CC_COMMIT,	/* commit: waiting for every node */
	CC_ANSWER,	/* writing the answer, then closing */
};

struct verdict {
	struct peer		*p;
	uint64_t		 fails0;
	int			 decided;
	enum repl_node_state	 st;
	char			 text[PROTO_TEXT_MAX + 64];
};

/* "commit REV WAIT_MS", waiting for every node to be done with REV. */
struct commit_wait {
	uint64_t		 rev;
	uint64_t		 t0;		/* us, for the log */
	uint64_t		 deadline;	/* mono ms */
	struct verdict		*v;
	size_t			 n;
	int			 local;
	enum repl_node_state	 lst;
	char			 ltext[PROTO_TEXT_MAX + 64];
};

struct ctlconn {
	struct ctlconn		*next;
	int			 fd;
	enum ctl_phase		 phase;
	short			 revents;	/* the loop saw, since the last step */
	uint64_t		 t0;		/* the request came (mono ms) */
	uint64_t		 deadline;	/* of this phase (mono ms) */
	struct buf		 in;		/* read, not taken yet */
	char			 line[256];	/* the request; l points into it */
	struct ctl_line		 l;
	struct buf		 chg;		/* prepare: the change */
	size_t			 chg_len;
	struct prep_wait	*pw;		/* prepare: its round, once started */
	struct commit_wait	 cw;
	struct buf		 out;		/* the answer */
	size_t			 off;		/* how much of it is written */
};

/*
 * The loop saw the descriptor ready: the next step reads or writes.  Only
 * a client still in the list is touched, should a step have closed it
 * since it asked.
 */
static void
ctl_io(struct daemon *d, void *arg, short revents)
{
	struct ctlconn *c;

	for (c = d->ctls; c != NULL; c = c->next)
		if (c == arg) {
			c->revents |= revents;
			return;
		}
}

/* Closes c, already out of d->ctls: the loop may accept another. */
static void
ctl_close(struct daemon *d, struct ctlconn *c)
{
	if (c->pw != NULL)
		prepare_cancel(d, c->pw);
	close(c->fd);
	buf_free_secret(&c->in);	/* it may hold part of a change */
	buf_free_secret(&c->chg);
	buf_free(&c->out);
	free(c->cw.v);
	free(c);
	d->ncontrol--;
	daemon_changed(d);
}

/* The answer is in c->out: write it. */
static void
ctl_answer(struct ctlconn *c, uint64_t now)
{
	c->phase = CC_ANSWER;
	c->deadline = now + CTL_WRITE_MS;
	c->off = 0;
}

static void
ctl_error(struct ctlconn *c, struct error *err, uint64_t now)
{
	ctl_clean(err->msg);
	buf_printf(&c->out, "error\t%s\n", err->msg);
	ctl_answer(c, now);
}

/*
 * The request line, as read_line reads it: 1 in c->line, 0 not yet, -1
 * err.  Each read gives the client CTL_READ_MS more.
 */
static int
request_read(struct ctlconn *c, int readable, uint64_t now,
    struct error *err)
{
	char chunk[512];
	ssize_t n;
	int rc;

	for (;;) {
		if ((rc = take_line(&c->in, c->line, sizeof(c->line),
		    err)) != 0)
			return rc;
		if (!readable)
			break;
		n = read(c->fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return error_set(err, ERR_FAIL, "connection closed");
		if (buf_append(&c->in, chunk, (size_t)n) == -1)
			return error_errno(err, ERR_FAIL, "read");
		c->deadline = now + CTL_READ_MS;
	}
	if (now >= c->deadline)
		return error_set(err, ERR_FAIL, "timed out");
	return 0;
}

/* The change that follows "prepare": what came with the line first. */
static int
change_begin(struct ctlconn *c, uint64_t now, struct error *err)
{
	size_t len;

	buf_secret(&c->chg);
	if (c->l.n[2] > STORE_CHANGE_MAX)
		return error_set(err, ERR_INPUT, "change too large");
	len = (size_t)c->l.n[2];
	if (c->in.len > len)
		return error_set(err, ERR_INPUT, "bytes after the change");
	/* Bounded by STORE_CHANGE_MAX, from the store's owner only. */
	if (buf_reserve(&c->chg, len) == -1 ||
	    buf_append(&c->chg, c->in.data, c->in.len) == -1)
		return error_errno(err, ERR_FAIL, "prepare");
	buf_free_secret(&c->in);
	c->chg_len = len;
	c->deadline = now + PREPARE_READ_MS + 1000 * (len >> 20);
	c->phase = CC_CHANGE;
	c->revents = POLLIN;	/* the rest may be there already */
	return 0;
}

/* Exactly chg_len bytes, and nothing after: 1 read, 0 not yet, -1 err. */
static int
change_read(struct ctlconn *c, int readable, uint64_t now,
    struct error *err)
{
	ssize_t n;
	char ch;

	while (c->chg.len < c->chg_len) {
		if (now >= c->deadline)
			return error_set(err, ERR_INPUT, "change: timed out");
		if (!readable)
			return 0;
		n = read(c->fd, c->chg.data + c->chg.len,
		    c->chg_len - c->chg.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return error_set(err, ERR_INPUT, "change: %zu of %zu "
			    "bytes", c->chg.len, c->chg_len);
		c->chg.len += (size_t)n;
	}
	/* Nothing may follow: one request per connection. */
	if (read(c->fd, &ch, 1) == 1)
		return error_set(err, ERR_INPUT, "bytes after the change");
	return 1;
}

/*
 * No round could start before the client's wait ran out: as when it
 * waited for another round to end and did not see it end.
 */
static void
prepare_busy(struct daemon *d, struct ctlconn *c)
{
	uint64_t id = ++d->prep_id;
	size_t i;

	for (i = 0; i < d->npeers; i++)
		buf_printf(&c->out, "verdict\t%s\t%d\t0\tanother check took "
		    "the time\n", d->peers[i]->info.name,
		    (int)REPL_CHECK_UNCHECKED);
	log_debug("prepare %" PRIu64 ": every verdict in %" PRIu64 " ms", id,
	    repl_mono_ms() - c->t0);
	buf_puts(&c->out, "end\n");
}

/*
 * A prepare whose change is read: starts its round when none runs, then
 * waits for the verdicts.  1 when the answer is in c->out.
 */
static int
prepare_serve(struct daemon *d, struct ctlconn *c, uint64_t now)
{
	struct error err = { 0 };
	struct ctl_line l;
	int rc;

	if (c->pw == NULL) {
		/* The wait counts from the change, as long as it waits. */
		l = c->l;
		l.n[1] = c->deadline > now ? c->deadline - now : 0;
		rc = prepare_start(d, &l, &c->chg, &c->pw, &err);
		if (rc == 0 && now < c->deadline) {
			loop_at(d, c->deadline);
			return 0;
		}
		buf_free_secret(&c->chg);
		if (rc == -1) {
			ctl_clean(err.msg);
			buf_printf(&c->out, "error\t%s\n", err.msg);
			return 1;
		}
		if (rc == 0) {
			prepare_busy(d, c);
			return 1;
		}
	}
	if (prepare_poll(d, c->pw, now, &c->out) == 0)
		return 0;
	prepare_cancel(d, c->pw);
	c->pw = NULL;
	return 1;
}

/*
 * "commit REV WAIT_MS": start the render and the pushes; with a wait,
 * commit_poll then waits for every node to be done with REV.
 */
static void
commit_begin(struct daemon *d, struct ctlconn *c, uint64_t rev,
    uint64_t wait_ms, uint64_t now)
{
	struct commit_wait *cw = &c->cw;
	size_t i;

	cw->t0 = repl_mono_us();
	cw->rev = rev;
	cw->lst = REPL_NODE_PENDING;
	if (rev > d->head_hint)
		d->head_hint = rev;
	render_kick(d, rev);
	cw->n = d->primary ? d->npeers : 0;
	if (cw->n > 0 && (cw->v = calloc(cw->n, sizeof(*cw->v))) == NULL)
		cw->n = 0;
	for (i = 0; i < cw->n; i++) {
		cw->v[i].p = d->peers[i];
		cw->v[i].fails0 = d->peers[i]->fails;
		d->peers[i]->kick = 1;
	}
	daemon_changed(d);
	if (wait_ms == 0) {
		buf_puts(&c->out, "end\n");
		ctl_answer(c, now);
		return;
	}
	if (wait_ms > REPL_WAIT_MAX)
		wait_ms = REPL_WAIT_MAX;
	cw->deadline = now + wait_ms;
	c->phase = CC_COMMIT;
}

/*
 * Whether every node is done with the commit (or plainly not reachable),
 * the time ran out or the daemon stops: then 1, and how each one stands
 * is in c->out.
 */
static int
commit_poll(struct daemon *d, struct ctlconn *c, uint64_t now, int stopping)
{
	struct commit_wait *cw = &c->cw;
	char summary[PROTO_TEXT_MAX + 1];
	size_t i, undecided = 0;
	int failed = 0, timed_out = now >= cw->deadline;

	/* Stopping, render_covers says 1 whether or not it rendered. */
	if (!cw->local && !stopping && render_covers(d, cw->rev, summary,
	    sizeof(summary), &failed)) {
		cw->local = 1;
		cw->lst = failed ? REPL_NODE_FAILED : REPL_NODE_OK;
		snprintf(cw->ltext, sizeof(cw->ltext), "committed r%" PRIu64
		    ", %s", cw->rev, summary);
	}
	undecided += !cw->local;
	for (i = 0; i < cw->n; i++) {
		struct verdict *v = &cw->v[i];
		struct peer *p = v->p;

		if (v->decided)
			continue;
		if (p->rendered >= cw->rev) {
			v->st = p->render_failed ? REPL_NODE_FAILED :
			    REPL_NODE_OK;
			snprintf(v->text, sizeof(v->text),
			    "applied r%" PRIu64 ", %s", cw->rev, p->summary);
		} else if (p->diverged || p->refused) {
			/* "refused: diverged: ...", "refused (rejected): ..." */
			v->st = REPL_NODE_FAILED;
			snprintf(v->text, sizeof(v->text), "%s%s",
			    p->diverged ? "refused: " : "", p->rec.error);
		} else if (p->quit) {
			v->st = REPL_NODE_PENDING;
			snprintf(v->text, sizeof(v->text), "no longer a peer");
		} else if (!p->connected && p->fails > v->fails0) {
			v->st = REPL_NODE_PENDING;
			snprintf(v->text, sizeof(v->text),
			    "unreachable, will catch up");
		} else if (timed_out) {
			v->st = REPL_NODE_PENDING;
			snprintf(v->text, sizeof(v->text), "%s",
			    p->connected ? "no answer yet, will catch up"
			    : "unreachable, will catch up");
		} else {
			undecided++;
			continue;
		}
		v->decided = 1;
	}
	if (undecided > 0 && !stopping) {
		if (!timed_out) {
			loop_at(d, cw->deadline);
			return 0;
		}
		if (!cw->local)
			snprintf(cw->ltext, sizeof(cw->ltext), "committed r%"
			    PRIu64 ", render still running", cw->rev);
	}
	if (!cw->local && stopping)
		snprintf(cw->ltext, sizeof(cw->ltext), "committed r%" PRIu64
		    ", daemon shutting down", cw->rev);
	ctl_clean(cw->ltext);
	buf_printf(&c->out, "%s\t%d\t%s\n", d->node, (int)cw->lst, cw->ltext);
	for (i = 0; i < cw->n; i++) {
		struct verdict *v = &cw->v[i];

		if (!v->decided) {
			v->st = REPL_NODE_PENDING;
			snprintf(v->text, sizeof(v->text),
			    "daemon shutting down");
		}
		ctl_clean(v->text);
		buf_printf(&c->out, "%s\t%d\t%s\n", v->p->info.name,
		    (int)v->st, v->text);
	}
	log_debug("r%" PRIu64 ": reported on every node %.3f ms after the "
	    "notice", cw->rev, (double)(repl_mono_us() - cw->t0) / 1000);
	buf_puts(&c->out, "end\n");
	return 1;
}

static void
ctl_status(struct daemon *d, struct buf *out)
{
	char text[256];
	size_t i;

	for (i = 0; i < d->npeers; i++) {
		struct peer *p = d->peers[i];

		snprintf(text, sizeof(text), "%s", p->rec.error);
		ctl_clean(text);
		buf_printf(out, "peer\t%s\t%d\t%" PRIu64 "\t%" PRIu64 "\t%"
		    PRIu64 "\t%" PRIu64 "\t%s\n", p->info.name, p->connected,
		    p->rec.acked, p->rec.acked_ms, p->rec.peer_head,
		    p->rec.error_ms, text);
	}
	buf_printf(out, "pid\t%ld\nend\n", (long)getpid());
}

/* The request line is in c->line: answer it, or start what it asks. */
static void
ctl_request(struct daemon *d, struct ctlconn *c, uint64_t now)
{
	struct error err = { 0 };
	struct ctl_line *l = &c->l;

	c->t0 = now;
	if (ctl_parse(c->line, l, &err) == -1 || (l->kind != CTL_COMMIT &&
	    l->kind != CTL_STATUS && l->kind != CTL_RELOAD &&
	    l->kind != CTL_PREPARE)) {
		buf_puts(&c->out, "error\tunknown request\n");
		ctl_answer(c, now);
	} else if (l->kind == CTL_PREPARE) {
		if (change_begin(c, now, &err) == -1)
			ctl_error(c, &err, now);
	} else if (l->kind == CTL_COMMIT)
		commit_begin(d, c, l->n[0], l->n[1], now);
	else if (l->kind == CTL_STATUS) {
		ctl_status(d, &c->out);
		ctl_answer(c, now);
	} else if (repl_daemon_reload(d, &err) == -1)
		ctl_error(c, &err, now);
	else {
		buf_puts(&c->out, "end\n");
		ctl_answer(c, now);
	}
}

/* What the socket takes of the answer: 1 all, 0 not yet, -1 give up. */
static int
answer_write(struct ctlconn *c, uint64_t now)
{
	ssize_t n;
	int flags = 0;

#ifdef MSG_NOSIGNAL
	flags = MSG_NOSIGNAL;
#endif
	while (c->off < c->out.len) {
		n = send(c->fd, c->out.data + c->off, c->out.len - c->off,
		    flags);
		if (n > 0) {
			c->off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return now >= c->deadline ? -1 : 0;
		return -1;
	}
	return 1;
}

/* One client's turn: -1 when it is over, to be closed. */
static int
ctl_serve(struct daemon *d, struct ctlconn *c, uint64_t now)
{
	struct error err = { 0 };
	int readable = c->revents != 0, rc;

	c->revents = 0;
	if (c->phase == CC_REQUEST) {
		if ((rc = request_read(c, readable, now, &err)) == -1) {
			log_debug("control: %s", err.msg);
			return -1;
		}
		if (rc == 0) {
			loop_watch(d, c->fd, POLLIN, ctl_io, c);
			loop_at(d, c->deadline);
			return 0;
		}
		ctl_request(d, c, now);
		readable = c->revents != 0;
		c->revents = 0;
	}
	if (c->phase == CC_CHANGE) {
		if ((rc = change_read(c, readable, now, &err)) == -1)
			ctl_error(c, &err, now);
		else if (rc == 0) {
			loop_watch(d, c->fd, POLLIN, ctl_io, c);
			loop_at(d, c->deadline);
			return 0;
		} else {
			c->phase = CC_PREPARE;
			c->deadline = now + (c->l.n[1] > REPL_WAIT_MAX ?
			    REPL_WAIT_MAX : c->l.n[1]);
		}
	}
	if (c->phase == CC_PREPARE) {
		if (prepare_serve(d, c, now) == 0)
			return 0;
		ctl_answer(c, now);
	}
	if (c->phase == CC_COMMIT) {
		if (commit_poll(d, c, now, d->stop) == 0)
			return 0;
		ctl_answer(c, now);
	}
	/* CC_ANSWER */
	if ((rc = answer_write(c, now)) != 0)
		return -1;
	loop_watch(d, c->fd, POLLOUT, ctl_io, c);
	loop_at(d, c->deadline);
	return 0;
}

void
control_new(struct daemon *d, int fd)
{
	struct ctlconn *c;
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("control: a client refused");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("control: out of memory, a client refused");
		close(fd);
		return;
	}
	c->fd = fd;
	c->phase = CC_REQUEST;
	c->deadline = repl_mono_ms() + CTL_READ_MS;
	c->revents = POLLIN;	/* the request may be there already */
	c->next = d->ctls;
	d->ctls = c;
	d->ncontrol++;
}

void
control_step(struct daemon *d, uint64_t now)
{
	struct ctlconn **cp = &d->ctls, *c;

	while ((c = *cp) != NULL) {
		if (ctl_serve(d, c, now) == -1) {
			*cp = c->next;
			ctl_close(d, c);
		} else
			cp = &c->next;
	}
}

/*
 * The loop is over (d->stop): those still reading are closed; those
 * waiting hear how things stand, as the daemon shuts down.  The answers
 * are written here, blocking: nothing else runs any more.
 */
void
control_stop_all(struct daemon *d)
{
	struct ctlconn *c;
	uint64_t now = repl_mono_ms();
	int answer;

	while ((c = d->ctls) != NULL) {
		d->ctls = c->next;
		answer = 0;
		if (c->phase == CC_PREPARE && d->stop)
			/* Stopping, a round starts and ends at once. */
			answer = prepare_serve(d, c, now) == 1;
		else if (c->phase == CC_COMMIT)
			answer = commit_poll(d, c, now, 1);
		else if (c->phase == CC_ANSWER)
			answer = 1;
		if (answer && c->out.len > c->off)
			link_write_all(c->fd, c->out.data + c->off,
			    c->out.len - c->off, CTL_WRITE_MS, NULL);
		ctl_close(d, c);
	}
}

/* ---- the command line's side ------------------------------------------- */

int
ctl_connect(const char *dir, struct error *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
	    REPL_SOCKET) >= sizeof(sun.sun_path))
		return error_set(err, ERR_FAIL, "daemon not running (store "
		    "path too long for its socket)");
	if ((fd = fd_socket_cloexec(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return error_errno(err, ERR_FAIL, "socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		if (errno == ENOENT || errno == ECONNREFUSED)
			return error_set(err, ERR_NODAEMON, "daemon not running");
		return error_errno(err, ERR_FAIL, "%s", sun.sun_path);
	}
	return fd;
}

int
repl_notify(const char *dir, uint64_t rev, int wait_ms, repl_report_fn fn,
    void *arg, struct error *err)
{
	struct buf pending = { 0 };
	struct ctl_line l;
	char req[64], line[LINE_MAX_];
	int fd, rc = -1;

	if ((fd = ctl_connect(dir, err)) == -1)
		return -1;
	if (wait_ms < 0)
		wait_ms = 0;
	snprintf(req, sizeof(req), "commit %" PRIu64 " %d\n", rev, wait_ms);
	if (write_str(fd, req, err) == -1)
		goto done;
	for (;;) {
		/* The daemon keeps to wait_ms; this is only a backstop. */
		if (read_line(fd, &pending, line, sizeof(line),
		    wait_ms + 10000, err) == -1) {
			error_wrap(err, "daemon");
			goto done;
		}
		if (ctl_parse(line, &l, err) == -1 || (l.kind != CTL_END &&
		    l.kind != CTL_NODE)) {
			error_set(err, ERR_FAIL, "daemon: bad reply");
			goto done;
		}
		if (l.kind == CTL_END)
			break;
		if (fn != NULL)
			fn(arg, l.name, (enum repl_node_state)l.n[0], l.text);
	}
	rc = 0;
done:
	buf_free(&pending);
	close(fd);
	return rc;
}

int
repl_reload(const char *dir, struct error *err)
{
	struct buf pending = { 0 };
	struct ctl_line l;
	char line[LINE_MAX_];
	int fd, rc = -1;

	if ((fd = ctl_connect(dir, err)) == -1)
		return -1;
	if (write_str(fd, "reload\n", err) == 0 &&
	    read_line(fd, &pending, line, sizeof(line), 15000, err) == 0) {
		if (ctl_parse(line, &l, err) == 0 && l.kind == CTL_END)
			rc = 0;
		else if (l.kind == CTL_ERROR)
			error_set(err, ERR_FAIL, "daemon: %s", l.text);
		else
			error_set(err, ERR_FAIL, "daemon: bad reply");
	}
	buf_free(&pending);
	close(fd);
	return rc;
}

/* Live peer state from the daemon, over what the records said. */
static int
ask_status(struct store *s, struct repl_status *st)
{
	struct buf pending = { 0 };
	struct error err = { 0 };
	struct ctl_line l;
	char line[LINE_MAX_];
	size_t i;
	int fd, rc = -1;

	if ((fd = ctl_connect(store_dir(s), &err)) == -1)
		return -1;
	if (write_str(fd, "status\n", &err) == -1)
		goto done;
	for (;;) {
		if (read_line(fd, &pending, line, sizeof(line), 5000,
		    &err) == -1)
			goto done;
		if (ctl_parse(line, &l, &err) == -1)
			goto done;
		if (l.kind == CTL_END)
			break;
		if (l.kind != CTL_PEER)
			continue;	/* pid, and what a newer daemon adds */
		for (i = 0; i < st->npeers; i++) {
			struct repl_peer_status *ps = &st->peers[i];

			if (strcmp(ps->name, l.name) != 0)
				continue;
			ps->connected = l.n[0] != 0;
			ps->acked = l.n[1];
			ps->acked_ms = l.n[2];
			ps->peer_head = l.n[3];
			ps->error_ms = l.n[4];
			snprintf(ps->error, sizeof(ps->error), "%s", l.text);
		}
	}
	rc = 0;
done:
	buf_free(&pending);
	close(fd);
	return rc;
}

static void
lag(struct store *s, struct repl_status *st, struct repl_peer_status *ps,
    uint64_t now)
{
	struct commit *c = NULL;

	ps->lag = ps->lag_ms = 0;
	if (st->primary) {
		if (ps->acked >= st->head)
			return;
		ps->lag = st->head - ps->acked;
		/* How long the oldest commit it lacks has been waiting. */
		if (store_commit_load(s, ps->acked + 1, &c, NULL) == 0) {
			if (now > commit_time_ms(c))
				ps->lag_ms = now - commit_time_ms(c);
			commit_free(c);
		}
		return;
	}
	if (ps->peer_head > st->head) {
		ps->lag = ps->peer_head - st->head;
		if (ps->acked_ms > 0 && now > ps->acked_ms)
			ps->lag_ms = now - ps->acked_ms;
	}
}

int
repl_status_get(struct store *s, struct repl_status **out, struct error *err)
{
	struct repl_status *st;
	struct peer_info *peers = NULL;
	struct peer_record r;
	struct demote_record dr;
	struct commit *c = NULL;
	size_t i, n = 0;
	uint64_t now = repl_now_ms();

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return error_errno(err, ERR_FAIL, "status");
	st->primary = store_is_primary(s);
	snprintf(st->node, sizeof(st->node), "%s", store_node(s));
	snprintf(st->listen, sizeof(st->listen), "%s", store_listen(s));
	if (store_primary_name(s, st->primary_name, sizeof(st->primary_name),
	    NULL) == -1)
		st->primary_name[0] = '\0';
	if (store_head(s, &st->head, st->hash, err) == -1 ||
	    store_peers(s, &peers, &n, err) == -1)
		goto fail;
	if (st->head > 0 && store_commit_load(s, st->head, &c, NULL) == 0) {
		st->head_ms = commit_time_ms(c);
		commit_free(c);
	}
	demote_record_load(s, &dr);
	st->demoted = dr.raised;
	st->demoted_ms = dr.since_ms;
	snprintf(st->demote_why, sizeof(st->demote_why), "%s", dr.why);
	snprintf(st->demote_error, sizeof(st->demote_error), "%s", dr.error);
	st->demote_error_ms = dr.error_ms;
	if (n > 0 && (st->peers = calloc(n, sizeof(*st->peers))) == NULL) {
		error_errno(err, ERR_FAIL, "status");
		goto fail;
	}
	st->npeers = n;
	for (i = 0; i < n; i++) {
		struct repl_peer_status *ps = &st->peers[i];

		snprintf(ps->name, sizeof(ps->name), "%s", peers[i].name);
		snprintf(ps->addr, sizeof(ps->addr), "%s", peers[i].addr);
		pubkey_to_text(peers[i].pubkey, ps->key);
		record_load(s, ps->name, &r);
		ps->acked = r.acked;
		ps->acked_ms = r.acked_ms;
		ps->peer_head = r.peer_head;
		ps->error_ms = r.error_ms;
		snprintf(ps->error, sizeof(ps->error), "%s", r.error);
	}
	st->daemon = ask_status(s, st) == 0;
	for (i = 0; i < n; i++)
		lag(s, st, &st->peers[i], now);
	free(peers);
	if (repl_failover_status(s, st, err) == -1)
		goto fail;
	*out = st;
	return 0;
fail:
	free(peers);
	repl_status_free(st);
	return -1;
}

#define EXPORTED_RECORD	"diverged.exported"

static int
exported_field(void *arg, const char *key, struct mpr *m)
{
	struct repl_status *st = arg;
	uint64_t v;

	if (strcmp(key, "count") != 0 && strcmp(key, "time_ms") != 0)
		return 1;
	if (mpr_uint(m, &v) == -1)
		return -1;
	if (strcmp(key, "count") == 0)
		st->nexported = (size_t)v;
	else
		st->exported_ms = v;
	return 0;
}

/* What export --diverged wrote out, never more than the branch holds. */
static void
exported_load(struct store *s, struct repl_status *st)
{
	st->nexported = 0;
	st->exported_ms = 0;
	if (rec_read(s, EXPORTED_RECORD, exported_field, st) == -1)
		st->nexported = st->exported_ms = 0;
	if (st->nexported > st->ndiverged)
		st->nexported = st->ndiverged;
}

int
repl_diverged_exported(struct store *s, size_t n, struct error *err)
{
	struct buf b = { 0 };

	rec_map(&b, 2);
	rec_uint(&b, "count", n);
	rec_uint(&b, "time_ms", repl_now_ms());
	return rec_write(s, EXPORTED_RECORD, &b, err);
}

int
repl_failover_status(struct store *s, struct repl_status *st,
    struct error *err)
{
	char name[STORE_NODE_MAX + 1];

	if (store_epoch(s, &st->epoch, NULL, err) == -1 ||
	    store_diverged_count(s, &st->ndiverged, err) == -1)
		return -1;
	st->fenced = store_fenced(s, &st->fenced_epoch, name, sizeof(name));
	exported_load(s, st);
	/* Not a peer here: a daemon would have no session with it. */
	st->primary_connected = st->daemon ? 0 : -1;
	st->primary_head = 0;
	if (st->primary) {
		st->primary_connected = 1;
		st->primary_head = st->head;
		return 0;
	}
	/*
	 * With no history yet the primary is not known by name: any peer
	 * with a session counts (only a primary opens one to a replica).
	 */
	for (size_t i = 0; i < st->npeers; i++) {
		if (st->primary_name[0] != '\0' &&
		    strcmp(st->peers[i].name, st->primary_name) != 0)
			continue;
		if (st->peers[i].peer_head > st->primary_head)
			st->primary_head = st->peers[i].peer_head;
		if (st->daemon && st->peers[i].connected)
			st->primary_connected = 1;
	}
	return 0;
}

void
repl_status_free(struct repl_status *st)
{
	if (st == NULL)
		return;
	free(st->peers);
	free(st);
}
