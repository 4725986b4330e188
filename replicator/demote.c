/*
 * demote.c - never let a node whose configuration cannot be trusted
 * become the CARP master.
 *
 * pfsync raises the CARP demotion counter while its bulk update runs;
 * this does the same for configuration.  While this node is behind the
 * primary's head it knows of, has applied commits it has not rendered
 * yet, failed to render a service, reverted a confirmed commit, or (a
 * replica) reached no peer since it started while holding a head older
 * than carp.stale_after, the command of carp.demote.raise runs once;
 * when that is over, carp.demote.lower.  Both are keys like any other
 * (KEY@HOST overrides them); unset, nothing is done.
 *
 * What this node added is kept in the local record "carp.demote",
 * written before the raise and cleared after the lower, so a crash
 * never leaves the counter raised by us without a record saying so:
 * the next start lowers it once trusted again, and never raises twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mpread.h"
#include "render.h"
#include "repl_int.h"
#include "run.h"

#define DEMOTE_RECORD		"carp.demote"
#define KEY_RAISE		"carp.demote.raise"
#define KEY_LOWER		"carp.demote.lower"
#define KEY_STALE		"carp.stale_after"
#define DEMOTE_TICK_MS		200
#define DEMOTE_CMD_MS		30000
#define DEMOTE_RETRY_MIN_MS	1000
#define DEMOTE_RETRY_MAX_MS	60000

/* ---- the record ---------------------------------------------------------- */

static int
demote_field(void *arg, const char *key, struct mpr *m)
{
	struct demote_record *r = arg;
	uint64_t v;

	if (strcmp(key, "raised") == 0) {
		if (mpr_uint(m, &v) == -1)
			return -1;
		r->raised = v != 0;
		return 0;
	}
	if (strcmp(key, "lower") == 0)
		return rec_text(m, r->lower, sizeof(r->lower));
	if (strcmp(key, "since_ms") == 0)
		return mpr_uint(m, &r->since_ms);
	if (strcmp(key, "why") == 0)
		return rec_text(m, r->why, sizeof(r->why));
	if (strcmp(key, "error") == 0)
		return rec_text(m, r->error, sizeof(r->error));
	if (strcmp(key, "error_ms") == 0)
		return mpr_uint(m, &r->error_ms);
	return 1;
}

void
demote_record_load(struct store *s, struct demote_record *r)
{
	memset(r, 0, sizeof(*r));
	/* Raised without the command to take it back helps nobody. */
	if (rec_read(s, DEMOTE_RECORD, demote_field, r) == -1 ||
	    r->lower[0] == '\0')
		r->raised = 0;
}

static int
demote_record_save(struct daemon *d, const struct demote_record *r)
{
	struct buf b = { 0 };
	struct error err = { 0 };
	int rc;

	rec_map(&b, 6);
	rec_uint(&b, "raised", (uint64_t)r->raised);
	rec_str(&b, "lower", r->lower);
	rec_uint(&b, "since_ms", r->since_ms);
	rec_str(&b, "why", r->why);
	rec_str(&b, "error", r->error);
	rec_uint(&b, "error_ms", r->error_ms);
	pthread_mutex_lock(&d->wmu);
	rc = rec_write(d->s, DEMOTE_RECORD, &b, &err);
	pthread_mutex_unlock(&d->wmu);
	if (rc == -1)
		log_warnx("carp demotion: cannot record it: %s", err.msg);
	return rc;
}

/* ---- is the configuration to be trusted? -------------------------------- */

struct demote_run {
	struct daemon		*d;
	struct demote_record	 rec;
	uint64_t		 retry_at;	/* monotonic ms */
	uint64_t		 backoff_ms;
	uint64_t		 head_rev;	/* head_ms is this revision's */
	uint64_t		 head_ms;
	int			 warned_lower;	/* raise set, lower not */
};

/*
 * A confirmed commit this node reverted by itself: until the history
 * settles it (the primary's rollback, or a late confirmation) its files
 * are not what the primary holds.
 */
static int
demote_reverted_locally(struct daemon *d)
{
	return repl_confirm_reverted(d->s, NULL);
}

/* A string key for this node (KEY@node wins); NULL when unset. */
static char *
key_text(struct daemon *d, const char *key)
{
	struct value *v = NULL;
	const char *p;
	char *out = NULL;
	size_t n;

	if (store_get_for_host(d->s, key, d->node, 0, &v, NULL) == 0 &&
	    value_type(v) == VALUE_STRING) {
		p = value_bytes(v, &n);
		if (n > 0 && (out = malloc(n + 1)) != NULL) {
			memcpy(out, p, n);
			out[n] = '\0';
		}
	}
	value_free(v);
	return out;
}

struct failed_walk {
	char	*why;
	size_t	 len;
};

static int
failed_service(void *arg, const struct render_status *st)
{
	struct failed_walk *w = arg;

	/* A hand edit kept (drift) is the admin's: status shows it. */
	if (st->outcome != RENDER_CHECK_FAILED &&
	    st->outcome != RENDER_RESTART_FAILED && st->outcome != RENDER_ERROR)
		return 0;
	snprintf(w->why, w->len, "%s: %s at r%" PRIu64, st->service,
	    render_outcome_name(st->outcome), st->rev);
	return 1;
}

/* A replica that reached nobody since it started, with an old head. */
static int
stale(struct demote_run *r, uint64_t head, char *why, size_t len)
{
	struct commit *c = NULL;
	char *limit;
	unsigned long long secs;
	uint64_t now = repl_now_ms();
	char *end;

	if ((limit = key_text(r->d, KEY_STALE)) == NULL)
		return 0;
	errno = 0;
	secs = strtoull(limit, &end, 10);
	if (*end != '\0' || errno != 0 || secs == 0) {
		free(limit);
		return 0;	/* the schema refuses it, an old store not */
	}
	free(limit);
	if (head != r->head_rev) {
		r->head_ms = 0;
		if (head > 0 && store_commit_load(r->d->s, head, &c,
		    NULL) == 0) {
			r->head_ms = commit_time_ms(c);
			commit_free(c);
		}
		r->head_rev = head;
	}
	if (head > 0 && r->head_ms + secs * 1000 > now)
		return 0;
	snprintf(why, len, "stale: no peer reached since the daemon started, "
	    "and r%" PRIu64 " is older than %llu s", head, secs);
	return 1;
}

/* 1 when this node's configuration cannot be trusted now; why says why. */
static int
untrusted(struct demote_run *r, char *why, size_t len)
{
	struct daemon *d = r->d;
	struct failed_walk w = { why, len };
	struct error err = { 0 };
	uint64_t head, known, catchup, done;
	size_t i;
	int reached;

	pthread_mutex_lock(&d->mu);
	known = d->head_hint;
	/* What the primary said its head was, also in an earlier life. */
	for (i = 0; !d->primary && i < d->npeers; i++)
		if (d->peers[i]->rec.peer_head > known)
			known = d->peers[i]->rec.peer_head;
	catchup = d->catchup;
	done = d->render_done;
	reached = d->reached;
	pthread_mutex_unlock(&d->mu);
	/* After: a head the primary told of is applied by the time we read. */
	if (repl_head(d, &head, NULL) == -1) {
		snprintf(why, len, "cannot read the head");
		return 1;
	}
	if (!d->primary && head < known) {
		snprintf(why, len, "behind the primary: r%" PRIu64 " of r%"
		    PRIu64, head, known);
		return 1;
	}
	if (catchup > done) {
		snprintf(why, len, "catching up: r%" PRIu64 " applied, not "
		    "rendered yet", catchup);
		return 1;
	}
	if (render_status_each(d->s, failed_service, &w, &err) != 0) {
		if (err.msg[0] != '\0')
			snprintf(why, len, "render records: %.200s", err.msg);
		return 1;
	}
	if (demote_reverted_locally(d)) {
		snprintf(why, len, "a confirmed commit was reverted here");
		return 1;
	}
	return !d->primary && !reached && stale(r, head, why, len);
}

/* ---- raising and lowering ------------------------------------------------ */

/* Runs cmd; 0, or -1 with what went wrong in why. */
static int
run_cmd(const char *cmd, char *why, size_t len)
{
	struct run_result res;
	struct error err = { 0 };
	char how[64];
	size_t n;
	int rc = 0;

	memset(&res, 0, sizeof(res));
	if (run_shell(cmd, DEMOTE_CMD_MS, &res, &err) == -1) {
		snprintf(why, len, "%.200s", err.msg);
		rc = -1;
	} else if (!run_ok(&res)) {
		run_describe(&res, how, sizeof(how));
		/* The first line of what it said, if anything. */
		n = res.output.len;
		if (n > 0 && memchr(res.output.data, '\n', n) != NULL)
			n = (size_t)((char *)memchr(res.output.data, '\n', n) -
			    res.output.data);
		snprintf(why, len, "%s%s%.*s", how, n > 0 ? ": " : "",
		    (int)(n < 160 ? n : 160), res.output.data);
		rc = -1;
	}
	run_result_free(&res);
	return rc;
}

static void
failed(struct demote_run *r, const char *key, const char *why)
{
	snprintf(r->rec.error, sizeof(r->rec.error), "%s: %.200s", key, why);
	r->rec.error_ms = repl_now_ms();
	r->backoff_ms = r->backoff_ms == 0 ? DEMOTE_RETRY_MIN_MS :
	    r->backoff_ms * 2;
	if (r->backoff_ms > DEMOTE_RETRY_MAX_MS)
		r->backoff_ms = DEMOTE_RETRY_MAX_MS;
	r->retry_at = repl_mono_ms() + r->backoff_ms;
	log_warnx("carp demotion: %s failed: %s; trying again in %.1f s", key,
	    why, (double)r->backoff_ms / 1000);
}

static void
succeeded(struct demote_run *r)
{
	r->rec.error[0] = '\0';
	r->rec.error_ms = 0;
	r->backoff_ms = 0;
	r->retry_at = 0;
}

static void
demote_raise(struct demote_run *r, const char *raise, const char *lower,
    const char *why)
{
	char fail[256];

	/* Recorded first: a crash after the command leaves no raise unknown. */
	r->rec.raised = 1;
	snprintf(r->rec.lower, sizeof(r->rec.lower), "%s", lower);
	snprintf(r->rec.why, sizeof(r->rec.why), "%s", why);
	r->rec.since_ms = repl_now_ms();
	if (demote_record_save(r->d, &r->rec) == -1) {
		r->rec.raised = 0;
		failed(r, "recording", "cannot write the local record");
		return;
	}
	if (run_cmd(raise, fail, sizeof(fail)) == -1) {
		r->rec.raised = 0;
		failed(r, KEY_RAISE, fail);
		demote_record_save(r->d, &r->rec);
		return;
	}
	succeeded(r);
	demote_record_save(r->d, &r->rec);
	log_info("carp demotion raised (%s): %s", raise, why);
}

/* 0 when lowered (or nothing to lower). */
static int
demote_lower(struct demote_run *r, const char *why)
{
	char fail[256];

	if (!r->rec.raised)
		return 0;
	if (run_cmd(r->rec.lower, fail, sizeof(fail)) == -1) {
		failed(r, KEY_LOWER, fail);
		demote_record_save(r->d, &r->rec);
		return -1;
	}
	/* Cleared after: a crash before leaves it to be lowered again. */
	r->rec.raised = 0;
	succeeded(r);
	demote_record_save(r->d, &r->rec);
	log_info("carp demotion lowered (%s): %s", r->rec.lower, why);
	return 0;
}

/*
 * Waits for a change of the shared state (a hello, a batch, a render)
 * or ms at most; 1 when the daemon stops.
 */
static int
nap(struct daemon *d, int ms)
{
	struct timespec ts;
	int stop;

	repl_deadline(&ts, (uint64_t)ms);
	pthread_mutex_lock(&d->mu);
	if (!d->stop)
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	stop = d->stop;
	pthread_mutex_unlock(&d->mu);
	return stop;
}

/*
 * Looks at every change of the daemon's state, and five times a second
 * for what is not announced (records, keys, the clock).  The first look
 * reconciles with the record: raised there and now trusted, lowered;
 * untrusted and not recorded, raised; raised and untrusted, left.
 */
void *
demote_main(void *arg)
{
	struct demote_run r;
	char why[256], *raise, *lower;
	int bad;

	memset(&r, 0, sizeof(r));
	r.d = arg;
	demote_record_load(r.d->s, &r.rec);
	if (r.rec.raised)
		log_info("carp demotion: raised by an earlier run (%s)",
		    r.rec.why);
	do {
		if (repl_mono_ms() < r.retry_at)
			continue;
		bad = untrusted(&r, why, sizeof(why));
		raise = key_text(r.d, KEY_RAISE);
		lower = key_text(r.d, KEY_LOWER);
		if (r.rec.raised && (!bad || raise == NULL))
			demote_lower(&r, bad ? KEY_RAISE " unset" :
			    "configuration trusted again");
		else if (!r.rec.raised && bad && raise != NULL &&
		    lower != NULL)
			demote_raise(&r, raise, lower, why);
		else if (r.rec.error[0] != '\0') {
			/* What failed is no longer wanted: not an error now. */
			succeeded(&r);
			demote_record_save(r.d, &r.rec);
		}
		if (!r.rec.raised && bad && raise != NULL && lower == NULL &&
		    !r.warned_lower) {
			log_warnx("carp demotion: %s is set but %s is not: "
			    "not raising what could not be lowered", KEY_RAISE,
			    KEY_LOWER);
			r.warned_lower = 1;
		}
		if (lower != NULL)
			r.warned_lower = 0;
		free(raise);
		free(lower);
	} while (!nap(r.d, DEMOTE_TICK_MS));
	return NULL;
}

void
demote_stop(struct daemon *d)
{
	struct demote_run r;

	memset(&r, 0, sizeof(r));
	r.d = d;
	demote_record_load(d->s, &r.rec);
	if (r.rec.raised && demote_lower(&r, "the daemon stops") == -1)
		log_warnx("carp demotion left raised: the next start lowers "
		    "it");
}
