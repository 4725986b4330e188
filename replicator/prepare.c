/*
 * prepare.c - a candidate checked on every peer before it is committed
 * (JunOS `commit check` on every host; docs/PROTOCOL.md, "prepare").
 *
 * The command line sends the daemon on the primary the base head and
 * the change; the daemon puts one prepare message in the slot of every
 * peer, whose push sends it on the peer's session when idle and puts the
 * verdict back, and answers once every peer decided.  A peer renders
 * the candidate for itself, runs its own checkers on it in a scratch
 * directory, and answers (check.c); it installs and stores nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "repl_int.h"

/* The largest change, with the prepare message around it, fits a frame. */
_Static_assert(STORE_CHANGE_MAX + 64 <= LINK_PAYLOAD_MAX,
    "a frame must hold a prepare of the largest change");

/* One round: the message every asked peer gets, shared. */
struct prep_round {
	int		 refs;		/* the wait's, and each slot's */
	uint64_t	 id;
	struct buf	 msg;		/* the prepare message, encoded */
};

/* Drops a reference; the last frees the round. */
static void
round_unref(struct prep_round *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	buf_free_secret(&r->msg);	/* the change may hold a key */
	free(r);
}

/* Clears p's slot. */
static void
slot_clear(struct prep_slot *sl)
{
	round_unref(sl->r);
	free(sl->lines);
	memset(sl, 0, sizeof(*sl));
}

/* ---- the push's side ----------------------------------------------------- */

int
prepare_wanted(const struct peer *p)
{
	return p->prep.state == PREP_WANTED;
}

/*
 * The round's message for p, now sent: valid while the slot holds the
 * round, so queued at once.
 */
const struct buf *
prepare_take(struct peer *p, uint64_t *id)
{
	struct prep_round *r = p->prep.r;

	if (r == NULL || p->prep.state != PREP_WANTED)
		return NULL;
	p->prep.state = PREP_SENT;
	*id = r->id;
	return &r->msg;
}

/* The verdict into p's slot, if the round still waits for it. */
void
prepare_done(struct daemon *d, struct peer *p, enum proto_verdict st,
    char *lines, uint64_t ms)
{
	if (p->prep.r != NULL && p->prep.state == PREP_SENT) {
		p->prep.state = PREP_DONE;
		p->prep.status = st;
		p->prep.lines = lines;
		p->prep.ms = ms;
		lines = NULL;
		daemon_changed(d);
	}
	free(lines);
}

/* ---- the control request ----------------------------------------------- */

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

/* What the control client is told of each peer. */
struct answer {
	struct peer		*p;
	uint64_t		 fails0;	/* its failed attempts before */
	int			 decided;
	enum repl_check_state	 st;
	uint64_t		 ms;
	char			*lines;		/* owned */
	char			 why[160];
};

/* A control client's round, from prepare_start to prepare_cancel. */
struct prep_wait {
	struct prep_round	*r;		/* one reference */
	uint64_t		 id;
	uint64_t		 wait_ms;
	uint64_t		 t0;		/* mono ms */
	uint64_t		 deadline;	/* mono ms */
	struct answer		*a;
	size_t			 n;
	int			 over;		/* the slots are let go */
};

/* Whether a peer is decided now; fills a. */
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

int
prepare_start(struct daemon *d, const struct ctl_line *l, struct buf *chg,
    struct prep_wait **out, struct error *err)
{
	struct prep_wait *w;
	size_t i;

	*out = NULL;
	if (!d->primary)
		return error_set(err, ERR_INPUT, "not the primary");
	/* One round at a time: a slot holds one round. */
	if (d->preparing && !d->stop)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return error_errno(err, ERR_FAIL, "prepare");
	w->id = ++d->prep_id;
	if (round_make(l, chg, w->id, &w->r, err) == -1) {
		free(w);
		return -1;
	}
	w->wait_ms = l->n[1] > REPL_WAIT_MAX ? REPL_WAIT_MAX : l->n[1];
	w->t0 = repl_mono_ms();
	w->deadline = w->t0 + w->wait_ms;
	d->preparing = 1;
	w->n = d->npeers;
	if (w->n > 0 && (w->a = calloc(w->n, sizeof(*w->a))) == NULL)
		w->n = 0;
	for (i = 0; i < w->n; i++) {
		struct peer *p = d->peers[i];

		w->a[i].p = p;
		w->a[i].fails0 = p->fails;
		if (!p->quit && p->prep.state == PREP_IDLE) {
			p->prep.r = w->r;
			p->prep.state = PREP_WANTED;
			w->r->refs++;
			/* Not connected: try now rather than after a back-off. */
			if (!p->connected)
				p->kick = 1;
		}
	}
	daemon_changed(d);
	*out = w;
	return 1;
}

/* The round is over: its slots free for the next. */
static void
round_end(struct daemon *d, struct prep_wait *w)
{
	size_t i;

	if (w->over)
		return;
	for (i = 0; i < w->n; i++)
		if (w->a[i].p->prep.r == w->r)
			slot_clear(&w->a[i].p->prep);
	d->preparing = 0;
	w->over = 1;
	daemon_changed(d);
}

int
prepare_poll(struct daemon *d, struct prep_wait *w, uint64_t now,
    struct buf *out)
{
	size_t i, undecided = 0;
	int timed_out = now >= w->deadline;

	if (w->over)
		return 1;
	for (i = 0; i < w->n; i++)
		if (!w->a[i].decided && !decide(&w->a[i], w->r, timed_out,
		    w->wait_ms))
			undecided++;
	if (undecided > 0 && !d->stop && !timed_out) {
		loop_at(d, w->deadline);
		return 0;
	}
	round_end(d, w);
	for (i = 0; i < w->n; i++) {
		struct answer *a = &w->a[i];

		if (!a->decided) {
			a->st = REPL_CHECK_UNCHECKED;
			snprintf(a->why, sizeof(a->why), "daemon shutting "
			    "down");
		}
		answer_lines(out, a);
		free(a->lines);
		a->lines = NULL;
	}
	log_debug("prepare %" PRIu64 ": every verdict in %" PRIu64 " ms",
	    w->id, repl_mono_ms() - w->t0);
	buf_puts(out, "end\n");
	return 1;
}

void
prepare_cancel(struct daemon *d, struct prep_wait *w)
{
	size_t i;

	if (w == NULL)
		return;
	round_end(d, w);
	for (i = 0; i < w->n; i++)
		free(w->a[i].lines);
	free(w->a);
	round_unref(w->r);
	free(w);
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
