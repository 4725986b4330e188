/*
 * transaction.c - installing one service's changed files as one
 * transaction: candidates beside the files, every check before anything
 * live is replaced, renames, one restart; a failed check or restart puts
 * every file back as it was, from the copy kept in memory.  Nothing live
 * changes while a checker runs: the one exception is a file without a
 * checker that does not exist yet (the config a checker reads may need
 * it to be there: root.hints), which goes in first, under a record that
 * makes the next render remove it if this one is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "records.h"
#include "render.h"
#include "render_int.h"
#include "run.h"

/* Sweeps each directory once per render: candidates of killed renders. */
static int
sweep_once(struct ctx *x, const char *dest, struct error *err)
{
	const char *slash = strrchr(dest, '/');
	char *dir, **v;
	size_t i;

	if ((dir = strndup(dest, slash > dest ? (size_t)(slash - dest) : 1))
	    == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	for (i = 0; i < x->nswept; i++)
		if (strcmp(x->swept[i], dir) == 0) {
			free(dir);
			return 0;
		}
	if ((v = reallocarray(x->swept, x->nswept + 1, sizeof(*v))) == NULL) {
		free(dir);
		return error_set(err, ERR_FAIL, "out of memory");
	}
	x->swept = v;
	x->swept[x->nswept++] = dir;
	return install_sweep(dir, err);
}

/* Empty buffers may have no data at all: never hand NULL to memcmp. */
static int
same_bytes(const struct fstate *old, const struct buf *b)
{
	return old->exists && old->bytes.len == b->len &&
	    (b->len == 0 || memcmp(old->bytes.data, b->data, b->len) == 0);
}

static int
same_file(const struct work *w)
{
	const struct mfile *f = w->f;

	return same_bytes(&w->old, &f->content) && w->old.mode == f->mode &&
	    w->old.uid == f->uid && w->old.gid == f->gid;
}

/*
 * A file is edited by hand when what is there is neither what was last
 * installed nor what is about to be.
 */
static int
drifted(const struct work *w)
{
	char now[INSTALL_HASH_HEX];

	if (!w->old.exists || w->rec.n == 0)
		return 0;
	install_hash(w->old.bytes.data, w->old.bytes.len, now);
	return strcmp(now, w->hash) != 0 && strcmp(now, w->rec.hash[0]) != 0 &&
	    (w->rec.n < 2 || strcmp(now, w->rec.hash[1]) != 0);
}

/* Reads what is installed for each file; decides what changed. */
int
tx_compare(struct ctx *x, struct work *w, size_t n, struct entry *en)
{
	struct error e;
	size_t i;

	for (i = 0; i < n; i++) {
		install_hash(w[i].f->content.data, w[i].f->content.len,
		    w[i].hash);
		rec_file_get(x->s, w[i].dest, &w[i].rec);
		if ((!x->o->dry_run && sweep_once(x, w[i].dest, &e) == -1) ||
		    install_stat(w[i].dest, MANIFEST_FILE_MAX, &w[i].old,
		    &e) == -1) {
			entry_set(en, RENDER_ERROR, "%s", e.msg);
			return -1;
		}
		w[i].changed = !same_file(&w[i]);
		if (w[i].changed && !x->o->force && drifted(&w[i])) {
			entry_set(en, RENDER_DRIFT, "%s was edited by hand since "
			    "r%llu; kept (--force overwrites it)", w[i].dest,
			    (unsigned long long)w[i].rec.rev);
			return -1;
		}
	}
	return 0;
}

/*
 * Dry run: how a changed file would change, appended to o->diff.
 * Secrets stay secret: a file that others may not read is named, never
 * shown.
 */

static int
put_back(struct ctx *x, struct work *w, size_t n, struct error *err)
{
	struct error e;
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (!w[i].changed)
			continue;
		/* 1: put back, if not durably yet; the record may follow. */
		if (w[i].placed && install_restore(w[i].dest, &w[i].old,
		    &e) == -1) {
			if (rc == 0)
				*err = e;
			rc = -1;
			continue;
		}
		w[i].placed = 0;
		if (rec_file_add(x->end, w[i].dest, &w[i].rec, &e) == -1 ||
		    (w[i].early && rec_unchecked_add(x->end, w[i].dest, NULL,
		    &e) == -1)) {
			if (rc == 0)
				*err = e;
			rc = -1;
		}
		w[i].early = 0;
	}
	return rc;
}

/*
 * Before a rename: the file's record accepts the old bytes and the new,
 * so that whatever a kill leaves in place is not taken for a hand edit
 * by the next render.
 */
static int
record_in_flight(struct ctx *x, const struct work *w, struct rec_batch *b,
    struct error *err)
{
	struct frec r;

	frec_one(&r, x->rev, w->hash);
	if (w->old.exists) {
		install_hash(w->old.bytes.data, w->old.bytes.len, r.hash[1]);
		r.n = 2;
	}
	return rec_file_add(b, w->dest, &r, err);
}

static int
records_in_flight(struct ctx *x, struct work *w, size_t n,
    struct rec_batch *b, struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].changed && !w[i].early &&
		    record_in_flight(x, &w[i], b, err) == -1)
			return -1;
	return 0;
}

/*
 * After success: each changed file's record is its new hash alone.
 * Written with the render's last batch: until then the records accept
 * old and new, and a kill only costs one more restart.
 */
static int
records_done(struct ctx *x, struct work *w, size_t n, struct error *err)
{
	struct frec r;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!w[i].changed)
			continue;
		frec_one(&r, x->rev, w[i].hash);
		if (rec_file_add(x->end, w[i].dest, &r, err) == -1)
			return -1;
	}
	return 0;
}

void
drop_candidates(struct work *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i].cand == NULL)
			continue;
		unlink(w[i].cand);
		free(w[i].cand);
		w[i].cand = NULL;
	}
}

/* Renames w's candidate into place. */
static int
place_one(struct work *w, struct error *err)
{
	int rc;

	if ((rc = install_rename(w->cand, w->dest, err)) == -1)
		return -1;
	/* Renamed, even if not durably: put_back must see it. */
	free(w->cand);
	w->cand = NULL;
	w->placed = 1;
	return rc == 1 ? -1 : 0;
}

/* Renames the candidates of changed files with (or without) a checker. */
static int
place(struct work *w, size_t n, int checked, struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i].cand == NULL || (w[i].f->check != NULL) != checked)
			continue;
		if (place_one(&w[i], err) == -1)
			return -1;
	}
	return 0;
}

/*
 * Before the checks, the files without a checker that are not there at
 * all: a checker may need them to exist (unbound-checkconf refuses a
 * root-hints file that is missing), and nothing live is replaced.  Each
 * is recorded first, so that a kill before the check passes gets it
 * removed by the next render.
 */
static int
is_early(const struct work *w)
{
	return w->cand != NULL && w->f->check == NULL && !w->old.exists;
}

static int
place_new_unchecked(struct ctx *x, struct work *w, size_t n,
    struct error *err)
{
	struct rec_batch b = { NULL, 0 };
	size_t i;
	int rc = 0;

	/* All the records in one write, before the first file goes in. */
	for (i = 0; i < n && rc == 0; i++)
		if (is_early(&w[i]) && (record_in_flight(x, &w[i], &b,
		    err) == -1 || rec_unchecked_add(&b, w[i].dest, w[i].hash,
		    err) == -1))
			rc = -1;
	if (rc == 0)
		rc = rec_batch_write(x->s, &b, err);
	rec_batch_free(&b);
	for (i = 0; i < n && rc == 0; i++) {
		if (!is_early(&w[i]))
			continue;
		w[i].early = 1;
		rc = place_one(&w[i], err);
	}
	return rc;
}

/* The checks passed: the files placed before them are here to stay. */
static int
early_done(struct work *w, size_t n, struct rec_batch *b, struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].early && rec_unchecked_add(b, w[i].dest, NULL,
		    err) == -1)
			return -1;
	return 0;
}

/*
 * Before the first rename, in one write: every changed file's record
 * accepts old and new, the service is marked as waiting for its
 * restart, and the files placed before the checks are no longer
 * provisional.
 */
static int
before_renames(struct ctx *x, const struct mservice *m, struct work *w,
    size_t n, struct error *err)
{
	struct rec_batch b = { NULL, 0 };
	size_t i;
	int rc;

	rc = records_in_flight(x, w, n, &b, err) == -1 ||
	    rec_pending_add(&b, m->name, x->rev, 1, err) == -1 ||
	    early_done(w, n, &b, err) == -1 ||
	    rec_batch_write(x->s, &b, err) == -1 ? -1 : 0;
	rec_batch_free(&b);
	for (i = 0; i < n && rc == 0; i++)
		w[i].early = 0;
	return rc;
}

/*
 * Runs the checkers: on the candidate of a changed file, or on the
 * installed file when only what it refers to changed.
 */
static int
check(const struct mservice *m, struct work *w, size_t n, struct entry *en)
{
	struct error e;
	char line[512], *output;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (w[i].f->check == NULL)
			continue;
		rc = checker_run(w[i].f->check, w[i].cand != NULL ? w[i].cand :
		    w[i].dest, w[i].dest, m->timeout_ms, line, sizeof(line),
		    &output, &e);
		if (rc == 0)
			continue;
		if (rc == -1) {
			entry_set(en, RENDER_CHECK_FAILED, "check failed for %s: "
			    "%s", w[i].dest, e.msg);
			return -1;
		}
		entry_set(en, RENDER_CHECK_FAILED, "check failed for %s: %s",
		    w[i].dest, line);
		free(en->output);
		en->output = output;
		return -1;
	}
	return 0;
}

/* 0 when the restart command ran and succeeded; else why, in why. */
static int
restart(const struct mservice *m, char *why, size_t len)
{
	struct run_result res;
	struct error e;
	char how[64], line[512];
	int ok;

	if (m->restart == NULL)
		return 0;
	if (run_shell(m->restart, m->timeout_ms, &res, &e) == -1) {
		snprintf(why, len, "%s", e.msg);
		return -1;
	}
	if (!(ok = run_ok(&res))) {
		run_describe(&res, how, sizeof(how));
		if (res.output.len > 0)
			snprintf(why, len, "%s: %s", how,
			    checker_first_line(&res, line, sizeof(line)));
		else
			snprintf(why, len, "%s", how);
	}
	run_result_free(&res);
	return ok ? 0 : -1;
}

/* The list of changed files, for a message: "/a, /b". */
void
changed_list(const struct work *w, size_t n, char *buf, size_t len)
{
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < n && at < len; i++)
		if (w[i].changed)
			at += snprintf(buf + at, len - at, "%s%s",
			    at ? ", " : "", w[i].dest);
}

/*
 * Installs what compare() found changed; the entry says how it ended.
 * pending: an earlier render was killed between installing and
 * restarting, so restart even if nothing differs now.
 */
void
tx_install(struct ctx *x, const struct mservice *m, struct work *w, size_t n,
    int pending, struct entry *en)
{
	char files[1024], why[600], why2[600];
	struct error e, e2;
	size_t i;

	changed_list(w, n, files, sizeof(files));
	for (i = 0; i < n; i++) {
		if (!w[i].changed)
			continue;
		if (install_candidate(w[i].dest, w[i].f->content.data,
		    w[i].f->content.len, w[i].f->mode, w[i].f->uid,
		    w[i].f->gid, &w[i].cand, &e) == -1)
			goto error;
	}
	if (place_new_unchecked(x, w, n, &e) == -1)
		goto error;
	/* Every check before anything live is replaced. */
	if (check(m, w, n, en) == -1)
		goto undo;
	if (before_renames(x, m, w, n, &e) == -1 ||
	    place(w, n, 0, &e) == -1 || place(w, n, 1, &e) == -1)
		goto error;

	if (restart(m, why, sizeof(why)) == -1) {
		if (put_back(x, w, n, &e) == -1) {
			entry_set(en, RENDER_RESTART_FAILED, "restart failed "
			    "(%s), and putting back the old files failed: %s",
			    why, e.msg);
			return;		/* pending stays: try again next time */
		}
		if (restart(m, why2, sizeof(why2)) == -1)
			entry_set(en, RENDER_RESTART_FAILED, "restart failed "
			    "(%s); old files put back, but restarting on them "
			    "failed too (%s)", why, why2);
		else
			entry_set(en, RENDER_RESTART_FAILED, "restart failed "
			    "(%s); old files put back and restarted", why);
		if (rec_pending_add(x->end, m->name, x->rev, 0, &e2) == -1)
			entry_set(en, en->outcome, "%s; %s", en->message ?
			    en->message : "", e2.msg);
		return;
	}
	if (files[0] != '\0')
		entry_set(en, RENDER_INSTALLED, "installed %s", files);
	else if (pending)
		entry_set(en, RENDER_INSTALLED, "restarted after an "
		    "interrupted render");
	else
		entry_set(en, RENDER_INSTALLED, "%s", "");
	/*
	 * Not recorded: the records still accept old and new, and pending
	 * makes the next render restart again.  Harmless, but say so.
	 */
	if (records_done(x, w, n, &e) == -1 ||
	    rec_pending_add(x->end, m->name, x->rev, 0, &e) == -1)
		entry_set(en, RENDER_ERROR, "%s%sbut recording it failed: %s",
		    en->message ? en->message : "", en->message != NULL &&
		    en->message[0] != '\0' ? ", " : "", e.msg);
	return;
error:
	entry_set(en, RENDER_ERROR, "%s", e.msg);
undo:
	drop_candidates(w, n);
	if (put_back(x, w, n, &e2) == -1) {
		entry_set(en, en->outcome, "%s; putting back the old files "
		    "failed: %s", en->message ? en->message : "", e2.msg);
		return;
	}
	/* Files an earlier, interrupted render put in place still wait. */
	if (!pending && rec_pending_add(x->end, m->name, x->rev, 0, &e2) == -1)
		entry_set(en, en->outcome, "%s; %s", en->message ?
		    en->message : "", e2.msg);
}
