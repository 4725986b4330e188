/*
 * prepare.c - a candidate checked on every peer before it is committed
 * (JunOS `commit check` on every host; docs/PROTOCOL.md, "prepare").
 *
 * The command line sends the daemon on the primary the base head and
 * the change; the daemon hands one prepare message to the push thread of
 * every connected peer, which owns that peer's session, and waits for all
 * the verdicts at once.  A peer renders the candidate for itself, runs
 * its own checkers on it in a scratch directory, and answers; it installs
 * and stores nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "render.h"
#include "repl_int.h"

#define PREPARE_READ_MS	10000	/* the change, plus 1 s per MiB */

/* The largest change, with the prepare message around it, fits a frame. */
_Static_assert(STORE_CHANGE_MAX + 64 <= LINK_PAYLOAD_MAX,
    "a frame must hold a prepare of the largest change");

/* One round: the message every asked peer gets, shared. */
struct prep_round {
	int		 refs;		/* under d->mu */
	uint64_t	 id;
	struct buf	 msg;		/* the prepare message, encoded */
};

/* Drops a reference (under d->mu); the last frees the round. */
static void
round_unref(struct prep_round *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	buf_free_secret(&r->msg);	/* the change may hold a key */
	free(r);
}

/* Clears p's slot (under d->mu). */
static void
slot_clear(struct prep_slot *sl)
{
	round_unref(sl->r);
	free(sl->lines);
	memset(sl, 0, sizeof(*sl));
}

/* The verdict of a round into p's slot, if the round still wants it. */
static void
slot_done(struct daemon *d, struct peer *p, struct prep_round *r,
    enum proto_verdict st, char *lines, uint64_t ms)
{
	pthread_mutex_lock(&d->mu);
	if (p->prep.r == r && p->prep.state == PREP_SENT) {
		p->prep.state = PREP_DONE;
		p->prep.status = st;
		p->prep.lines = lines;
		p->prep.ms = ms;
		lines = NULL;
	}
	round_unref(r);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	free(lines);
}

/* ---- the push thread's side -------------------------------------------- */

int
prepare_wanted(const struct peer *p)
{
	return p->prep.state == PREP_WANTED;
}

int
prepare_push(struct daemon *d, struct peer *p, struct chan *ch,
    struct buf *in, struct error *err)
{
	struct prep_round *r;
	struct buf text = { 0 };
	struct msg m;
	uint64_t t0, id;
	size_t i;

	pthread_mutex_lock(&d->mu);
	if ((r = p->prep.r) == NULL || p->prep.state != PREP_WANTED) {
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	r->refs++;
	id = r->id;
	p->prep.state = PREP_SENT;
	pthread_mutex_unlock(&d->mu);
	t0 = repl_mono_ms();
	if (send_msg(ch, &r->msg, err) == -1)
		goto fail;
	/* Pongs while it checks, as while it renders. */
	for (;;) {
		if (chan_recv(ch, in, REPLY_MS, err) == -1)
			goto fail;
		if (proto_decode(in->data, in->len, &m, err) == -1) {
			error_wrap(err, "malformed message");
			goto fail;
		}
		if (m.type == MSG_VERDICT && m.id == id)
			break;
		if (m.type != MSG_PONG) {
			error_set(err, ERR_FAIL, "unexpected %s to a prepare",
			    proto_type_name(m.type));
			proto_msg_free(&m);
			goto fail;
		}
		log_debug("%s: still checking", p->info.name);
	}
	for (i = 0; i < m.nlines; i++)
		buf_printf(&text, "%s\n", m.lines[i]);
	log_info("%s: prepare %" PRIu64 ": %s after %" PRIu64 " ms",
	    p->info.name, id, proto_verdict_name(m.status),
	    repl_mono_ms() - t0);
	slot_done(d, p, r, m.status, buf_detach(&text, NULL),
	    repl_mono_ms() - t0);
	proto_msg_free(&m);
	buf_free(&text);
	return 0;
fail:
	buf_printf(&text, "connection lost: %s\n", err->msg);
	slot_done(d, p, r, VERDICT_UNCHECKED, buf_detach(&text, NULL),
	    repl_mono_ms() - t0);
	buf_free(&text);
	return -1;
}

/* ---- the control request ----------------------------------------------- */

/* The change that follows the request line: exactly len bytes. */
static int
read_change(int fd, struct buf *pending, size_t len, struct buf *out,
    struct error *err)
{
	struct pollfd pfd;
	uint64_t deadline;
	ssize_t n;
	char c;
	int rc;

	if (pending->len > len)
		return error_set(err, ERR_INPUT, "bytes after the change");
	/* Bounded by STORE_CHANGE_MAX, from the store's owner only. */
	if (buf_reserve(out, len) == -1 ||
	    buf_append(out, pending->data, pending->len) == -1)
		return error_errno(err, ERR_FAIL, "prepare");
	deadline = repl_mono_ms() + PREPARE_READ_MS + 1000 * (len >> 20);
	while (out->len < len) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (repl_mono_ms() >= deadline)
			return error_set(err, ERR_INPUT, "change: timed out");
		rc = poll(&pfd, 1, (int)(deadline - repl_mono_ms()));
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return error_errno(err, ERR_FAIL, "poll");
		if (rc == 0)
			continue;
		if ((n = read(fd, out->data + out->len, len - out->len)) <= 0)
			return error_set(err, ERR_INPUT, "change: %zu of %zu "
			    "bytes", out->len, len);
		out->len += (size_t)n;
	}
	/* Nothing may follow: one request per connection. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) == 1 && read(fd, &c, 1) == 1)
		return error_set(err, ERR_INPUT, "bytes after the change");
	return 0;
}

/*
 * The round's message: the base and the change as they came.  The peers
 * decode the change, each on its own, and say so if it does not.
 */
static int
round_make(const struct ctl_line *l, const struct buf *chg, uint64_t id,
    struct prep_round **out, struct error *err)
{
	struct prep_round *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return error_errno(err, ERR_FAIL, "prepare");
	r->refs = 1;
	r->id = id;
	buf_secret(&r->msg);
	if (proto_prepare(&r->msg, id, l->n[0], l->hash,
	    chg->len > 0 ? chg->data : "", chg->len) == -1) {
		round_unref(r);
		return error_errno(err, ERR_FAIL, "prepare");
	}
	*out = r;
	return 0;
}

/* What the control thread tells of each peer. */
struct answer {
	struct peer		*p;
	uint64_t		 fails0;	/* its failed attempts before */
	int			 decided;
	enum repl_check_state	 st;
	uint64_t		 ms;
	char			*lines;		/* owned */
	char			 why[160];
};

/* Whether a peer is decided now (under d->mu); fills a. */
static int
decide(struct answer *a, struct prep_round *r, int timed_out,
    uint64_t wait_ms)
{
	struct peer *p = a->p;

	if (p->prep.r == r && p->prep.state == PREP_DONE) {
		a->st = p->prep.status == VERDICT_YES ? REPL_CHECK_YES :
		    p->prep.status == VERDICT_NO ? REPL_CHECK_NO :
		    REPL_CHECK_CANNOT;
		a->ms = p->prep.ms;
		a->lines = p->prep.lines;
		p->prep.lines = NULL;
	} else if (p->quit) {
		a->st = REPL_CHECK_UNCHECKED;
		snprintf(a->why, sizeof(a->why), "no longer a peer");
	} else if (p->diverged || p->refused) {
		a->st = REPL_CHECK_UNCHECKED;
		snprintf(a->why, sizeof(a->why), "%s", p->diverged ?
		    "diverged" : "it refused our commits");
	} else if (p->prep.r != r || (!p->connected &&
	    p->fails > a->fails0)) {
		/* A failed attempt says so; one still dialling may make it. */
		a->st = REPL_CHECK_UNCHECKED;
		snprintf(a->why, sizeof(a->why), "unreachable");
	} else if (timed_out) {
		a->st = REPL_CHECK_UNCHECKED;
		snprintf(a->why, sizeof(a->why), "no verdict in %.1f s",
		    (double)wait_ms / 1000);
	} else
		return 0;
	a->decided = 1;
	return 1;
}

/* One peer's lines of the answer. */
static void
answer_lines(struct buf *out, const struct answer *a)
{
	char text[PROTO_TEXT_MAX + 64], *line, *next;
	const char *name = a->p->info.name;

	if (a->lines == NULL || a->lines[0] == '\0' ||
	    a->st == REPL_CHECK_UNCHECKED) {
		snprintf(text, sizeof(text), "%s", a->lines != NULL &&
		    a->lines[0] != '\0' ? a->lines : a->why);
		text[strcspn(text, "\n")] = '\0';
		if (text[0] == '\0')	/* a peer that says nothing */
			snprintf(text, sizeof(text), "%s: no reason given",
			    name);
		ctl_clean(text);
		buf_printf(out, "verdict\t%s\t%d\t%" PRIu64 "\t%s\n", name,
		    (int)a->st, a->ms, text);
		return;
	}
	for (line = a->lines; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		snprintf(text, sizeof(text), "%s", line);
		ctl_clean(text);
		buf_printf(out, "verdict\t%s\t%d\t%" PRIu64 "\t%s\n", name,
		    (int)a->st, a->ms, text);
	}
}

void
ctl_prepare(struct daemon *d, int fd, struct buf *pending,
    const struct ctl_line *l)
{
	struct error err = { 0 };
	struct buf chg = { 0 }, out = { 0 };
	struct prep_round *r = NULL;
	struct answer *a = NULL;
	struct timespec ts;
	uint64_t wait_ms = l->n[1], id, t0 = repl_mono_ms();
	size_t i, n = 0, undecided;
	int timed_out = 0, mine = 0;

	buf_secret(&chg);
	if (l->n[2] > STORE_CHANGE_MAX) {
		error_set(&err, ERR_INPUT, "change too large");
		goto fail;
	}
	if (read_change(fd, pending, (size_t)l->n[2], &chg, &err) == -1)
		goto fail;
	if (!d->primary) {
		error_set(&err, ERR_INPUT, "not the primary");
		goto fail;
	}
	pthread_mutex_lock(&d->mu);
	id = ++d->prep_id;
	pthread_mutex_unlock(&d->mu);
	if (round_make(l, &chg, id, &r, &err) == -1)
		goto fail;
	buf_free_secret(&chg);
	if (wait_ms > REPL_WAIT_MAX)
		wait_ms = REPL_WAIT_MAX;
	repl_deadline(&ts, wait_ms);
	pthread_mutex_lock(&d->mu);
	/* One round at a time: a slot holds one round. */
	while (d->preparing && !d->stop && !timed_out)
		timed_out = pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0;
	if (!timed_out)
		d->preparing = mine = 1;
	n = d->npeers;
	if (n > 0 && (a = calloc(n, sizeof(*a))) == NULL)
		n = 0;
	for (i = 0; i < n; i++) {
		struct peer *p = d->peers[i];

		a[i].p = p;
		a[i].fails0 = p->fails;
		if (!timed_out && !p->quit && p->prep.state == PREP_IDLE) {
			p->prep.r = r;
			p->prep.state = PREP_WANTED;
			r->refs++;
			/* Not connected: try now rather than after a back-off. */
			if (!p->connected)
				p->kick = 1;
		}
	}
	pthread_cond_broadcast(&d->cv);
	for (;;) {
		undecided = 0;
		for (i = 0; i < n; i++)
			if (!a[i].decided && !decide(&a[i], r, timed_out,
			    wait_ms))
				undecided++;
		if (undecided == 0 || d->stop || timed_out)
			break;
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			timed_out = 1;
	}
	for (i = 0; i < n; i++) {
		if (a[i].p->prep.r == r)
			slot_clear(&a[i].p->prep);
		if (!mine) {
			a[i].st = REPL_CHECK_UNCHECKED;
			snprintf(a[i].why, sizeof(a[i].why), "another check "
			    "took the time");
		} else if (!a[i].decided) {
			a[i].st = REPL_CHECK_UNCHECKED;
			snprintf(a[i].why, sizeof(a[i].why), "daemon shutting "
			    "down");
		}
	}
	if (mine)
		d->preparing = 0;
	round_unref(r);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (i = 0; i < n; i++) {
		answer_lines(&out, &a[i]);
		free(a[i].lines);
	}
	free(a);
	log_debug("prepare %" PRIu64 ": every verdict in %" PRIu64 " ms", id,
	    repl_mono_ms() - t0);
	buf_puts(&out, "end\n");
	if (out.data != NULL)
		link_write_all(fd, out.data, out.len, 2000, NULL);
	buf_free(&out);
	return;
fail:
	buf_free_secret(&chg);
	ctl_clean(err.msg);
	dprintf(fd, "error\t%s\n", err.msg);
}

/* ---- the peer's side --------------------------------------------------- */

struct check_job {
	struct daemon		*d;
	uint64_t		 base;
	const void		*chg;		/* the change's bytes */
	size_t			 chg_len;
	struct change		*c;		/* NULL: every file */
	char			*refusals;
	size_t			 nrefused, nchecked;
	struct error		 err;
	int			 rc, done;
};

static void *
check_run(void *arg)
{
	struct check_job *j = arg;
	struct daemon *d = j->d;

	/* Decoded here too: 100,000 keys take a while, with pongs. */
	if (j->chg_len > 0 && change_decode(j->chg, j->chg_len, &j->c,
	    &j->err) == -1)
		j->rc = error_wrap(&j->err, "malformed change");
	else
		j->rc = render_check_host(d->s, j->base, j->c, d->node,
		    d->root, &j->refusals, &j->nrefused, &j->nchecked,
		    &j->err);
	pthread_mutex_lock(&d->mu);
	j->done = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* Splits text into at most PROTO_LINES_MAX lines, in place. */
static size_t
split_lines(char *text, char **lines, size_t nrefused)
{
	static char more[64];
	size_t n = 0;
	char *next;

	for (; text != NULL && *text != '\0' && n < PROTO_LINES_MAX;
	    text = next) {
		if ((next = strchr(text, '\n')) != NULL)
			*next++ = '\0';
		else
			next = text + strlen(text);
		lines[n++] = text;
	}
	if (n == PROTO_LINES_MAX && nrefused > n) {
		snprintf(more, sizeof(more), "... and %zu more refusals",
		    nrefused - n + 1);
		lines[n - 1] = more;
	}
	return n;
}

/* Runs the checks in a thread of their own, with a pong every so often. */
static int
check_with_pongs(struct daemon *d, struct chan *ch, struct check_job *j,
    struct buf *out, const char *name)
{
	struct error err = { 0 };
	struct timespec ts;
	pthread_t t;
	int rc = 0, done;

	if ((errno = repl_spawn(&t, check_run, j, 0)) != 0) {
		j->rc = error_errno(&j->err, ERR_FAIL, "pthread_create");
		return 0;
	}
	for (;;) {
		repl_deadline(&ts, KEEPALIVE_MS);
		pthread_mutex_lock(&d->mu);
		while (!j->done && pthread_cond_timedwait(&d->cv, &d->mu,
		    &ts) == 0)
			;
		done = j->done;
		pthread_mutex_unlock(&d->mu);
		if (done || rc == -1)
			break;
		if (proto_pong(out) == -1 || send_msg(ch, out, &err) == -1) {
			log_warnx("%s: sending keepalive: %s", name, err.msg);
			rc = -1;	/* the checks still end before we do */
		}
	}
	pthread_join(t, NULL);
	return rc;
}

int
prepare_answer(struct daemon *d, struct chan *ch, const char *name,
    const struct msg *m, struct buf *out)
{
	struct check_job j;
	struct error err = { 0 };
	unsigned char hash[STORE_HASH_LEN];
	enum proto_verdict st = VERDICT_UNCHECKED;
	char why[PROTO_TEXT_MAX + 1], *lines[PROTO_LINES_MAX], *one = why;
	char *const *send = &one;
	uint64_t head, t0 = repl_mono_ms();
	size_t nlines = 1;
	int rc = 0;

	memset(&j, 0, sizeof(j));
	j.d = d;
	j.base = m->head;
	j.chg = m->change;
	j.chg_len = m->change_len;
	if (repl_head(d, &head, hash) == -1)
		snprintf(why, sizeof(why), "cannot read the head");
	else if (head != m->head)
		snprintf(why, sizeof(why), "%s is at r%" PRIu64 ", not at r%"
		    PRIu64, d->node, head, m->head);
	else if (sodium_memcmp(hash, m->hash, STORE_HASH_LEN) != 0)
		snprintf(why, sizeof(why), "%s's r%" PRIu64 " differs from "
		    "the primary's", d->node, head);
	else if ((rc = check_with_pongs(d, ch, &j, out, name)) == -1)
		goto done;
	else if (j.rc == -1)
		snprintf(why, sizeof(why), "%.500s", j.err.msg);
	else if (j.nrefused > 0) {
		st = VERDICT_NO;
		nlines = split_lines(j.refusals, lines, j.nrefused);
		send = lines;
	} else {
		st = VERDICT_YES;
		snprintf(why, sizeof(why), "%zu check%s passed", j.nchecked,
		    j.nchecked == 1 ? "" : "s");
	}
	log_info("%s: prepare %" PRIu64 " on r%" PRIu64 ": %s, %zu checks, "
	    "%" PRIu64 " ms", name, m->id, m->head, proto_verdict_name(st),
	    j.nchecked, repl_mono_ms() - t0);
	if (proto_verdict(out, m->id, st, send, nlines) == -1 ||
	    send_msg(ch, out, &err) == -1) {
		log_warnx("%s: sending verdict: %s", name, err.msg);
		rc = -1;
	}
done:
	change_free(j.c);
	free(j.refusals);
	return rc;
}

/* ---- the command line's side ------------------------------------------- */

int
repl_prepare(const char *dir, uint64_t rev,
    const unsigned char hash[STORE_HASH_LEN], const struct change *c,
    int wait_ms, repl_check_fn fn, void *arg, struct error *err)
{
	struct buf req = { 0 }, chg = { 0 }, pending = { 0 };
	struct ctl_line l;
	char line[1024], hex[2 * STORE_HASH_LEN + 1];
	int fd = -1, rc = -1;

	/* The change may hold a key (dhcpd.key): wiped after use. */
	buf_secret(&chg);
	buf_secret(&req);
	if (c != NULL && change_encode(c, &chg, err) == -1)
		goto done;
	if (wait_ms < 0)
		wait_ms = 0;
	sodium_bin2hex(hex, sizeof(hex), hash, STORE_HASH_LEN);
	if (buf_printf(&req, "prepare %" PRIu64 " %s %d %zu\n", rev, hex,
	    wait_ms, chg.len) == -1 || (chg.len > 0 &&
	    buf_append(&req, chg.data, chg.len) == -1)) {
		error_errno(err, ERR_FAIL, "prepare");
		goto done;
	}
	buf_free_secret(&chg);
	if ((fd = ctl_connect(dir, err)) == -1)
		goto done;
	if (link_write_all(fd, req.data, req.len, 10000 + 1000 *
	    (int)(req.len >> 20), err) == -1) {
		error_wrap(err, "daemon");
		goto done;
	}
	for (;;) {
		/* The daemon keeps to wait_ms; this is only a backstop. */
		if (ctl_read_line(fd, &pending, line, sizeof(line),
		    wait_ms + 10000, err) == -1) {
			error_wrap(err, "daemon");
			goto done;
		}
		if (ctl_parse(line, &l, err) == -1 || (l.kind != CTL_END &&
		    l.kind != CTL_VERDICT && l.kind != CTL_ERROR)) {
			error_set(err, ERR_FAIL, "daemon: bad reply");
			goto done;
		}
		if (l.kind == CTL_ERROR) {
			error_set(err, ERR_FAIL, "daemon: %s", l.text);
			goto done;
		}
		if (l.kind == CTL_END)
			break;
		if (fn != NULL)
			fn(arg, l.name, (enum repl_check_state)l.n[0], l.n[1],
			    l.text);
	}
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	buf_free_secret(&req);
	buf_free_secret(&chg);
	buf_free(&pending);
	return rc;
}
