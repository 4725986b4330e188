/*
 * tree.c - the data a template sees: null, bool, string, list, map.
 *
 * A map keeps its entries in an array in insertion order and finds them
 * through an open-addressing hash index of entry numbers, so building
 * and searching a map of n children costs O(n), not O(n^2).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tree.h"

struct entry {
	char		*key;
	size_t		 keylen;
	uint32_t	 hash;
	struct tree	*val;
};

struct tree {
	enum tree_type	 type;
	struct tree	*next_free;	/* tree_free's work list */
	union {
		int	 b;
		struct {
			char	*p;
			size_t	 len;
		} s;
		struct {
			struct tree	**v;
			size_t		  n, cap;
		} list;
		struct {
			struct entry	*v;
			size_t		 n, cap;
			size_t		*idx;	/* entry number + 1; 0 is free */
			size_t		 idxcap;	/* a power of two */
		} map;
	} u;
};

static struct tree *
tree_alloc(enum tree_type type)
{
	struct tree *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->type = type;
	return t;
}

struct tree *
tree_new_null(void)
{
	return tree_alloc(TREE_NULL);
}

struct tree *
tree_new_bool(int b)
{
	struct tree *t;

	if ((t = tree_alloc(TREE_BOOL)) != NULL)
		t->u.b = b != 0;
	return t;
}

struct tree *
tree_new_string(const char *s, size_t len)
{
	struct tree *t;

	if (len == SIZE_MAX)
		return NULL;
	if ((t = tree_alloc(TREE_STRING)) == NULL)
		return NULL;
	if ((t->u.s.p = malloc(len + 1)) == NULL) {
		free(t);
		return NULL;
	}
	if (len > 0)
		memcpy(t->u.s.p, s, len);
	t->u.s.p[len] = '\0';
	t->u.s.len = len;
	return t;
}

struct tree *
tree_new_list(void)
{
	return tree_alloc(TREE_LIST);
}

struct tree *
tree_new_map(void)
{
	return tree_alloc(TREE_MAP);
}

/*
 * Iterative, so that no depth of nesting can overflow the C stack: the
 * nodes still to free are chained through their next_free field.
 */
void
tree_free(struct tree *t)
{
	struct tree *todo = t, *c;
	size_t i;

	while ((t = todo) != NULL) {
		todo = t->next_free;
		switch (t->type) {
		case TREE_STRING:
			free(t->u.s.p);
			break;
		case TREE_LIST:
			for (i = 0; i < t->u.list.n; i++) {
				c = t->u.list.v[i];
				c->next_free = todo;
				todo = c;
			}
			free(t->u.list.v);
			break;
		case TREE_MAP:
			for (i = 0; i < t->u.map.n; i++) {
				free(t->u.map.v[i].key);
				c = t->u.map.v[i].val;
				c->next_free = todo;
				todo = c;
			}
			free(t->u.map.v);
			free(t->u.map.idx);
			break;
		default:
			break;
		}
		free(t);
	}
}

enum tree_type
tree_type(const struct tree *t)
{
	return t == NULL ? TREE_NULL : t->type;
}

const char *
tree_type_name(enum tree_type type)
{
	switch (type) {
	case TREE_NULL:
		return "null";
	case TREE_BOOL:
		return "bool";
	case TREE_STRING:
		return "string";
	case TREE_LIST:
		return "list";
	case TREE_MAP:
		return "map";
	}
	return "?";
}

int
tree_bool(const struct tree *t)
{
	return t != NULL && t->type == TREE_BOOL && t->u.b;
}

const char *
tree_string(const struct tree *t, size_t *len)
{
	if (t == NULL || t->type != TREE_STRING) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = t->u.s.len;
	return t->u.s.p;
}

size_t
tree_len(const struct tree *t)
{
	if (t == NULL)
		return 0;
	switch (t->type) {
	case TREE_STRING:
		return t->u.s.len;
	case TREE_LIST:
		return t->u.list.n;
	case TREE_MAP:
		return t->u.map.n;
	default:
		return 0;
	}
}

const struct tree *
tree_at(const struct tree *t, size_t i)
{
	if (t == NULL)
		return NULL;
	if (t->type == TREE_LIST && i < t->u.list.n)
		return t->u.list.v[i];
	if (t->type == TREE_MAP && i < t->u.map.n)
		return t->u.map.v[i].val;
	return NULL;
}

const char *
tree_key_at(const struct tree *t, size_t i, size_t *len)
{
	if (t == NULL || t->type != TREE_MAP || i >= t->u.map.n) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = t->u.map.v[i].keylen;
	return t->u.map.v[i].key;
}

/* FNV-1a: short keys, no adversary who gains from collisions here. */
static uint32_t
hash_key(const char *key, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

/* Slot of key in the index: its entry's, or the free one to use. */
static size_t
map_slot(const struct tree *t, const char *key, size_t len, uint32_t h)
{
	size_t mask = t->u.map.idxcap - 1, i = h & mask, e;
	const struct entry *ent;

	for (;;) {
		if ((e = t->u.map.idx[i]) == 0)
			return i;
		ent = &t->u.map.v[e - 1];
		if (ent->hash == h && ent->keylen == len &&
		    memcmp(ent->key, key, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static struct entry *
map_find(const struct tree *t, const char *key, size_t len)
{
	size_t e;

	if (t == NULL || t->type != TREE_MAP || t->u.map.idxcap == 0)
		return NULL;
	e = t->u.map.idx[map_slot(t, key, len, hash_key(key, len))];
	return e == 0 ? NULL : &t->u.map.v[e - 1];
}

const struct tree *
tree_map_getn(const struct tree *t, const char *key, size_t len)
{
	struct entry *ent = map_find(t, key, len);

	return ent == NULL ? NULL : ent->val;
}

const struct tree *
tree_map_get(const struct tree *t, const char *key)
{
	return tree_map_getn(t, key, strlen(key));
}

const struct tree *
tree_get_path(const struct tree *t, const char *path)
{
	const char *dot;

	for (;;) {
		dot = strchr(path, '.');
		if (dot == NULL)
			return tree_map_get(t, path);
		if ((t = tree_map_getn(t, path, (size_t)(dot - path))) == NULL)
			return NULL;
		path = dot + 1;
	}
}

/* Makes room for one more entry: array and index (kept under 1/2 full). */
static int
map_grow(struct tree *t)
{
	struct entry *v;
	size_t cap, *idx, i;

	if (t->u.map.n == t->u.map.cap) {
		cap = t->u.map.cap ? t->u.map.cap * 2 : 8;
		if (cap > SIZE_MAX / 2 / sizeof(*v))
			return -1;
		if ((v = realloc(t->u.map.v, cap * sizeof(*v))) == NULL)
			return -1;
		t->u.map.v = v;
		t->u.map.cap = cap;
	}
	if ((t->u.map.n + 1) * 2 <= t->u.map.idxcap)
		return 0;
	cap = t->u.map.idxcap ? t->u.map.idxcap * 2 : 16;
	if (cap > SIZE_MAX / sizeof(*idx))
		return -1;
	if ((idx = calloc(cap, sizeof(*idx))) == NULL)
		return -1;
	free(t->u.map.idx);
	t->u.map.idx = idx;
	t->u.map.idxcap = cap;
	for (i = 0; i < t->u.map.n; i++)
		idx[map_slot(t, t->u.map.v[i].key, t->u.map.v[i].keylen,
		    t->u.map.v[i].hash)] = i + 1;
	return 0;
}

/* tree_map_set with a counted key (which may hold any bytes but NUL). */
static int
map_setn(struct tree *t, const char *key, size_t len, struct tree *child,
    struct error *err)
{
	struct entry *ent;
	size_t slot;
	uint32_t h;
	char *k = NULL;

	if (child == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	if (t == NULL || t->type != TREE_MAP) {
		tree_free(child);
		return error_set(err, ERR_INPUT, "not a map");
	}
	if ((ent = map_find(t, key, len)) != NULL) {
		tree_free(ent->val);
		ent->val = child;
		return 0;
	}
	if ((k = malloc(len + 1)) == NULL || map_grow(t) == -1) {
		free(k);
		tree_free(child);
		return error_set(err, ERR_FAIL, "out of memory");
	}
	memcpy(k, key, len);
	k[len] = '\0';
	h = hash_key(key, len);
	slot = map_slot(t, key, len, h);
	ent = &t->u.map.v[t->u.map.n++];
	ent->key = k;
	ent->keylen = len;
	ent->hash = h;
	ent->val = child;
	t->u.map.idx[slot] = t->u.map.n;
	return 0;
}

int
tree_map_set(struct tree *t, const char *key, struct tree *child,
    struct error *err)
{
	return map_setn(t, key, strlen(key), child, err);
}

int
tree_list_append(struct tree *t, struct tree *child, struct error *err)
{
	struct tree **v;
	size_t cap;

	if (child == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	if (t == NULL || t->type != TREE_LIST) {
		tree_free(child);
		return error_set(err, ERR_INPUT, "not a list");
	}
	if (t->u.list.n == t->u.list.cap) {
		cap = t->u.list.cap ? t->u.list.cap * 2 : 8;
		if (cap > SIZE_MAX / 2 / sizeof(*v) ||
		    (v = realloc(t->u.list.v, cap * sizeof(*v))) == NULL) {
			tree_free(child);
			return error_set(err, ERR_FAIL, "out of memory");
		}
		t->u.list.v = v;
		t->u.list.cap = cap;
	}
	t->u.list.v[t->u.list.n++] = child;
	return 0;
}

/*
 * Walks the existing maps first and checks for conflicts, then builds the
 * missing part as a detached chain and attaches it with one map_setn, so
 * a failure leaves root as it was.
 */
int
tree_set_path(struct tree *root, const char *path, struct tree *leaf,
    struct error *err)
{
	struct tree *at = root, *chain, *m;
	struct entry *ent;
	const char *p, *dot, *comp[TREE_PATH_MAX];
	size_t len[TREE_PATH_MAX], n = 0, i;

	if (leaf == NULL)
		return error_set(err, ERR_FAIL, "out of memory");
	for (p = path;; p = dot + 1) {
		dot = strchr(p, '.');
		if (n == TREE_PATH_MAX || p == dot || *p == '\0') {
			tree_free(leaf);
			return error_set(err, ERR_INPUT, "bad path '%s'", path);
		}
		comp[n] = p;
		len[n++] = dot ? (size_t)(dot - p) : strlen(p);
		if (dot == NULL)
			break;
	}
	if (tree_type(root) != TREE_MAP) {
		tree_free(leaf);
		return error_set(err, ERR_INPUT, "'%s': root is not a map",
		    path);
	}

	/* Descend through the maps that exist. */
	for (i = 0; i < n; i++) {
		if ((ent = map_find(at, comp[i], len[i])) == NULL)
			break;
		if (i + 1 == n) {
			if (ent->val->type == TREE_MAP) {
				tree_free(leaf);
				return error_set(err, ERR_INPUT,
				    "'%s' already holds a map", path);
			}
			break;	/* a leaf replaces a leaf */
		}
		if (ent->val->type != TREE_MAP) {
			tree_free(leaf);
			return error_set(err, ERR_INPUT, "'%.*s' is a %s, "
			    "not a map", (int)(comp[i] + len[i] - path), path,
			    tree_type_name(ent->val->type));
		}
		at = ent->val;
	}

	/* Wrap the leaf in new maps for components i+1 .. n-1. */
	chain = leaf;
	while (--n > i) {
		if ((m = tree_new_map()) == NULL) {
			tree_free(chain);
			return error_set(err, ERR_FAIL, "out of memory");
		}
		if (map_setn(m, comp[n], len[n], chain, err) == -1) {
			tree_free(m);
			return -1;
		}
		chain = m;
	}
	return map_setn(at, comp[i], len[i], chain, err);
}
