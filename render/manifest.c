/*
 * manifest.c - the template data and the service manifest, read from the
 * store and rendered in memory.  The key layout is docs/SERVICES.md's.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "manifest.h"
#include "mustache.h"

/* ---- the template data ------------------------------------------------ */

struct data_walk {
	struct tree	*root;
	char		*warning;
	struct error	*err;
};

static struct tree *
tree_from_value(const struct value *v)
{
	struct tree *t;
	const char *p;
	size_t i, len;

	if (value_type(v) == VALUE_STRING) {
		p = value_bytes(v, &len);
		return tree_new_string(p, len);
	}
	if ((t = tree_new_list()) == NULL)
		return NULL;
	for (i = 0; i < value_count(v); i++) {
		p = value_item(v, i, &len);
		if (tree_list_append(t, tree_new_string(p, len), NULL) == -1) {
			tree_free(t);
			return NULL;
		}
	}
	return t;
}

static int
data_visit(void *arg, const char *key, const struct value *v)
{
	struct data_walk *w = arg;
	struct tree *leaf;
	struct error e;

	/* Blobs are files, not words to put into one; types are no data. */
	if (value_type(v) == VALUE_BLOB ||
	    strncmp(key, SCHEMA_PREFIX, strlen(SCHEMA_PREFIX)) == 0)
		return 0;
	if ((leaf = tree_from_value(v)) == NULL) {
		error_set(w->err, ERR_FAIL, "out of memory");
		return -1;
	}
	if (tree_set_path(w->root, key, leaf, &e) == 0)
		return 0;
	if (e.code != ERR_INPUT) {
		*w->err = e;
		return -1;
	}
	/*
	 * a.b.c next to a value a.b: the store allows both, a tree cannot
	 * hold both.  One stray key must not stop every service, so it is
	 * left out and reported; a template that reads it fails on its own.
	 */
	if (w->warning == NULL && (w->warning = strdup(key)) == NULL) {
		error_set(w->err, ERR_FAIL, "out of memory");
		return -1;
	}
	return 0;
}

int
manifest_data(struct store *s, const char *node, uint64_t rev,
    struct tree **out, char **warning, struct error *err)
{
	struct rstate st;

	state_at(&st, s, rev);
	return manifest_data_in(&st, node, out, warning, err);
}

int
manifest_data_in(const struct rstate *st, const char *node,
    struct tree **out, char **warning, struct error *err)
{
	struct data_walk w = { NULL, NULL, err };
	struct error e;

	*out = NULL;
	*warning = NULL;
	if ((w.root = tree_new_map()) == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	error_clear(&e);
	w.err = &e;
	if (state_list_for_host(st, node, data_visit, &w, err) != 0) {
		if (e.code != ERR_OK)
			*err = e;
		goto fail;
	}
	/* Last, so that the node's name is never shadowed by a key. */
	if (tree_map_set(w.root, "node", tree_new_string(node, strlen(node)),
	    err) == -1)
		goto fail;
	if (w.warning != NULL) {
		size_t len = strlen(w.warning) + 80;

		if ((*warning = malloc(len)) == NULL) {
			error_set(err, ERR_FAIL, "out of memory");
			goto fail;
		}
		snprintf(*warning, len, "key '%s' left out of the template "
		    "data: a shorter key holds a value", w.warning);
		free(w.warning);
	}
	*out = w.root;
	return 0;
fail:
	free(w.warning);
	tree_free(w.root);
	return -1;
}

/* ---- reading the manifest --------------------------------------------- */

/*
 * Manifest values are strings, or lists where several are allowed; a
 * string reads as a list of one.
 */
static size_t
items_count(const struct tree *t)
{
	if (tree_type(t) == TREE_STRING)
		return 1;
	return tree_type(t) == TREE_LIST ? tree_len(t) : 0;
}

static const char *
items_at(const struct tree *t, size_t i)
{
	if (tree_type(t) == TREE_LIST)
		t = tree_at(t, i);
	return tree_type(t) == TREE_STRING ? tree_string(t, NULL) : NULL;
}

static const char *
str_at(const struct tree *map, const char *key)
{
	const struct tree *t = tree_map_get(map, key);

	return tree_type(t) == TREE_STRING ? tree_string(t, NULL) : NULL;
}

static const struct tree *
service_map(const struct tree *data, const char *name)
{
	const struct tree *t;

	t = tree_map_get(tree_map_get(data, "service"), name);
	return tree_map_get(t, "files") != NULL ? t : NULL;
}

int
manifest_has_service(const struct tree *data, const char *name)
{
	return service_map(data, name) != NULL;
}

/* What the manifest's values may look like. */

static int
path_check(const char *path, struct error *err)
{
	const char *p = path, *q;
	size_t n;

	if (*p != '/')
		return error_set(err, ERR_INPUT, "path '%s' is not absolute",
		    path);
	while (*p != '\0') {
		p++;
		q = strchr(p, '/');
		n = q ? (size_t)(q - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return error_set(err, ERR_INPUT, "path '%s' has an "
			    "empty, '.' or '..' component", path);
		p += n;
	}
	return 0;
}

/*
 * An item of an "each" list becomes part of a file name and of a key:
 * letters, digits, '.', '_', '-', not starting with a dot.
 */
static int
item_check(const char *item, struct error *err)
{
	const char *p;

	if (*item == '\0' || *item == '.' || strlen(item) > 200)
		goto bad;
	for (p = item; *p != '\0'; p++)
		if (!(strchr("._-", *p) != NULL ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9')))
			goto bad;
	return 0;
bad:
	return error_set(err, ERR_INPUT, "'%s' cannot name a file", item);
}

static int
mode_parse(const char *s, mode_t *mode, struct error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 8);
	if (*s < '0' || *s > '7' || *end != '\0' || errno != 0 || v > 07777)
		return error_set(err, ERR_INPUT, "mode '%s' is not an octal "
		    "mode", s);
	*mode = (mode_t)v;
	return 0;
}

static int
id_number(const char *s, long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 || *v > 0x7fffffffL ? -1 : 0;
}

/* The _r forms: the daemon renders in a thread of its own. */
static int
owner_parse(const char *s, uid_t *uid, struct error *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	long v;

	if (id_number(s, &v) == 0) {
		*uid = (uid_t)v;
		return 0;
	}
	if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return error_set(err, ERR_INPUT, "no user '%s'", s);
	*uid = pw.pw_uid;
	return 0;
}

static int
group_parse(const char *s, gid_t *gid, struct error *err)
{
	struct group gr, *res = NULL;
	char buf[4096];
	long v;

	if (id_number(s, &v) == 0) {
		*gid = (gid_t)v;
		return 0;
	}
	if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return error_set(err, ERR_INPUT, "no group '%s'", s);
	*gid = gr.gr_gid;
	return 0;
}

/* s with every "{}" replaced by item (s itself when item is NULL). */
static char *
subst(const char *s, const char *item)
{
	struct buf b = { 0 };
	const char *p;

	if (item == NULL)
		return strdup(s);
	for (p = s; *p != '\0'; p++) {
		if (p[0] == '{' && p[1] == '}') {
			if (buf_puts(&b, item) == -1)
				goto fail;
			p++;
		} else if (buf_append(&b, p, 1) == -1)
			goto fail;
	}
	if (b.data == NULL && buf_reserve(&b, 0) == -1)
		goto fail;
	return buf_detach(&b, NULL);
fail:
	buf_free(&b);
	return NULL;
}

/*
 * A check command with "{item}" replaced by the file's item, so one
 * command checks each zone: "nsd-checkzone {item} {}".  The item is a
 * plain file name (item_check), safe in a command line as it is; "{}"
 * is left for run_subst_path.
 */
static char *
check_item(const char *cmd, const char *item, struct error *err)
{
	static const char tag[] = "{item}";
	struct buf b = { 0 };
	const char *p, *q;

	for (p = cmd; (q = strstr(p, tag)) != NULL; p = q + sizeof(tag) - 1) {
		if (item == NULL) {
			buf_free(&b);
			error_set(err, ERR_INPUT, "check '%s': {item} needs "
			    "'each'", cmd);
			return NULL;
		}
		if (buf_append(&b, p, (size_t)(q - p)) == -1 ||
		    buf_puts(&b, item) == -1)
			goto nomem;
	}
	if (buf_puts(&b, p) == -1)
		goto nomem;
	return buf_detach(&b, NULL);
nomem:
	buf_free(&b);
	error_set(err, ERR_FAIL, "out of memory");
	return NULL;
}

/* ---- rendering -------------------------------------------------------- */

struct lookup {
	const struct rstate *st;
	const char	*node;
};

/* The bytes of a blob (or string) key, resolved for the host. */
static int
key_bytes(const struct lookup *l, const char *key, int blob_only,
    struct buf *out, struct error *err)
{
	struct value *v;
	const void *p;
	size_t len;
	int rc;

	/* The store's message names the key: "dhcpd.key: not found". */
	if (state_get_for_host(l->st, key, l->node, &v, err) == -1)
		return -1;
	if (value_type(v) == VALUE_LIST ||
	    (blob_only && value_type(v) != VALUE_BLOB)) {
		error_set(err, ERR_INPUT, "%s is a %s, not a blob (store it "
		    "with set --file)", key, value_type_name(value_type(v)));
		value_free(v);
		return -1;
	}
	p = value_bytes(v, &len);
	rc = buf_append(out, p, len);
	value_free(v);
	if (rc == -1)
		return error_set(err, ERR_FAIL, "out of memory");
	return 0;
}

static int
template_text(const struct lookup *l, const char *name, struct buf *out,
    struct error *err)
{
	char key[STORE_KEY_MAX + 1];

	if ((size_t)snprintf(key, sizeof(key), "template.%s", name) >=
	    sizeof(key))
		return error_set(err, ERR_INPUT, "template name '%s' is too "
		    "long", name);
	return key_bytes(l, key, 0, out, err);
}

/* Partials ({{> NAME}}) are other templates of the store. */
static int
partial_fn(void *arg, const char *name, struct buf *text, struct error *err)
{
	return template_text(arg, name, text, err);
}

/*
 * A file with a "data" key sees that map as its innermost context, so one
 * template serves carp1 and carp2.
 */
static int
render_template(const struct lookup *l, const struct tree *data,
    const char *name, const char *datapath, struct buf *out,
    struct error *err)
{
	struct mustache_opts o = {
		.name = name,
		.html_escape = 0,
		.strict = 1,
		.partial = partial_fn,
		.partial_arg = UNCONST(l),
		.context = datapath,
	};
	struct buf text = { 0 };
	int rc = -1;

	if (template_text(l, name, &text, err) == -1)
		goto done;
	if (mustache_render(text.data, text.len, data, &o, out, err) == -1)
		goto done;
	if (out->len > MANIFEST_FILE_MAX) {
		error_set(err, ERR_INPUT, "output of %s is larger than %u "
		    "bytes", name, MANIFEST_FILE_MAX);
		goto done;
	}
	rc = 0;
done:
	buf_free(&text);
	return rc;
}

static struct mfile *
file_push(struct mservice *m)
{
	struct mfile *f;

	f = reallocarray(m->files, m->nfiles + 1, sizeof(*f));
	if (f == NULL)
		return NULL;
	m->files = f;
	f = &m->files[m->nfiles++];
	memset(f, 0, sizeof(*f));
	return f;
}

/*
 * One output file: file entry fe of the manifest, for item (NULL unless
 * the entry has "each").  check is the service's command, or NULL.
 */
static int
file_add(const struct lookup *l, const struct tree *data, const char *id,
    const struct tree *fe, const char *item, const char *check,
    struct mservice *m, struct error *err)
{
	const char *path, *tmpl, *blob, *s;
	char *datapath = NULL, *blobkey = NULL;
	struct mfile *f;

	if ((path = str_at(fe, "path")) == NULL)
		return error_set(err, ERR_INPUT, "file '%s' has no path", id);
	if ((f = file_push(m)) == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	if ((f->path = subst(path, item)) == NULL)
		goto nomem;
	if (path_check(f->path, err) == -1)
		goto fail;
	if ((s = str_at(fe, "check")) == NULL)
		s = check;
	if (s != NULL && *s != '\0' && (f->check = check_item(s, item,
	    err)) == NULL)
		goto fail;

	f->mode = 0644;
	if ((s = str_at(fe, "mode")) != NULL && mode_parse(s, &f->mode,
	    err) == -1)
		goto fail;
	if ((s = str_at(fe, "owner")) != NULL && owner_parse(s, &f->uid,
	    err) == -1)
		goto fail;
	if ((s = str_at(fe, "group")) != NULL && group_parse(s, &f->gid,
	    err) == -1)
		goto fail;

	tmpl = str_at(fe, "template");
	blob = str_at(fe, "blob");
	if ((tmpl == NULL) == (blob == NULL)) {
		error_set(err, ERR_INPUT, "needs either a template or a blob");
		goto fail;
	}
	if (tmpl != NULL) {
		if ((s = str_at(fe, "data")) != NULL &&
		    (datapath = subst(s, item)) == NULL)
			goto nomem;
		if (render_template(l, data, tmpl, datapath, &f->content,
		    err) == -1)
			goto fail;
	} else {
		if ((blobkey = subst(blob, item)) == NULL)
			goto nomem;
		if (key_bytes(l, blobkey, 1, &f->content, err) == -1)
			goto fail;
	}
	free(datapath);
	free(blobkey);
	return 0;
nomem:
	error_set(err, ERR_FAIL, "out of memory");
fail:
	if (f->path != NULL)
		error_wrap(err, "%s", f->path);
	else
		error_wrap(err, "file '%s'", id);
	free(datapath);
	free(blobkey);
	return -1;
}

/* A file entry, once or once per item of its "each" list. */
static int
entry_add(const struct lookup *l, const struct tree *data,
    const struct tree *svc, const char *id, const char *check,
    struct mservice *m, struct error *err)
{
	const struct tree *fe, *list;
	const char *each, *item;
	size_t i;

	fe = tree_map_get(tree_map_get(svc, "file"), id);
	if (tree_type(fe) != TREE_MAP)
		return error_set(err, ERR_INPUT, "no keys for file '%s'", id);
	if ((each = str_at(fe, "each")) == NULL)
		return file_add(l, data, id, fe, NULL, check, m, err);

	/* An empty or missing list means no such files, not an error. */
	list = tree_get_path(data, each);
	for (i = 0; i < items_count(list); i++) {
		if ((item = items_at(list, i)) == NULL)
			return error_set(err, ERR_INPUT, "%s is not a list",
			    each);
		if (item_check(item, err) == -1)
			return error_wrap(err, "%s", each);
		if (file_add(l, data, id, fe, item, check, m, err) == -1)
			return -1;
	}
	return 0;
}

int
manifest_service_in(const struct rstate *st, const char *node,
    const struct tree *data, const char *name, struct mservice *m,
    struct error *err)
{
	struct lookup l = { st, node };
	const struct tree *svc, *files;
	const char *id, *str;
	long secs = MANIFEST_TIMEOUT_DEFAULT;
	size_t i;

	memset(m, 0, sizeof(*m));
	if ((svc = service_map(data, name)) == NULL)
		return error_set(err, ERR_INPUT, "no service '%s'", name);
	if ((m->name = strdup(name)) == NULL)
		goto nomem;
	if ((str = str_at(svc, "restart")) != NULL && *str != '\0' &&
	    (m->restart = strdup(str)) == NULL)
		goto nomem;
	if ((str = str_at(svc, "timeout")) != NULL &&
	    (id_number(str, &secs) == -1 || secs < 1 ||
	    secs > MANIFEST_TIMEOUT_MAX)) {
		error_set(err, ERR_INPUT, "timeout '%s' is not a number of "
		    "seconds from 1 to %d", str, MANIFEST_TIMEOUT_MAX);
		goto fail;
	}
	m->timeout_ms = (int)secs * 1000;

	/* The service's check validates its first file, the main config. */
	files = tree_map_get(svc, "files");
	str = str_at(svc, "check");
	for (i = 0; i < items_count(files); i++) {
		if ((id = items_at(files, i)) == NULL) {
			error_set(err, ERR_INPUT, "service.%s.files is not a "
			    "list", name);
			goto fail;
		}
		if (entry_add(&l, data, svc, id, i == 0 ? str : NULL, m,
		    err) == -1)
			goto fail;
	}
	return 0;
nomem:
	error_set(err, ERR_FAIL, "out of memory");
fail:
	manifest_service_clear(m);
	return -1;
}

int
manifest_service(struct store *s, const char *node, uint64_t rev,
    const struct tree *data, const char *name, struct mservice *m,
    struct error *err)
{
	struct rstate st;

	state_at(&st, s, rev);
	return manifest_service_in(&st, node, data, name, m, err);
}

void
manifest_service_clear(struct mservice *m)
{
	size_t i;

	for (i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		free(m->files[i].check);
		buf_free_secret(&m->files[i].content);
	}
	free(m->files);
	free(m->name);
	free(m->restart);
	memset(m, 0, sizeof(*m));
}
