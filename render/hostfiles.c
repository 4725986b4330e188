/*
 * hostfiles.c - every file a host gets from a state of the store,
 * rendered in memory: for preview and for checks of a candidate, on any
 * node, for this host or a peer.  Nothing here touches the file system.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "render.h"
#include "render_int.h"

struct render_host {
	char			*host;
	struct mservice		*svc;
	size_t			 nsvc;
	struct render_file	*files;
	size_t			 nfiles;
	char			**errors;	/* "SERVICE: why" */
	size_t			 nerrors;
	char			*warning;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
services_pick(const struct tree *data, const char *const *want, size_t nwant,
    const char ***out, size_t *n, struct error *err)
{
	const struct tree *svc = tree_map_get(data, "service");
	const char **v;
	size_t i, cap;

	if (tree_type(svc) != TREE_MAP)
		svc = NULL;		/* a stray value named "service" */
	*out = NULL;
	*n = 0;
	for (i = 0; i < nwant; i++)
		if (!manifest_has_service(data, want[i]))
			return error_set(err, ERR_INPUT, "unknown service '%s'",
			    want[i]);
	cap = nwant ? nwant : tree_len(svc);
	if ((v = calloc(cap ? cap : 1, sizeof(*v))) == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	if (nwant > 0) {
		for (i = 0; i < nwant; i++)
			v[(*n)++] = want[i];
	} else {
		for (i = 0; i < tree_len(svc); i++) {
			const char *name = tree_key_at(svc, i, NULL);

			if (manifest_has_service(data, name))
				v[(*n)++] = name;
		}
	}
	qsort(v, *n, sizeof(*v), name_cmp);
	*out = v;
	return 0;
}

static int
add_error(struct render_host *h, const char *service, const char *msg)
{
	char **v, *line;

	if (asprintf(&line, "%s: %s", service, msg) == -1)
		return -1;
	if ((v = reallocarray(h->errors, h->nerrors + 1, sizeof(*v))) == NULL) {
		free(line);
		return -1;
	}
	h->errors = v;
	h->errors[h->nerrors++] = line;
	return 0;
}

/* Flattens the services' files into h->files, in service order. */
static int
flatten(struct render_host *h)
{
	struct render_file *f;
	const struct mfile *mf;
	size_t i, j, n = 0;

	for (i = 0; i < h->nsvc; i++)
		n += h->svc[i].nfiles;
	if ((h->files = calloc(n ? n : 1, sizeof(*h->files))) == NULL)
		return -1;
	for (i = 0; i < h->nsvc; i++)
		for (j = 0; j < h->svc[i].nfiles; j++) {
			mf = &h->svc[i].files[j];
			f = &h->files[h->nfiles++];
			f->service = h->svc[i].name;
			f->path = mf->path;
			f->data = mf->content.data != NULL ? mf->content.data :
			    "";
			f->len = mf->content.len;
			f->mode = mf->mode;
			f->uid = mf->uid;
			f->gid = mf->gid;
			f->check = mf->check;
			f->timeout_ms = h->svc[i].timeout_ms;
		}
	return 0;
}

int
render_host_files(struct store *s, uint64_t rev, const struct change *c,
    const char *host, const char *const *services, size_t nservices,
    struct render_host **out, struct error *err)
{
	unsigned char hash[STORE_HASH_LEN];
	struct render_host *h;
	struct rstate st;
	struct tree *data = NULL;
	struct error e;
	const char **names = NULL;
	size_t i, n = 0;
	int rc = -1;

	*out = NULL;
	if (host == NULL)
		host = store_node(s);
	if (rev == 0 && store_head(s, &rev, hash, err) == -1)
		return -1;
	if (c != NULL) {
		if (state_with(&st, s, rev, c, err) == -1)
			return -1;
	} else
		state_at(&st, s, rev);
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->host = strdup(host)) == NULL) {
		error_set(err, ERR_FAIL, "out of memory");
		goto done;
	}
	/* r0 is the empty store: no manifest, no files. */
	if ((rev > 0 || c != NULL) && (manifest_data_in(&st, host, &data,
	    &h->warning, err) == -1 || services_pick(data, services, nservices,
	    &names, &n, err) == -1))
		goto done;
	if ((h->svc = calloc(n ? n : 1, sizeof(*h->svc))) == NULL) {
		error_set(err, ERR_FAIL, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (manifest_service_in(&st, host, data, names[i],
		    &h->svc[h->nsvc], &e) == 0) {
			h->nsvc++;
			continue;
		}
		/* One service that cannot be rendered stops no other. */
		if (add_error(h, names[i], e.msg) == -1) {
			error_set(err, ERR_FAIL, "out of memory");
			goto done;
		}
	}
	if (flatten(h) == -1) {
		error_set(err, ERR_FAIL, "out of memory");
		goto done;
	}
	*out = h;
	h = NULL;
	rc = 0;
done:
	render_host_free(h);
	free(names);
	tree_free(data);
	state_clear(&st);
	return rc;
}

const char *
render_host_name(const struct render_host *h)
{
	return h->host;
}

size_t
render_host_count(const struct render_host *h)
{
	return h->nfiles;
}

const struct render_file *
render_host_file(const struct render_host *h, size_t i)
{
	return &h->files[i];
}

const struct render_file *
render_host_find(const struct render_host *h, const char *path)
{
	size_t i;

	for (i = 0; i < h->nfiles; i++)
		if (strcmp(h->files[i].path, path) == 0)
			return &h->files[i];
	return NULL;
}

size_t
render_host_errors(const struct render_host *h)
{
	return h->nerrors;
}

const char *
render_host_error(const struct render_host *h, size_t i)
{
	return h->errors[i];
}

const char *
render_host_warning(const struct render_host *h)
{
	return h->warning;
}

void
render_host_free(struct render_host *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nsvc; i++)
		manifest_service_clear(&h->svc[i]);
	for (i = 0; i < h->nerrors; i++)
		free(h->errors[i]);
	free(h->svc);
	free(h->files);
	free(h->errors);
	free(h->warning);
	free(h->host);
	free(h);
}

int
render_hosts_known(struct store *s, char ***out, size_t *n,
    struct error *err)
{
	struct peer_info *p = NULL;
	size_t np = 0, i;
	char **v;

	*out = NULL;
	*n = 0;
	if (store_peers(s, &p, &np, err) == -1)
		return -1;
	if ((v = calloc(np + 1, sizeof(*v))) == NULL) {
		free(p);
		return error_set(err, ERR_FAIL, "out of memory");
	}
	if ((v[0] = strdup(store_node(s))) == NULL)
		goto nomem;
	*n = 1;
	for (i = 0; i < np; i++) {
		if ((v[*n] = strdup(p[i].name)) == NULL)
			goto nomem;
		(*n)++;
	}
	free(p);
	*out = v;
	return 0;
nomem:
	free(p);
	render_hosts_free(v, *n);
	*n = 0;
	return error_set(err, ERR_FAIL, "out of memory");
}

void
render_hosts_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
