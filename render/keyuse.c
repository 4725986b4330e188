/*
 * keyuse.c - which services' files read a key.
 *
 * Templates read keys through sections, per-file data and each-lists, so
 * reading the templates' text would miss uses or invent them.  Instead
 * every file is rendered twice in memory, once with the data as it is
 * and once with the key set to a value it cannot hold; the files that
 * differ read the key.  Blobs, templates and the manifest itself are not
 * template data and are found from the manifest's keys.  Nothing touches
 * the file system.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyuse.h"
#include "manifest.h"
#include "tree.h"

/* No stored value holds a control character: no template can show it. */
#define SENTINEL	"\x01keyuse\x01"

struct services {
	char	**names;
	size_t	  n;
};

static int
collect_service(void *arg, const char *key, const struct value *v)
{
	struct services *sv = arg;
	const char *dot;
	char **p;

	(void)v;
	/* service.NAME.files names a service. */
	dot = strchr(key + strlen("service."), '.');
	if (dot == NULL || strcmp(dot, ".files") != 0)
		return 0;
	if ((p = reallocarray(sv->names, sv->n + 1, sizeof(*p))) == NULL)
		return -1;
	sv->names = p;
	if ((p[sv->n] = strndup(key + strlen("service."),
	    (size_t)(dot - key) - strlen("service."))) == NULL)
		return -1;
	sv->n++;
	return 0;
}

static void
services_free(struct services *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->names[i]);
	free(sv->names);
}

/* 1 when file i of a and b differ, or only one of them rendered. */
static int
file_differs(const struct mservice *a, int arc, const struct mservice *b,
    int brc, const char *path)
{
	const struct mfile *fa = NULL, *fb = NULL;

	if (arc != brc)
		return 1;
	if (arc == -1)
		return 0;
	for (size_t i = 0; i < a->nfiles; i++)
		if (strcmp(a->files[i].path, path) == 0)
			fa = &a->files[i];
	for (size_t i = 0; i < b->nfiles; i++)
		if (strcmp(b->files[i].path, path) == 0)
			fb = &b->files[i];
	if (fa == NULL || fb == NULL)
		return fa != fb;
	return fa->content.len != fb->content.len ||
	    memcmp(fa->content.data, fb->content.data, fa->content.len) != 0;
}

/*
 * The manifest's own keys that make a file depend on key: the service's
 * manifest (every file), the file's template, a blob installed verbatim.
 * Each found gives the path of the files concerned, where "{}" stands
 * for any item of an each-list.
 */
#define PATHS_MAX	16

struct static_arg {
	const char	*key;
	struct store	*s;
	const char	*node;
	uint64_t	 rev;
	int		 all;
	char		 paths[PATHS_MAX][512];
	size_t		 npaths;
};

/* The text of key at rev for node into out; 0, or -1 when not a string. */
static int
get_text(struct static_arg *sa, const char *key, char *out, size_t len)
{
	struct value *v = NULL;
	const char *p;
	size_t n;
	int rc = -1;

	if (store_get_for_host(sa->s, key, sa->node, sa->rev, &v, NULL) == 0 &&
	    value_type(v) == VALUE_STRING) {
		p = value_bytes(v, &n);
		snprintf(out, len, "%.*s", (int)n, p);
		rc = 0;
	}
	value_free(v);
	return rc;
}

/*
 * Whether blob, a name with "{}" standing for an item of the list each,
 * names sa->key; the item goes to item ("" when blob has no "{}").
 */
static int
blob_matches(struct static_arg *sa, const char *blob, const char *each,
    char *item, size_t itemlen)
{
	const char *brace = strstr(blob, "{}");
	struct value *list = NULL;
	size_t n, len, pre, post;
	int hit = 0;

	item[0] = '\0';
	if (brace == NULL)
		return strcmp(blob, sa->key) == 0;
	pre = (size_t)(brace - blob);
	post = strlen(brace + 2);
	len = strlen(sa->key);
	if (len < pre + post || strncmp(sa->key, blob, pre) != 0 ||
	    strcmp(sa->key + len - post, brace + 2) != 0 || each[0] == '\0' ||
	    store_get_for_host(sa->s, each, sa->node, sa->rev, &list,
	    NULL) == -1)
		return 0;
	n = value_type(list) == VALUE_LIST ? value_count(list) : 1;
	for (size_t i = 0; i < n && !hit; i++) {
		size_t ilen;
		const char *it = value_type(list) == VALUE_LIST ?
		    value_item(list, i, &ilen) : value_bytes(list, &ilen);

		hit = ilen == len - pre - post &&
		    memcmp(it, sa->key + pre, ilen) == 0;
	}
	value_free(list);
	if (hit)
		snprintf(item, itemlen, "%.*s", (int)(len - pre - post),
		    sa->key + pre);
	return hit;
}

/* Adds the path of file entry ENTRY ("service.S.file.F."), item in "{}". */
static void
add_path(struct static_arg *sa, const char *entry, size_t elen,
    const char *item)
{
	char key[STORE_KEY_MAX + 1], path[512];
	const char *brace;

	snprintf(key, sizeof(key), "%.*spath", (int)elen, entry);
	if (sa->npaths == PATHS_MAX || get_text(sa, key, path,
	    sizeof(path)) == -1)
		return;
	if (item[0] != '\0' && (brace = strstr(path, "{}")) != NULL)
		snprintf(sa->paths[sa->npaths++], sizeof(sa->paths[0]),
		    "%.*s%s%s", (int)(brace - path), path, item, brace + 2);
	else
		snprintf(sa->paths[sa->npaths++], sizeof(sa->paths[0]), "%s",
		    path);
}

static int
static_visit(void *arg, const char *key, const struct value *v)
{
	struct static_arg *sa = arg;
	char each[STORE_KEY_MAX + 1], name[STORE_KEY_MAX + 1], item[256];
	const char *p;
	size_t len, klen = strlen(key);

	if (strcmp(key, sa->key) == 0)
		sa->all = 1;	/* a key of the service's manifest */
	if (value_type(v) != VALUE_STRING)
		return 0;
	p = value_bytes(v, &len);
	if (klen > 9 && strcmp(key + klen - 9, ".template") == 0) {
		snprintf(name, sizeof(name), "template.%.*s", (int)len, p);
		if (strcmp(name, sa->key) == 0)
			add_path(sa, key, klen - 8, "");
	} else if (klen > 5 && strcmp(key + klen - 5, ".blob") == 0) {
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		snprintf(each, sizeof(each), "%.*seach", (int)(klen - 4), key);
		if (get_text(sa, each, each, sizeof(each)) == -1)
			each[0] = '\0';
		if (blob_matches(sa, name, each, item, sizeof(item)))
			add_path(sa, key, klen - 4, item);
	}
	return 0;
}

/* Whether path is one of sa's, "{}" matching anything. */
static int
path_listed(const struct static_arg *sa, const char *path)
{
	for (size_t i = 0; i < sa->npaths; i++) {
		const char *pat = sa->paths[i], *brace = strstr(pat, "{}");
		size_t pre, post, len = strlen(path);

		if (brace == NULL) {
			if (strcmp(pat, path) == 0)
				return 1;
			continue;
		}
		pre = (size_t)(brace - pat);
		post = strlen(brace + 2);
		if (len >= pre + post && strncmp(path, pat, pre) == 0 &&
		    strcmp(path + len - post, brace + 2) == 0)
			return 1;
	}
	return 0;
}

int
render_key_users(struct store *s, const char *node, uint64_t rev,
    const char *key, keyuse_fn fn, void *arg, struct error *err)
{
	struct services sv = { NULL, 0 };
	struct tree *data = NULL, *probe = NULL;
	char base[STORE_KEY_MAX + 1], prefix[STORE_KEY_MAX + 16];
	char *warning = NULL;
	const char *host;
	int rc = -1, stop = 0, probed;

	snprintf(base, sizeof(base), "%.*s", (int)key_base(key, &host), key);
	if (store_list(s, "service.", rev, collect_service, &sv, err) != 0) {
		if (err != NULL && err->msg[0] == '\0')
			error_set(err, ERR_FAIL, "out of memory");
		goto done;
	}
	if (manifest_data(s, node, rev, &data, &warning, err) == -1)
		goto done;
	free(warning);
	warning = NULL;
	if (manifest_data(s, node, rev, &probe, &warning, err) == -1)
		goto done;
	/* A key that cannot be a leaf of the data is read by no template. */
	probed = tree_set_path(probe, base, tree_new_string(SENTINEL,
	    strlen(SENTINEL)), NULL) == 0;
	for (size_t i = 0; i < sv.n && !stop; i++) {
		struct mservice a, b;
		struct static_arg sa;
		int arc, brc = -1;

		arc = manifest_service(s, node, rev, data, sv.names[i], &a,
		    NULL);
		if (probed)
			brc = manifest_service(s, node, rev, probe,
			    sv.names[i], &b, NULL);
		memset(&sa, 0, sizeof(sa));
		sa.key = base;
		sa.s = s;
		sa.node = node;
		sa.rev = rev;
		snprintf(prefix, sizeof(prefix), "service.%s.", sv.names[i]);
		(void)store_list(s, prefix, rev, static_visit, &sa, NULL);
		for (size_t f = 0; arc == 0 && f < a.nfiles && !stop; f++)
			if (sa.all || path_listed(&sa, a.files[f].path) ||
			    (probed && file_differs(&a, arc, &b, brc,
			    a.files[f].path)))
				stop = fn(arg, sv.names[i], a.files[f].path);
		/* Files that render only with the key (a missing one). */
		for (size_t f = 0; arc == -1 && brc == 0 && f < b.nfiles &&
		    !stop; f++)
			stop = fn(arg, sv.names[i], b.files[f].path);
		if (arc == 0)
			manifest_service_clear(&a);
		if (brc == 0)
			manifest_service_clear(&b);
	}
	rc = stop;
done:
	free(warning);
	tree_free(data);
	tree_free(probe);
	services_free(&sv);
	return rc;
}
