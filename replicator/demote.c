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
	rc = rec_write(d->s, DEMOTE_RECORD, &b, &err);
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
	uint64_t		 gen;		/* d->gen at the last look */
	uint64_t		 next_ms;	/* the next look at the latest */
	int			 busy;		/* a command is on WORK_CARP */
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

	known = d->head_hint;
	/* What the primary said its head was, also in an earlier life. */
	for (i = 0; !d->primary && i < d->npeers; i++)
		if (d->peers[i]->rec.peer_head > known)
			known = d->peers[i]->rec.peer_head;
	catchup = d->catchup;
	done = d->render_done;
	reached = d->reached;
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

/*
 * A command on WORK_CARP: run sees only what it holds; done, in the loop,
 * finishes what the command was for.
 */
struct demote_work {
	struct work	 w;
	int		 lower;		/* else a raise */
	char		*cmd;
	char		 why[256];	/* a lower's, for the log */
	char		 fail[256];	/* what went wrong */
	int		 rc;		/* run_cmd's */
};

/* On the worker: run_cmd uses nothing of the daemon. */
static void
demote_work_run(struct work *w)
{
	struct demote_work *dw = w->arg;

	dw->rc = run_cmd(dw->cmd, dw->fail, sizeof(dw->fail));
}

/* What follows the raise command, recorded then. */
static void
raise_finish(struct demote_run *r, const char *raise, int rc,
    const char *fail)
{
	if (rc == -1) {
		r->rec.raised = 0;
		failed(r, KEY_RAISE, fail);
		demote_record_save(r->d, &r->rec);
		return;
	}
	succeeded(r);
	demote_record_save(r->d, &r->rec);
	log_info("carp demotion raised (%s): %s", raise, r->rec.why);
}

/* What follows the lower command; 0 when lowered. */
static int
lower_finish(struct demote_run *r, int rc, const char *fail, const char *why)
{
	if (rc == -1) {
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
 * In the loop, the command over.  Cancelled (the daemon stops before it
 * ran) is not run: a raise not run is no raise, a lower not run leaves
 * the record raised for demote_stop.  Nothing of the daemon's shared
 * state changes, so no daemon_changed.
 */
static void
demote_work_done(struct daemon *d, struct work *w)
{
	struct demote_work *dw = w->arg;
	struct demote_run *r = d->demote;

	if (r != NULL) {
		r->busy = 0;
		if (dw->lower) {
			if (!w->cancelled)
				lower_finish(r, dw->rc, dw->fail, dw->why);
		} else if (w->cancelled) {
			r->rec.raised = 0;
			demote_record_save(d, &r->rec);
		} else
			raise_finish(r, dw->cmd, dw->rc, dw->fail);
	}
	free(dw->cmd);
	free(dw);
}

/* Hands cmd (taken, freed in any case) to WORK_CARP; -1 out of memory. */
static int
demote_submit(struct demote_run *r, int lower, char *cmd, const char *why)
{
	struct demote_work *dw;

	if (cmd == NULL || (dw = calloc(1, sizeof(*dw))) == NULL) {
		free(cmd);
		return -1;
	}
	dw->lower = lower;
	dw->cmd = cmd;
	snprintf(dw->why, sizeof(dw->why), "%s", why);
	dw->w.run = demote_work_run;
	dw->w.done = demote_work_done;
	dw->w.arg = dw;
	r->busy = 1;
	work_submit(r->d, WORK_CARP, &dw->w);
	return 0;
}

/*
 * Recorded first, then the command handed to the worker (raise, taken);
 * demote_work_done finishes it.
 */
static void
demote_raise(struct demote_run *r, char *raise, const char *lower,
    const char *why)
{
	/* Recorded first: a crash after the command leaves no raise unknown. */
	r->rec.raised = 1;
	snprintf(r->rec.lower, sizeof(r->rec.lower), "%s", lower);
	snprintf(r->rec.why, sizeof(r->rec.why), "%s", why);
	r->rec.since_ms = repl_now_ms();
	if (demote_record_save(r->d, &r->rec) == -1) {
		free(raise);
		r->rec.raised = 0;
		failed(r, "recording", "cannot write the local record");
		return;
	}
	if (demote_submit(r, 0, raise, why) == -1) {
		r->rec.raised = 0;
		failed(r, KEY_RAISE, "out of memory");
		demote_record_save(r->d, &r->rec);
	}
}

/* The lower command handed to the worker, when raised. */
static void
demote_lower(struct demote_run *r, const char *why)
{
	if (!r->rec.raised)
		return;
	if (demote_submit(r, 1, strdup(r->rec.lower), why) == -1) {
		failed(r, KEY_LOWER, "out of memory");
		demote_record_save(r->d, &r->rec);
	}
}

/*
 * Looks at every change of the daemon's state (d->gen), and five times a
 * second for what is not announced (records, keys, the clock); never
 * before a failed command's retry, nor while a command runs.  The first
 * look reconciles with the record: raised there and now trusted,
 * lowered; untrusted and not recorded, raised; raised and untrusted,
 * left.
 */
void
demote_step(struct daemon *d, uint64_t now)
{
	struct demote_run *r = d->demote;
	char why[256], *raise, *lower;
	int bad;

	if (d->stop)
		return;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			log_warnx("carp demotion: out of memory");
			loop_at(d, now + DEMOTE_TICK_MS);
			return;
		}
		r->d = d;
		demote_record_load(d->s, &r->rec);
		if (r->rec.raised)
			log_info("carp demotion: raised by an earlier run (%s)",
			    r->rec.why);
		d->demote = r;
	} else if (r->busy)
		return;		/* its done turns the loop again */
	else if (now < r->retry_at) {
		loop_at(d, r->retry_at);
		return;
	} else if (r->gen == d->gen && now < r->next_ms) {
		loop_at(d, r->next_ms);
		return;
	}
	r->gen = d->gen;
	r->next_ms = now + DEMOTE_TICK_MS;

	bad = untrusted(r, why, sizeof(why));
	raise = key_text(d, KEY_RAISE);
	lower = key_text(d, KEY_LOWER);
	if (r->rec.raised && (!bad || raise == NULL))
		demote_lower(r, bad ? KEY_RAISE " unset" :
		    "configuration trusted again");
	else if (!r->rec.raised && bad && raise != NULL && lower != NULL) {
		demote_raise(r, raise, lower, why);
		raise = NULL;	/* taken */
	} else if (r->rec.error[0] != '\0') {
		/* What failed is no longer wanted: not an error now. */
		succeeded(r);
		demote_record_save(d, &r->rec);
	}
	if (!r->rec.raised && bad && raise != NULL && lower == NULL &&
	    !r->warned_lower) {
		log_warnx("carp demotion: %s is set but %s is not: "
		    "not raising what could not be lowered", KEY_RAISE,
		    KEY_LOWER);
		r->warned_lower = 1;
	}
	if (lower != NULL)
		r->warned_lower = 0;
	free(raise);
	free(lower);
	if (r->busy)
		return;
	loop_at(d, r->retry_at > r->next_ms ? r->retry_at : r->next_ms);
}

/* Blocks: the workers ended, nothing else runs a command now. */
void
demote_stop(struct daemon *d)
{
	struct demote_run r;
	char fail[256];
	int rc;

	free(d->demote);
	d->demote = NULL;
	memset(&r, 0, sizeof(r));
	r.d = d;
	demote_record_load(d->s, &r.rec);
	if (!r.rec.raised)
		return;
	rc = run_cmd(r.rec.lower, fail, sizeof(fail));
	if (lower_finish(&r, rc, fail, "the daemon stops") == -1)
		log_warnx("carp demotion left raised: the next start lowers "
		    "it");
}
