/*
 * batch.c - the batch format read as operations, and a section of the
 * store replaced by one (apply --replace, edit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "batch.h"
#include "format.h"

/*
 * The longest line export can write: a value escaped to twice its bytes,
 * a list's items quoted and spaced, the key and "set --list".
 */
#define BATCH_LINE_MAX	(STORE_VALUE_MAX * 2 + STORE_LIST_MAX * 4 + \
			    STORE_KEY_MAX + 64)
#define BATCH_TOKENS	(STORE_LIST_MAX + 4)

int
value_from_file(const char *path, struct value **v, struct error *err)
{
	struct buf b = { 0 };
	struct stat st;
	int rc;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > STORE_VALUE_MAX)
		return error_set(err, ERR_BADVALUE, "value too large: %lld bytes "
		    "(limit %u) in %s", (long long)st.st_size, STORE_VALUE_MAX,
		    path);
	/* A device or pipe is read up to the limit: free what was read. */
	if (buf_read_file(&b, path, STORE_VALUE_MAX) == -1) {
		rc = error_errno(err, ERR_INPUT, "%s", path);
		buf_free_secret(&b);
		return rc;
	}
	rc = value_blob(b.data, b.len, v, err);
	buf_free_secret(&b);	/* it may be a key */
	return rc;
}

int
value_from_args(char **args, int n, int list, struct value **v,
    struct error *err)
{
	if (n == 1 && !list)
		return value_string(args[0], strlen(args[0]), v, err);
	return value_list((const char *const *)args, (size_t)n, v, err);
}

static int
blob_from_base64(const char *text, struct value **v, struct error *err)
{
	unsigned char *bin;
	size_t len, cap = strlen(text);
	int rc;

	/* libsodium 1.0.18 would read bytes from 0x80 up as '/'. */
	if (strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") != cap)
		return error_set(err, ERR_INPUT, "invalid base64");
	if ((bin = malloc(cap + 1)) == NULL)
		return error_errno(err, ERR_FAIL, "apply");
	if (sodium_base642bin(bin, cap + 1, text, cap, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(bin);
		return error_set(err, ERR_INPUT, "invalid base64");
	}
	rc = value_blob(bin, len, v, err);
	sodium_memzero(bin, cap + 1);
	free(bin);
	return rc;
}

static int
batch_add(struct batch *b, const char *key, struct value *v,
    unsigned long line, struct error *err)
{
	struct batch_op *ops;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		if ((ops = realloc(b->ops, cap * sizeof(*ops))) == NULL)
			return error_errno(err, ERR_FAIL, "apply");
		b->ops = ops;
		b->cap = cap;
	}
	if ((b->ops[b->n].key = strdup(key)) == NULL)
		return error_errno(err, ERR_FAIL, "apply");
	b->ops[b->n].v = v;
	b->ops[b->n++].line = line;
	return 0;
}

/* One line of a batch into b; 0, or -1 with err saying why. */
static int
batch_line(struct batch *b, char *line, unsigned long lineno, char **tok,
    struct error *err)
{
	const char *why = NULL;
	struct value *v = NULL;
	int n, rc, i = 1, list = 0, blob = 0, file = 0;

	if ((n = format_split(line, tok, BATCH_TOKENS, &why)) == -1)
		return error_set(err, ERR_INPUT, "%s", why);
	if (n == 0)
		return 0;
	if (strcmp(tok[0], "del") == 0) {
		if (n != 2)
			return error_set(err, ERR_INPUT, "want: del KEY");
		if (key_check(tok[1], err) == -1)
			return -1;
		return batch_add(b, tok[1], NULL, lineno, err);
	}
	if (strcmp(tok[0], "set") != 0)
		return error_set(err, ERR_INPUT, "unknown operation '%.40s' "
		    "(want set or del)", tok[0]);
	/* No key starts with "-", so the flag cannot be mistaken for one. */
	if (i < n && strcmp(tok[i], "--list") == 0)
		list = 1, i++;
	else if (i < n && strcmp(tok[i], "--blob") == 0)
		blob = 1, i++;
	else if (i < n && strcmp(tok[i], "--file") == 0)
		file = 1, i++;
	if (n - i < (list ? 1 : 2) || ((blob || file) && n - i != 2))
		return error_set(err, ERR_INPUT, "want: set KEY VALUE...");
	if (key_check(tok[i], err) == -1)
		return -1;
	if (blob)
		rc = blob_from_base64(tok[i + 1], &v, err);
	else if (file)
		rc = value_from_file(tok[i + 1], &v, err);
	else
		rc = value_from_args(tok + i + 1, n - i - 1, list, &v, err);
	if (rc == 0 && (rc = batch_add(b, tok[i], v, lineno, err)) == -1)
		value_free(v);
	return rc;
}

int
batch_read(FILE *f, const char *name, struct batch *b, struct error *err)
{
	char *line = NULL, **tok;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int rc = 0;

	b->name = name;
	if ((tok = calloc(BATCH_TOKENS, sizeof(*tok))) == NULL)
		return error_errno(err, ERR_FAIL, "apply");
	while (rc == 0 && (len = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if ((size_t)len > BATCH_LINE_MAX || strlen(line) != (size_t)len)
			rc = error_set(err, ERR_INPUT, "line too long or binary");
		else
			rc = batch_line(b, line, lineno, tok, err);
		if (rc == -1)
			error_wrap(err, "%s:%lu", name, lineno);
	}
	if (rc == 0 && ferror(f))
		rc = error_errno(err, ERR_FAIL, "%s", name);
	if (line != NULL)
		sodium_memzero(line, cap);	/* it may have held a key */
	free(line);
	free(tok);
	return rc;
}

int
batch_load(const char *path, struct batch *b, struct error *err)
{
	FILE *f = stdin;
	int rc;

	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL)
		return error_errno(err, ERR_INPUT, "%s", path);
	rc = batch_read(f, strcmp(path, "-") ? path : "stdin", b, err);
	if (f != stdin)
		fclose(f);
	return rc;
}

int
batch_change(const struct batch *b, struct change *c, struct error *err)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct batch_op *op = &b->ops[i];

		if (change_origin(c, b->name, op->line, err) == -1 ||
		    (op->v != NULL ? change_set(c, op->key, op->v, err) :
		    change_del(c, op->key, err)) == -1)
			return -1;
	}
	return 0;
}

int
read_batch(FILE *f, const char *name, struct change *c, struct error *err)
{
	struct batch b = { 0 };
	int rc;

	if ((rc = batch_read(f, name, &b, err)) == 0)
		rc = batch_change(&b, c, err);
	batch_free(&b);
	return rc;
}

void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->ops[i].key);
		value_free(b->ops[i].v);
	}
	free(b->ops);
	b->ops = NULL;
	b->n = b->cap = 0;
}

/* ---- replacing a prefix ------------------------------------------------ */

/* The keys under the prefix as they are, in key order. */
struct old_keys {
	struct batch_op	*ops;		/* line unused */
	size_t		 n, cap;
	int		 nomem;
};

static int
old_one(void *arg, const char *key, const struct value *v)
{
	struct old_keys *o = arg;
	struct batch_op *op;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;

		if ((op = realloc(o->ops, cap * sizeof(*op))) == NULL)
			return o->nomem = 1, -1;
		o->ops = op;
		o->cap = cap;
	}
	op = &o->ops[o->n];
	op->key = strdup(key);
	op->v = value_dup(v);
	if (op->key == NULL || op->v == NULL) {
		free(op->key);
		value_free(op->v);
		return o->nomem = 1, -1;
	}
	o->n++;
	return 0;
}

/* The last operation of b on each key, sorted by key (bytes). */
static int
by_key(const void *a, const void *b)
{
	const struct batch_op *x = *(const struct batch_op *const *)a;
	const struct batch_op *y = *(const struct batch_op *const *)b;
	int c = strcmp(x->key, y->key);

	/* Equal keys: the later line first, so it is the one kept. */
	return c != 0 ? c : x->line < y->line ? 1 : x->line > y->line ? -1 : 0;
}

static int
one_change(struct change *c, const char *name, const char *key,
    const struct value *old, const struct value *new, unsigned long line,
    int show, size_t *count, struct error *err)
{
	if (old != NULL && new != NULL && value_equal(old, new))
		return 0;
	if (old == NULL && new == NULL)
		return 0;	/* a del of what is not there: nothing to do */
	if (change_origin(c, name, line, err) == -1 ||
	    (new != NULL ? change_set(c, key, new, err) :
	    change_del(c, key, err)) == -1)
		return -1;
	if (show && format_change(stdout, key, old, new) == -1)
		return error_set(err, ERR_FAIL, "out of memory");
	(*count)++;
	return 0;
}

int
batch_replace(struct store *s, const char *prefix, const struct batch *b,
    int show, struct change *c, size_t *count, struct error *err)
{
	struct old_keys o = { 0 };
	const struct batch_op **ops = NULL;
	size_t plen = prefix ? strlen(prefix) : 0, i, j, n = 0;
	int rc = -1;

	*count = 0;
	if ((ops = calloc(b->n + 1, sizeof(*ops))) == NULL) {
		error_errno(err, ERR_FAIL, "apply");
		goto done;
	}
	for (i = 0; i < b->n; i++) {
		if (plen > 0 && strncmp(b->ops[i].key, prefix, plen) != 0) {
			error_set(err, ERR_INPUT, "%s:%lu: key '%s' is not under "
			    "'%s', the prefix being replaced", b->name,
			    b->ops[i].line, b->ops[i].key, prefix);
			goto done;
		}
		ops[i] = &b->ops[i];
	}
	qsort(ops, b->n, sizeof(*ops), by_key);
	for (i = 0; i < b->n; i++)
		if (n == 0 || strcmp(ops[n - 1]->key, ops[i]->key) != 0)
			ops[n++] = ops[i];
	if (store_list(s, plen ? prefix : NULL, 0, old_one, &o, err) == -1) {
		if (o.nomem)
			error_set(err, ERR_FAIL, "out of memory");
		goto done;
	}
	/* Both sorted by key: walk them side by side. */
	for (i = j = 0; i < n || j < o.n;) {
		int cmp = i == n ? 1 : j == o.n ? -1 :
		    strcmp(ops[i]->key, o.ops[j].key);

		if (cmp < 0) {
			if (one_change(c, b->name, ops[i]->key, NULL, ops[i]->v,
			    ops[i]->line, show, count, err) == -1)
				goto done;
			i++;
		} else if (cmp > 0) {
			if (one_change(c, b->name, o.ops[j].key, o.ops[j].v, NULL, 0,
			    show, count, err) == -1)
				goto done;
			j++;
		} else {
			if (one_change(c, b->name, ops[i]->key, o.ops[j].v,
			    ops[i]->v, ops[i]->line, show, count, err) == -1)
				goto done;
			i++, j++;
		}
	}
	rc = 0;
done:
	for (i = 0; i < o.n; i++) {
		free(o.ops[i].key);
		value_free(o.ops[i].v);
	}
	free(o.ops);
	free(ops);
	return rc;
}

int
cli_confirm(const char *question)
{
	char *line = NULL;
	size_t cap = 0;
	int yes;

	printf("%s [y/N] ", question);
	fflush(stdout);
	yes = getline(&line, &cap, stdin) > 0 && (line[0] == 'y' ||
	    line[0] == 'Y');
	free(line);
	return yes;
}
