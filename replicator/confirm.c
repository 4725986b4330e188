/*
 * confirm.c - confirmed commits: the deadline, the local revert and, on
 * the primary, the automatic rollback (docs/DAEMON.md, "Confirmed
 * commits").
 *
 * The history says what waits for a confirmation (store_confirm_pending);
 * what only this node knows, when it first held the commit and whether it
 * has put the earlier files back, is the local record "confirm.pending",
 * so a restart of the daemon or of the machine keeps both.  Each node
 * counts the window from the time it first held the commit, on its own
 * clock: the primary from the commit's time, a replica from when it
 * applied it.  Clocks that disagree (the commit may be to ntpd) then move
 * no deadline, and no replica reverts before the primary could have
 * had the confirmation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "log.h"
#include "mpread.h"
#include "repl_int.h"

#define CONFIRM_RECORD		"confirm.pending"
#define CONFIRM_TICK_MS		1000	/* the timer looks at the head */
#define CONFIRM_RETRY_MS	5000	/* a rollback that failed, again */

/* The local record: pending confirmation as this node counts it. */
struct cfrec {
	uint64_t	rev;		/* newest confirmed commit; 0: none */
	uint64_t	base;		/* what a revert goes back to */
	uint64_t	deadline_ms;	/* UTC, this node's clock */
	uint64_t	reverted_ms;	/* put back locally then; 0: not */
};

static const char *const cf_fields[] = {
	"rev", "base", "deadline_ms", "reverted_ms"
};

static uint64_t *
cf_field(struct cfrec *r, size_t i)
{
	uint64_t *f[] = { &r->rev, &r->base, &r->deadline_ms,
	    &r->reverted_ms };

	return f[i];
}

/* A record that does not decode is no record (docs/FORMAT.md). */
static void
cf_load(struct store *s, struct cfrec *r)
{
	struct buf b = { 0 };
	struct mpr m;
	const char *k;
	uint32_t n, klen;
	uint64_t v;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (store_local_get(s, CONFIRM_RECORD, &b, NULL) == -1)
		return;
	mpr_init(&m, b.data, b.len);
	if (mpr_map(&m, &n) == -1)
		goto done;
	while (n-- > 0) {
		if (mpr_str(&m, &k, &klen) == -1)
			goto bad;
		for (i = 0; i < sizeof(cf_fields) / sizeof(cf_fields[0]); i++)
			if (strlen(cf_fields[i]) == klen &&
			    memcmp(cf_fields[i], k, klen) == 0)
				break;
		if (i == sizeof(cf_fields) / sizeof(cf_fields[0])) {
			if (mpr_skip(&m) == -1)
				goto bad;
			continue;
		}
		if (mpr_uint(&m, &v) == -1)
			goto bad;
		*cf_field(r, i) = v;
	}
	goto done;
bad:
	memset(r, 0, sizeof(*r));
done:
	buf_free(&b);
}

static int
cf_write(void *data, const char *p, size_t len)
{
	return buf_append(data, p, len);
}

/* Written, or deleted when nothing is pending. */
static int
cf_save(struct store *s, const struct cfrec *r, struct error *err)
{
	struct cfrec tmp = *r;
	struct buf b = { 0 };
	msgpack_packer pk;
	size_t i;
	int rc;

	if (r->rev == 0)
		return store_local_del(s, CONFIRM_RECORD, err);
	msgpack_packer_init(&pk, &b, cf_write);
	msgpack_pack_map(&pk, sizeof(cf_fields) / sizeof(cf_fields[0]));
	for (i = 0; i < sizeof(cf_fields) / sizeof(cf_fields[0]); i++) {
		msgpack_pack_str_with_body(&pk, cf_fields[i],
		    strlen(cf_fields[i]));
		msgpack_pack_uint64(&pk, *cf_field(&tmp, i));
	}
	if (b.data == NULL)
		rc = error_set(err, ERR_FAIL, "out of memory");
	else
		rc = store_local_put(s, CONFIRM_RECORD, b.data, b.len, err);
	buf_free(&b);
	return rc;
}

/* What the record says waits, for store_confirm_pending; NULL: nothing. */
static const struct store_confirm *
cf_known(const struct cfrec *r, struct store_confirm *k)
{
	if (r->rev == 0)
		return NULL;
	memset(k, 0, sizeof(*k));
	k->pending = 1;
	k->rev = r->rev;
	k->base = r->base;
	return k;
}

/*
 * The history and the record brought together at now, the record
 * written when that changed it: a new confirmed commit starts (or
 * extends) the wait, a commit without the flag ends it, and a deadline
 * passed marks the node reverted.  *newly: it was marked just now.
 */
static int
cf_update(struct daemon *d, struct cfrec *r, int *newly, struct error *err)
{
	struct store_confirm p, k;
	struct cfrec old;
	uint64_t now = repl_now_ms();
	int changed = 0, rc = 0;

	*newly = 0;
	cf_load(d->s, &old);
	if (store_confirm_pending(d->s, cf_known(&old, &k), &p, err) == -1)
		return -1;
	*r = old;
	if (!p.pending) {
		if (old.rev != 0) {
			if (old.reverted_ms != 0)
				log_info("r%llu was reverted locally; the "
				    "head is final now: rendering it",
				    (unsigned long long)old.rev);
			else
				log_info("r%llu no longer awaits confirmation",
				    (unsigned long long)old.rev);
			memset(r, 0, sizeof(*r));
			changed = 1;
		}
	} else if (old.rev != p.rev) {
		r->rev = p.rev;
		r->base = p.base;
		r->deadline_ms = (d->primary ? p.time_ms : now) +
		    (uint64_t)p.window * 1000;
		r->reverted_ms = 0;
		log_info("r%llu awaits confirmation for %us (reverts to r%llu "
		    "unless confirmed)", (unsigned long long)p.rev, p.window,
		    (unsigned long long)p.base);
		changed = 1;
	}
	if (r->rev != 0 && r->reverted_ms == 0 && now >= r->deadline_ms) {
		r->reverted_ms = now;
		*newly = changed = 1;
		log_warnx("reverted r%llu locally: not confirmed by its "
		    "deadline; the files of r%llu are put back",
		    (unsigned long long)r->rev, (unsigned long long)r->base);
	}
	if (changed)
		rc = cf_save(d->s, r, err);
	return rc;
}

uint64_t
confirm_render_at(struct daemon *d)
{
	struct error err = { 0 };
	struct cfrec r;
	int newly;

	if (cf_update(d, &r, &newly, &err) == -1) {
		log_warnx("confirmation: %s", err.msg);
		return 0;
	}
	return r.reverted_ms != 0 ? r.base : 0;
}

/* A commit made here: rendered and pushed at once (as ctl_commit does). */
static void
cf_kick(struct daemon *d, uint64_t rev)
{
	size_t i;

	if (rev > d->head_hint)
		d->head_hint = rev;
	render_kick(d, rev);
	for (i = 0; i < d->npeers; i++)
		d->peers[i]->kick = 1;
	daemon_changed(d);
}

/*
 * The primary's answer to a deadline passed: a rollback to the base,
 * committed, signed and pushed as any commit.  Returns 0 when committed
 * or no longer needed (the head moved: looked at again at once).
 */
static int
cf_rollback(struct daemon *d, const struct cfrec *r)
{
	struct error err = { 0 };
	struct change *c;
	char msg[96];
	uint64_t rev = 0;
	int rc;

	snprintf(msg, sizeof(msg), "automatic rollback of r%llu: not confirmed",
	    (unsigned long long)r->rev);
	if (store_rollback_change(d->s, r->base, &c, &err) == -1) {
		log_warnx("%s: %s", msg, err.msg);
		return -1;
	}
	/* Back to a state the head already has: the commit only ends it. */
	if (change_count(c) == 0)
		change_set_flags(c, COMMIT_CONFIRMS);
	rc = store_commit(d->s, c, msg, &rev, &err);
	change_free(c);
	if (rc == -1 && err.code == ERR_STALE)
		return 0;
	if (rc == -1) {
		log_warnx("%s: %s", msg, err.msg);
		return -1;
	}
	log_warnx("r%llu: %s (back to r%llu)", (unsigned long long)rev, msg,
	    (unsigned long long)r->base);
	cf_kick(d, rev);
	return 0;
}

/* Asks for a render again, whatever revision was rendered last. */
static void
cf_render_again(struct daemon *d)
{
	d->render_again = 1;
	daemon_changed(d);
}

/* The timer's state, between the turns of the loop. */
struct confirm_run {
	struct cfrec	 r;		/* the record, as last brought up */
	uint64_t	 seen;		/* the head r is of; UINT64_MAX: none */
	uint64_t	 next_ms;	/* the next look (monotonic) */
	uint64_t	 retry_ms;	/* a failed rollback's next try (mono) */
};

/*
 * The timer: looks at the head every second, and at the record only when
 * the head moved or the deadline came, so a large head commit is not
 * decoded every second.  Changes of the shared state do not hurry it:
 * it looks when its tick or the deadline comes, nothing in between.
 */
void
confirm_step(struct daemon *d, uint64_t now)
{
	struct confirm_run *c = d->confirm;
	struct error err = { 0 };
	uint64_t head, utc, wait;
	int newly;

	if (d->stop)
		return;
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			log_warnx("confirmation: out of memory");
			loop_at(d, now + CONFIRM_TICK_MS);
			return;
		}
		c->seen = UINT64_MAX;
		d->confirm = c;
	}
	if (now < c->next_ms) {
		loop_at(d, c->next_ms);
		return;
	}

	utc = repl_now_ms();
	if (repl_head(d, &head, NULL) == -1)
		head = c->seen;
	if (head != c->seen || (c->r.rev != 0 && c->r.reverted_ms == 0 &&
	    utc >= c->r.deadline_ms) || (c->r.reverted_ms != 0 &&
	    d->primary && now >= c->retry_ms)) {
		if (cf_update(d, &c->r, &newly, &err) == -1) {
			log_warnx("confirmation: %s", err.msg);
			memset(&c->r, 0, sizeof(c->r));
		} else
			c->seen = head;
		if (newly)
			cf_render_again(d);
		/* Committed (or the head moved): look again. */
		if (c->r.reverted_ms != 0 && d->primary) {
			if (cf_rollback(d, &c->r) == 0)
				c->seen = UINT64_MAX;
			else
				c->retry_ms = repl_mono_ms() +
				    CONFIRM_RETRY_MS;
		}
	}

	wait = CONFIRM_TICK_MS;
	utc = repl_now_ms();
	if (c->r.rev != 0 && c->r.reverted_ms == 0 &&
	    c->r.deadline_ms > utc && c->r.deadline_ms - utc < wait)
		wait = c->r.deadline_ms - utc;
	c->next_ms = repl_mono_ms() + wait;
	loop_at(d, c->next_ms);
}

void
confirm_free(struct daemon *d)
{
	free(d->confirm);
	d->confirm = NULL;
}

/* ---- the command line's side ------------------------------------------ */

int
repl_confirm_get(struct store *s, struct repl_confirm *out, struct error *err)
{
	struct store_confirm p, k;
	struct cfrec r;
	uint64_t now;

	memset(out, 0, sizeof(*out));
	cf_load(s, &r);
	if (store_confirm_pending(s, cf_known(&r, &k), &p, err) == -1)
		return -1;
	if (!p.pending)
		return 0;
	out->pending = 1;
	out->rev = p.rev;
	out->base = p.base;
	out->window = p.window;
	if (r.rev == p.rev) {
		out->deadline_ms = r.deadline_ms;
		out->reverted_ms = r.reverted_ms;
	} else	/* no daemon has seen it yet: as the primary counts */
		out->deadline_ms = p.time_ms + (uint64_t)p.window * 1000;
	now = repl_now_ms();
	out->left_ms = out->deadline_ms > now ? out->deadline_ms - now : 0;
	return 0;
}

int
repl_confirm_reverted(struct store *s, uint64_t *rev)
{
	struct repl_confirm c;

	if (repl_confirm_get(s, &c, NULL) == -1 || c.reverted_ms == 0)
		return 0;
	if (rev != NULL)
		*rev = c.rev;
	return 1;
}
