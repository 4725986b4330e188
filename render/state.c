/*
 * state.c - a revision with uncommitted changes on top, read as the
 * store reads a revision.  The changes are kept sorted by key; a list
 * merges them with the revision's keys in one walk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

struct op {
	char		*key;
	struct value	*v;		/* NULL: deleted */
};

struct overlay {
	struct op	*v;
	size_t		 n;
};

static void
overlay_free(struct overlay *ov)
{
	size_t i;

	if (ov == NULL)
		return;
	for (i = 0; i < ov->n; i++) {
		free(ov->v[i].key);
		value_free(ov->v[i].v);
	}
	free(ov->v);
	free(ov);
}

/* The op on key, or NULL when the changes do not touch it. */
static const struct op *
overlay_find(const struct overlay *ov, const char *key)
{
	size_t lo = 0, hi = ov != NULL ? ov->n : 0, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, ov->v[mid].key)) == 0)
			return &ov->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The ops of a change in the order they were added, to sort. */
struct added {
	const char		*key;
	const struct value	*v;
	size_t			 i;
};

/* By key, and for one key in the order added. */
static int
added_cmp(const void *a, const void *b)
{
	const struct added *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : x->i < y->i ? -1 : x->i > y->i;
}

void
state_at(struct rstate *st, struct store *s, uint64_t rev)
{
	st->s = s;
	st->rev = rev;
	st->ov = NULL;
}

/*
 * The overlay holds the last op on each key, sorted: the change's ops are
 * sorted by key and order added, and the last of each run kept, so a
 * batch of many keys costs n log n, not n squared.
 */
int
state_with(struct rstate *st, struct store *s, uint64_t rev,
    const struct change *c, struct error *err)
{
	struct overlay *ov;
	struct added *a = NULL;
	size_t i, n = change_count(c);

	state_at(st, s, rev);
	if ((ov = calloc(1, sizeof(*ov))) == NULL ||
	    (ov->v = calloc(n ? n : 1, sizeof(*ov->v))) == NULL ||
	    (a = calloc(n ? n : 1, sizeof(*a))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		change_op_at(c, i, &a[i].key, &a[i].v);
		a[i].i = i;
	}
	qsort(a, n, sizeof(*a), added_cmp);
	for (i = 0; i < n; i++) {
		/* A later op on the same key replaces an earlier one. */
		if (i + 1 < n && strcmp(a[i].key, a[i + 1].key) == 0)
			continue;
		if ((ov->v[ov->n].key = strdup(a[i].key)) == NULL)
			goto nomem;
		ov->n++;
		if (a[i].v != NULL &&
		    (ov->v[ov->n - 1].v = value_dup(a[i].v)) == NULL)
			goto nomem;
	}
	free(a);
	st->ov = ov;
	return 0;
nomem:
	free(a);
	overlay_free(ov);
	return error_set(err, ERR_FAIL, "out of memory");
}

void
state_clear(struct rstate *st)
{
	overlay_free(st->ov);
	st->ov = NULL;
}

/* key's value in st, unresolved: 0, 1 when it has none, or -1. */
static int
get_raw(const struct rstate *st, const char *key, struct value **out,
    struct error *err)
{
	const struct op *op;
	struct error e;

	*out = NULL;
	if ((op = overlay_find(st->ov, key)) != NULL) {
		if (op->v == NULL)
			return 1;
		if ((*out = value_dup(op->v)) == NULL)
			return error_set(err, ERR_FAIL, "out of memory");
		return 0;
	}
	if (store_get(st->s, key, st->rev, out, &e) == 0)
		return 0;
	/* Not found is the only failure that says the key has no value. */
	if (e.code == ERR_NOTFOUND)
		return 1;
	*err = e;
	return -1;
}

int
state_get_for_host(const struct rstate *st, const char *key,
    const char *host, struct value **out, struct error *err)
{
	char k[STORE_KEY_MAX + STORE_NODE_MAX + 2];
	int rc;

	if (st->ov == NULL)
		return store_get_for_host(st->s, key, host, st->rev, out, err);
	if (key_check(key, err) == -1)
		return -1;
	if (host != NULL && strchr(key, '@') == NULL &&
	    (size_t)snprintf(k, sizeof(k), "%s@%s", key, host) <= STORE_KEY_MAX &&
	    (rc = get_raw(st, k, out, err)) != 1)
		return rc;
	if ((rc = get_raw(st, key, out, err)) == 1)
		return error_set(err, ERR_NOTFOUND, "%s: not found", key);
	return rc;
}

/* Every key of the revision, with the changes merged in. */
struct all {
	char		**keys;
	struct value	**vals;
	size_t		  n, cap;
};

static void
all_free(struct all *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->keys[i]);
		value_free(a->vals[i]);
	}
	free(a->keys);
	free(a->vals);
}

static int
all_add(struct all *a, const char *key, const struct value *v)
{
	char **k;
	struct value **vv;
	size_t cap;

	/* Doubling: 100,000 keys one by one must not copy the lot each time. */
	if (a->n == a->cap) {
		cap = a->cap == 0 ? 64 : a->cap * 2;
		if ((k = reallocarray(a->keys, cap, sizeof(*k))) == NULL)
			return -1;
		a->keys = k;
		if ((vv = reallocarray(a->vals, cap, sizeof(*vv))) == NULL)
			return -1;
		a->vals = vv;
		a->cap = cap;
	}
	if ((a->keys[a->n] = strdup(key)) == NULL)
		return -1;
	if ((a->vals[a->n] = value_dup(v)) == NULL) {
		free(a->keys[a->n]);
		return -1;
	}
	a->n++;
	return 0;
}

struct merge {
	const struct overlay	*ov;
	size_t			 next;		/* first op not yet merged */
	struct all		*a;
};

/* Ops sorting before key go in first; key itself unless changed. */
static int
merge_visit(void *arg, const char *key, const struct value *v)
{
	struct merge *m = arg;
	const struct op *op;

	while (m->next < m->ov->n &&
	    strcmp((op = &m->ov->v[m->next])->key, key) < 0) {
		if (op->v != NULL && all_add(m->a, op->key, op->v) == -1)
			return -1;
		m->next++;
	}
	if (m->next < m->ov->n && strcmp(m->ov->v[m->next].key, key) == 0) {
		op = &m->ov->v[m->next++];
		return op->v != NULL ? all_add(m->a, key, op->v) : 0;
	}
	return all_add(m->a, key, v);
}

/* The index of key in a, or -1. */
static long
all_find(const struct all *a, const char *key)
{
	size_t lo = 0, hi = a->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(key, a->keys[mid])) == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
state_list_for_host(const struct rstate *st, const char *host,
    store_visit_fn fn, void *arg, struct error *err)
{
	struct all a = { NULL, NULL, 0, 0 };
	struct merge m = { st->ov, 0, &a };
	char k[STORE_KEY_MAX + STORE_NODE_MAX + 2];
	const char *h;
	size_t i, base;
	long j;
	int rc;

	if (st->ov == NULL)
		return store_list_for_host(st->s, host, st->rev, fn, arg, err);
	error_clear(err);
	if ((rc = store_list(st->s, NULL, st->rev, merge_visit, &m, err)) != 0) {
		if (rc != -1 || err->code == ERR_OK)
			error_set(err, ERR_FAIL, "out of memory");
		all_free(&a);
		return -1;
	}
	for (; m.next < st->ov->n; m.next++)
		if (st->ov->v[m.next].v != NULL && all_add(&a,
		    st->ov->v[m.next].key, st->ov->v[m.next].v) == -1) {
			all_free(&a);
			return error_set(err, ERR_FAIL, "out of memory");
		}
	/* Resolved as store_list_for_host resolves a revision. */
	for (i = 0, rc = 0; i < a.n && rc == 0; i++) {
		base = key_base(a.keys[i], &h);
		if (h == NULL) {
			snprintf(k, sizeof(k), "%s@%s", a.keys[i], host);
			j = all_find(&a, k);
			rc = fn(arg, a.keys[i], a.vals[j >= 0 ? j : (long)i]);
		} else if (strcmp(h, host) == 0) {
			snprintf(k, sizeof(k), "%.*s", (int)base, a.keys[i]);
			if (all_find(&a, k) < 0)
				rc = fn(arg, k, a.vals[i]);
		}
	}
	all_free(&a);
	return rc;
}
