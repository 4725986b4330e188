/*
 * preview.c - a host's files at one state against another, as diffs,
 * without touching the disk (except to read what is installed, when
 * that is the state compared with).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "render.h"
#include "render_int.h"

/* A rendered file as an fstate (the bytes are borrowed, not copied). */
static void
as_fstate(const struct render_file *f, struct fstate *st)
{
	memset(st, 0, sizeof(*st));
	if (f == NULL)
		return;
	st->exists = 1;
	st->bytes.data = (char *)(uintptr_t)f->data;
	st->bytes.len = f->len;
	st->mode = f->mode;
	st->uid = f->uid;
	st->gid = f->gid;
}

static int
same(const struct fstate *a, const struct fstate *b)
{
	return fstate_same_bytes(a, b) && (!a->exists || (a->mode == b->mode &&
	    a->uid == b->uid && a->gid == b->gid));
}

/* "HOST/PATH<TAB>TAG", as diff(1) puts a time stamp after a name. */
static char *
label(const char *host, const char *path, const char *tag)
{
	char *l;

	if (asprintf(&l, "%s%s\t%s", host, path, tag) == -1)
		return NULL;
	return l;
}

static int
one_file(const struct render_preview *p, const char *host, const char *path,
    const struct render_file *fa, const struct render_file *fb,
    const char *ta, const char *tb, struct buf *out, size_t *nchanged,
    struct error *err)
{
	struct fstate a, b;
	struct error e;
	char *la = NULL, *lb = NULL, *name = NULL, *dest = NULL;
	const char *root = p->root != NULL && strcmp(p->root, "/") != 0 ?
	    p->root : "";
	int rc = -1, installed = p->installed;

	as_fstate(fb, &b);
	if (installed) {
		if (asprintf(&dest, "%s%s", root, path) == -1)
			goto nomem;
		if (install_stat(dest, MANIFEST_FILE_MAX, &a, &e) == -1) {
			rc = buf_printf(out, "%s: cannot be compared: %s\n",
			    dest, e.msg);
			(*nchanged)++;
			goto done;
		}
	} else
		as_fstate(fa, &a);
	if (same(&a, &b)) {
		rc = 0;
		goto done;
	}
	(*nchanged)++;
	if (installed)
		name = strdup(dest);
	else if (asprintf(&name, "%s%s", host, path) == -1)
		name = NULL;
	if (name == NULL || (la = installed ? label("", dest, ta) :
	    label(host, path, ta)) == NULL ||
	    (lb = installed ? label("", dest, tb) : label(host, path, tb)) ==
	    NULL)
		goto nomem;
	rc = diff_file(name, "changes", la, &a, lb, &b, p->show_secrets, out,
	    err);
	goto done;
nomem:
	rc = error_set(err, ERR_FAIL, "out of memory");
done:
	if (installed)
		install_stat_clear(&a);
	free(la);
	free(lb);
	free(name);
	free(dest);
	return rc == -1 ? -1 : 0;
}

int
render_preview_diff(struct store *s, const struct render_preview *p,
    struct buf *out, size_t *nchanged, struct error *err)
{
	struct render_host *ha = NULL, *hb = NULL;
	const struct render_file *f;
	const char *host = p->host != NULL ? p->host : store_node(s);
	char ta[32], tb[32];
	size_t i;
	int rc = -1;

	*nchanged = 0;
	if (p->b == 0) {
		unsigned char hash[STORE_HASH_LEN];
		struct render_preview q = *p;

		if (store_head(s, &q.b, hash, err) == -1)
			return -1;
		return q.b == 0 ? 0 : render_preview_diff(s, &q, out, nchanged,
		    err);
	}
	if (p->installed && strcmp(host, store_node(s)) != 0)
		return error_set(err, ERR_INPUT, "only this node's installed "
		    "files can be compared (%s is not %s)", host,
		    store_node(s));
	if (store_host_check(s, host, p->b, err) == -1)
		return -1;
	if (render_host_files(s, p->b, p->batch, host, NULL, 0, &hb,
	    err) == -1)
		goto done;
	/* r0 is the empty store: no files at all. */
	if (!p->installed && p->a > 0 && render_host_files(s, p->a, NULL,
	    host, NULL, 0, &ha, err) == -1)
		goto done;
	snprintf(ta, sizeof(ta), p->installed ? "installed" : "r%llu",
	    (unsigned long long)p->a);
	if (p->batch != NULL)
		snprintf(tb, sizeof(tb), "r%llu+batch",
		    (unsigned long long)p->b);
	else
		snprintf(tb, sizeof(tb), "r%llu", (unsigned long long)p->b);
	/* What B has, then what only A had (removed from the manifest). */
	for (i = 0; i < render_host_count(hb); i++) {
		f = render_host_file(hb, i);
		if (one_file(p, host, f->path, ha != NULL ?
		    render_host_find(ha, f->path) : NULL, f, ta, tb, out,
		    nchanged, err) == -1)
			goto done;
	}
	for (i = 0; ha != NULL && i < render_host_count(ha); i++) {
		f = render_host_file(ha, i);
		if (render_host_find(hb, f->path) == NULL &&
		    one_file(p, host, f->path, f, NULL, ta, tb, out, nchanged,
		    err) == -1)
			goto done;
	}
	for (i = 0; i < render_host_errors(hb); i++)
		buf_printf(out, "%s: cannot be rendered: %s\n", host,
		    render_host_error(hb, i));
	rc = 0;
done:
	render_host_free(ha);
	render_host_free(hb);
	return rc;
}
