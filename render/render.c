/*
 * render.c - one render: every service of the manifest, each on its own.
 *
 * For one service the order is: render all its files in memory; compare
 * each with what is installed (bytes, mode, owner); if none differs,
 * stop.  Otherwise write a candidate per changed file, run every checker,
 * and only when all passed put the files in place and restart once.
 * Nothing live changes while a checker runs: the one exception is a file
 * without a checker that does not exist yet (the config a checker reads
 * may need it to be there: root.hints), which goes in first, under a
 * record that makes the next render remove it if this one is killed.  A
 * failed check or restart puts every file back as it was, from the copy
 * kept in memory.  What is remembered between renders is in records.c.
 */
#include <sys/file.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "install.h"
#include "manifest.h"
#include "records.h"
#include "render.h"
#include "render_int.h"
#include "run.h"
#include "shipped.h"

struct entry {
	char			*service;
	enum render_outcome	 outcome;
	int			 restarts;	/* has a restart command */
	char			*message;
	char			*output;	/* a refusing checker's, or NULL */
};

struct render_report {
	uint64_t	 rev;
	struct entry	*v;
	size_t		 n;
	char		*warning;
};

/* One render in progress. */
struct ctx {
	struct store		*s;
	const char		*node;
	uint64_t		 rev;
	const struct render_opts *o;
	const struct tree	*data;
	char			**swept;	/* directories already swept */
	size_t			 nswept;
};

/* One file of the service being rendered. */
struct work {
	const struct mfile	*f;
	char			*dest;		/* root + path */
	struct fstate		 old;		/* what was there */
	char			 hash[INSTALL_HASH_HEX];
	struct frec		 rec;		/* the record before this render */
	int			 changed;
	char			*cand;		/* candidate, while there is one */
	int			 placed;	/* renamed into place */
	int			 early;		/* placed before the checks */
};

static const char *const outcome_names[] = {
	[RENDER_UNCHANGED] = "unchanged",
	[RENDER_INSTALLED] = "installed",
	[RENDER_WOULD_INSTALL] = "would-install",
	[RENDER_DRIFT] = "drift",
	[RENDER_CHECK_FAILED] = "check-failed",
	[RENDER_RESTART_FAILED] = "restart-failed",
	[RENDER_ERROR] = "error",
};

const char *
render_outcome_name(enum render_outcome o)
{
	if ((size_t)o < sizeof(outcome_names) / sizeof(outcome_names[0]))
		return outcome_names[o];
	return "?";
}

int
render_outcome_failed(enum render_outcome o)
{
	return o == RENDER_DRIFT || o == RENDER_CHECK_FAILED ||
	    o == RENDER_RESTART_FAILED || o == RENDER_ERROR;
}

/* ---- the report -------------------------------------------------------- */

static struct entry *
report_add(struct render_report *r, const char *service)
{
	struct entry *en;

	en = reallocarray(r->v, r->n + 1, sizeof(*en));
	if (en == NULL)
		return NULL;
	r->v = en;
	en = &r->v[r->n];
	memset(en, 0, sizeof(*en));
	if ((en->service = strdup(service)) == NULL)
		return NULL;
	r->n++;
	return en;
}

/* Sets the outcome and its one-line message (a copy of what buf says). */
static void
entry_set(struct entry *en, enum render_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
entry_set(struct entry *en, enum render_outcome o, const char *fmt, ...)
{
	va_list ap;
	char *p, *msg;

	en->outcome = o;
	/* Formatted before the old one is freed: it may be an argument. */
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	free(en->message);
	en->message = msg;
	/* Messages are one line: a checker's output is cut at its first. */
	if (en->message != NULL && (p = strchr(en->message, '\n')) != NULL)
		*p = '\0';
}

/* Adds a warning to the report's; the first few are kept. */
static void
report_warn(struct render_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
report_warn(struct render_report *r, const char *fmt, ...)
{
	va_list ap;
	char *msg, *w;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	if (r->warning == NULL) {
		r->warning = msg;
		return;
	}
	if (strlen(r->warning) < 1024 &&
	    asprintf(&w, "%s; %s", r->warning, msg) != -1) {
		free(r->warning);
		r->warning = w;
	}
	free(msg);
}

uint64_t
render_report_rev(const struct render_report *r)
{
	return r->rev;
}

size_t
render_report_count(const struct render_report *r)
{
	return r->n;
}

const char *
render_report_service(const struct render_report *r, size_t i)
{
	return r->v[i].service;
}

enum render_outcome
render_report_outcome(const struct render_report *r, size_t i)
{
	return r->v[i].outcome;
}

const char *
render_report_message(const struct render_report *r, size_t i)
{
	return r->v[i].message != NULL ? r->v[i].message : "";
}

const char *
render_report_output(const struct render_report *r, size_t i)
{
	return r->v[i].output != NULL ? r->v[i].output : "";
}

const char *
render_report_warning(const struct render_report *r)
{
	return r->warning;
}

size_t
render_report_failures(const struct render_report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += render_outcome_failed(r->v[i].outcome);
	return n;
}

/* Appends "LABEL a, b" for the entries that match; returns how many. */
static size_t
summary_part(const struct render_report *r, struct buf *b, const char *label,
    int (*match)(const struct entry *))
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++) {
		if (!match(&r->v[i]))
			continue;
		buf_printf(b, "%s%s", n == 0 ? label : ", ", r->v[i].service);
		n++;
	}
	return n;
}

static int
is_restarted(const struct entry *en)
{
	return en->outcome == RENDER_INSTALLED && en->restarts;
}

static int
is_installed(const struct entry *en)
{
	return en->outcome == RENDER_INSTALLED && !en->restarts;
}

static int
is_would_restart(const struct entry *en)
{
	return en->outcome == RENDER_WOULD_INSTALL && en->restarts;
}

static int
is_would_install(const struct entry *en)
{
	return en->outcome == RENDER_WOULD_INSTALL && !en->restarts;
}

static int
is_failed(const struct entry *en)
{
	return render_outcome_failed(en->outcome);
}

const char *
render_report_summary(const struct render_report *r, char *out, size_t len)
{
	static const struct {
		const char	*label;
		int		(*match)(const struct entry *);
	} parts[] = {
		{ "restarted ", is_restarted },
		{ "installed ", is_installed },
		{ "would restart ", is_would_restart },
		{ "would install ", is_would_install },
		{ "failed: ", is_failed },
	};
	struct buf b = { 0 };
	size_t i, mark;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		mark = b.len;
		if (b.len > 0)
			buf_puts(&b, "; ");
		if (summary_part(r, &b, parts[i].label, parts[i].match) == 0 &&
		    b.data != NULL)
			b.data[b.len = mark] = '\0';
	}
	snprintf(out, len, "%s", b.len > 0 ? b.data : "no change");
	buf_free(&b);
	return out;
}

void
render_report_free(struct render_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->v[i].service);
		free(r->v[i].message);
		free(r->v[i].output);
	}
	free(r->v);
	free(r->warning);
	free(r);
}

/* ---- one service ------------------------------------------------------- */

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
static int
compare(struct ctx *x, struct work *w, size_t n, struct entry *en)
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
static void
show_diff(struct ctx *x, const struct work *w)
{
	struct fstate new = { 1, w->f->content, w->f->mode, w->f->uid,
	    w->f->gid };
	struct error e;

	if (x->o->diff != NULL && diff_file(w->dest, "would change", w->dest,
	    &w->old, w->dest, &new, 0, x->o->diff, &e) == -1)
		buf_printf(x->o->diff, "%s: would change (%s)\n", w->dest,
		    e.msg);
}

/*
 * Puts back every changed file that was put in place, and its record as
 * it was.  0, or -1 with err: a file whose old bytes could not be put
 * back keeps a record that accepts both.
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
		if (rec_file_put(x->s, w[i].dest, &w[i].rec, &e) == -1 ||
		    (w[i].early && rec_unchecked_set(x->s, w[i].dest, NULL,
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
record_in_flight(struct ctx *x, const struct work *w, struct error *err)
{
	struct frec r;

	frec_one(&r, x->rev, w->hash);
	if (w->old.exists) {
		install_hash(w->old.bytes.data, w->old.bytes.len, r.hash[1]);
		r.n = 2;
	}
	return rec_file_put(x->s, w->dest, &r, err);
}

static int
records_in_flight(struct ctx *x, struct work *w, size_t n, struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].changed && !w[i].early &&
		    record_in_flight(x, &w[i], err) == -1)
			return -1;
	return 0;
}

/* After success: each changed file's record is its new hash alone. */
static int
records_done(struct ctx *x, struct work *w, size_t n, struct error *err)
{
	struct frec r;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!w[i].changed)
			continue;
		frec_one(&r, x->rev, w[i].hash);
		if (rec_file_put(x->s, w[i].dest, &r, err) == -1)
			return -1;
	}
	return 0;
}

static void
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
place_new_unchecked(struct ctx *x, struct work *w, size_t n,
    struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i].cand == NULL || w[i].f->check != NULL ||
		    w[i].old.exists)
			continue;
		if (record_in_flight(x, &w[i], err) == -1 ||
		    rec_unchecked_set(x->s, w[i].dest, w[i].hash, err) == -1)
			return -1;
		w[i].early = 1;
		if (place_one(&w[i], err) == -1)
			return -1;
	}
	return 0;
}

/* The checks passed: the files placed before them are here to stay. */
static int
early_done(struct ctx *x, struct work *w, size_t n, struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!w[i].early)
			continue;
		if (rec_unchecked_set(x->s, w[i].dest, NULL, err) == -1)
			return -1;
		w[i].early = 0;
	}
	return 0;
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
static void
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
static void
install(struct ctx *x, const struct mservice *m, struct work *w, size_t n,
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
	if (records_in_flight(x, w, n, &e) == -1 ||
	    rec_pending_set(x->s, m->name, x->rev, 1, &e) == -1 ||
	    early_done(x, w, n, &e) == -1 ||
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
		if (rec_pending_set(x->s, m->name, x->rev, 0, &e2) == -1)
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
	    rec_pending_set(x->s, m->name, x->rev, 0, &e) == -1)
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
	if (!pending && rec_pending_set(x->s, m->name, x->rev, 0, &e2) == -1)
		entry_set(en, en->outcome, "%s; %s", en->message ?
		    en->message : "", e2.msg);
}

static void
service_run(struct ctx *x, const char *name, struct entry *en)
{
	struct mservice m;
	struct work *w = NULL;
	struct error e;
	char files[1024];
	const char *root = x->o->root;
	size_t i, nchanged = 0;
	int pending;

	if (manifest_service(x->s, x->node, x->rev, x->data, name, &m,
	    &e) == -1) {
		entry_set(en, RENDER_ERROR, "%s", e.msg);
		return;
	}
	en->restarts = m.restart != NULL;
	if ((w = calloc(m.nfiles ? m.nfiles : 1, sizeof(*w))) == NULL) {
		entry_set(en, RENDER_ERROR, "out of memory");
		goto done;
	}
	for (i = 0; i < m.nfiles; i++) {
		w[i].f = &m.files[i];
		if (asprintf(&w[i].dest, "%s%s", root != NULL &&
		    strcmp(root, "/") != 0 ? root : "", m.files[i].path) == -1) {
			w[i].dest = NULL;
			entry_set(en, RENDER_ERROR, "out of memory");
			goto done;
		}
	}
	if (compare(x, w, m.nfiles, en) == -1)
		goto done;
	for (i = 0; i < m.nfiles; i++)
		nchanged += w[i].changed;
	pending = !x->o->dry_run && rec_pending(x->s, name);

	if (nchanged == 0 && !pending) {
		entry_set(en, RENDER_UNCHANGED, "%s", "");
		/* Keep the records true, e.g. after a render was killed. */
		for (i = 0; i < m.nfiles && !x->o->dry_run; i++) {
			struct frec r;

			if (w[i].rec.n == 1 &&
			    strcmp(w[i].rec.hash[0], w[i].hash) == 0)
				continue;
			frec_one(&r, x->rev, w[i].hash);
			if (rec_file_put(x->s, w[i].dest, &r, &e) == -1) {
				entry_set(en, RENDER_ERROR, "%s is as it should "
				    "be, but recording it failed: %s",
				    w[i].dest, e.msg);
				break;
			}
		}
		goto done;
	}
	if (x->o->dry_run) {
		changed_list(w, m.nfiles, files, sizeof(files));
		entry_set(en, RENDER_WOULD_INSTALL, "would install %s", files);
		for (i = 0; i < m.nfiles; i++)
			if (w[i].changed)
				show_diff(x, &w[i]);
		goto done;
	}
	install(x, &m, w, m.nfiles, pending, en);
done:
	if (w != NULL) {
		drop_candidates(w, m.nfiles);
		for (i = 0; i < m.nfiles; i++) {
			free(w[i].dest);
			install_stat_clear(&w[i].old);
		}
	}
	free(w);
	manifest_service_clear(&m);
}

/* ---- the whole render --------------------------------------------------- */

/* One render at a time: the daemon's and a command's never interleave. */
static int
lock_renders(struct store *s, struct error *err)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/render.lock",
	    store_dir(s)) >= sizeof(path))
		return error_set(err, ERR_FAIL, "store path too long");
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return error_errno(err, ERR_FAIL, "open %s", path);
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			error_errno(err, ERR_FAIL, "lock %s", path);
			close(fd);
			return -1;
		}
	}
	return fd;
}

int
render_run(struct store *s, uint64_t rev, const struct render_opts *o,
    struct render_report **out, struct error *err)
{
	static const struct render_opts defaults;
	unsigned char hash[STORE_HASH_LEN];
	struct rec_batch outcomes = { NULL, 0 };
	struct render_report *r = NULL;
	struct tree *data = NULL;
	struct error e;
	struct ctx x;
	const char **names = NULL;
	size_t i, n;
	int lockfd = -1;

	*out = NULL;
	if (o == NULL)
		o = &defaults;
	memset(&x, 0, sizeof(x));
	/*
	 * The lock before the head: a render that waited for another must
	 * not then install the older revision it read before waiting.
	 */
	if (!o->dry_run && (lockfd = lock_renders(s, err)) == -1)
		return -1;
	if (rev == 0 && store_head(s, &rev, hash, err) == -1)
		goto fail;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		error_set(err, ERR_FAIL, "out of memory");
		goto fail;
	}
	r->rev = rev;
	x.s = s;
	x.node = store_node(s);
	x.rev = rev;
	x.o = o;
	if (rev > 0 && manifest_data(s, x.node, rev, &data, &r->warning,
	    err) == -1)
		goto fail;
	/* Files a killed render put there for a check that never passed. */
	if (!o->dry_run && rec_unchecked_recover(s, &e) == -1)
		report_warn(r, "removing what an interrupted render left: %s",
		    e.msg);
	if (services_pick(data, o->services, o->nservices, &names, &n,
	    err) == -1)
		goto fail;
	x.data = data;
	for (i = 0; i < n; i++) {
		struct entry *en;

		if ((en = report_add(r, names[i])) == NULL) {
			error_set(err, ERR_FAIL, "out of memory");
			goto fail;
		}
		service_run(&x, names[i], en);
		if (!o->dry_run && rec_service_add(&outcomes, s, en->service,
		    rev, en->outcome, en->message, &e) == -1)
			report_warn(r, "the outcome for status of %s could "
			    "not be recorded: %s", en->service, e.msg);
	}
	if (rec_batch_write(s, &outcomes, &e) == -1)
		report_warn(r, "the outcomes for status could not be "
		    "recorded: %s", e.msg);
	rec_batch_free(&outcomes);
	if (lockfd != -1)
		close(lockfd);
	for (i = 0; i < x.nswept; i++)
		free(x.swept[i]);
	free(x.swept);
	free(names);
	tree_free(data);
	*out = r;
	return 0;
fail:
	rec_batch_free(&outcomes);
	if (lockfd != -1)
		close(lockfd);
	for (i = 0; i < x.nswept; i++)
		free(x.swept[i]);
	free(x.swept);
	free(names);
	tree_free(data);
	render_report_free(r);
	return -1;
}

int
render_shipped_defaults(struct change *c, struct error *err)
{
	return shipped_add(c, err);
}
