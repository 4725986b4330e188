/*
 * render.c - one render: every service of the manifest, each on its own.
 *
 * For one service the order is: render all its files in memory; compare
 * each with what is installed (bytes, mode, owner); if none differs,
 * stop.  Otherwise install them as one transaction (transaction.c).
 * What is remembered between renders is in records.c; what the render
 * did, for the caller, in report.c.
 */
#include <sys/file.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "install.h"
#include "lockfile.h"
#include "manifest.h"
#include "records.h"
#include "render.h"
#include "render_int.h"
#include "shipped.h"

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
	if (tx_compare(x, w, m.nfiles, en) == -1)
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
			if (rec_file_add(x->end, w[i].dest, &r, &e) == -1) {
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
	tx_install(x, &m, w, m.nfiles, pending, en);
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

	if ((size_t)snprintf(path, sizeof(path), "%s/render.lock",
	    store_dir(s)) >= sizeof(path))
		return error_set(err, ERR_FAIL, "store path too long");
	return lockfile_take(path, 1, err);
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
	x.end = &outcomes;
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
		report_warn(r, "the render's records (installed files, "
		    "outcomes for status) could not be written: %s", e.msg);
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
