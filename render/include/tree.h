/*
 * tree.h - the data a template sees.
 *
 * A tree is null, a bool, a string (any bytes, with a length), a list
 * (ordered) or a map (string keys, kept in insertion order, looked up
 * through a hash index so maps of many thousand children stay fast).
 *
 * Ownership: every tree_new_* result belongs to the caller until it is
 * handed to tree_map_set, tree_list_append or tree_set_path, which take
 * it over, on failure too (they free it then), so a constructor's result
 * can be passed straight in: a NULL child is reported as out of memory.
 * Pointers returned by the accessors stay valid while the tree they
 * point into is neither freed nor changed at that spot.  tree_free
 * frees a whole tree and accepts NULL.
 */
#ifndef CFGSTORE_TREE_H
#define CFGSTORE_TREE_H

#include <stddef.h>

#include "error.h"

struct tree;

#define TREE_PATH_MAX	128	/* components in a tree_set_path path */

enum tree_type {
	TREE_NULL = 0,
	TREE_BOOL,
	TREE_STRING,
	TREE_LIST,
	TREE_MAP,
};

/* Constructors; NULL on ENOMEM.  Strings are copied. */
struct tree	*tree_new_null(void);
struct tree	*tree_new_bool(int b);
struct tree	*tree_new_string(const char *s, size_t len);
struct tree	*tree_new_list(void);
struct tree	*tree_new_map(void);
void		 tree_free(struct tree *t);

/* Accessors.  A NULL tree reads as TREE_NULL, false, empty. */
enum tree_type	 tree_type(const struct tree *t);
const char	*tree_type_name(enum tree_type type);	/* "map", ... */
int		 tree_bool(const struct tree *t);	/* 0 unless a true bool */
/* String bytes, NUL-terminated for convenience (len excludes it). */
const char	*tree_string(const struct tree *t, size_t *len);
/* Children of a list or map, bytes of a string, else 0. */
size_t		 tree_len(const struct tree *t);
/* Child i of a list or map (maps: insertion order); NULL past the end. */
const struct tree *tree_at(const struct tree *t, size_t i);
/* Key of map child i (NUL-terminated); NULL unless a map. */
const char	*tree_key_at(const struct tree *t, size_t i, size_t *len);
/* Map lookups; NULL when t is not a map or lacks the key. */
const struct tree *tree_map_get(const struct tree *t, const char *key);
const struct tree *tree_map_getn(const struct tree *t, const char *key,
		    size_t len);
/* Follows "a.b.c" through nested maps; NULL when any step is missing. */
const struct tree *tree_get_path(const struct tree *t, const char *path);

/*
 * Adds child under key; an existing child of that key is freed and
 * replaced, keeping its place in the order.  Takes ownership of child.
 */
int	tree_map_set(struct tree *map, const char *key, struct tree *child,
	    struct error *err);
/* Appends child to a list.  Takes ownership of child. */
int	tree_list_append(struct tree *list, struct tree *child,
	    struct error *err);
/*
 * Sets root.a.b.c = leaf for path "a.b.c", creating the maps a and a.b
 * when missing (this is how dotted store keys become nested maps).  It
 * fails with ERR_INPUT, leaving root as it was, when a component is
 * empty, when a or a.b already holds something other than a map, or when
 * a.b.c already holds a map (a leaf never silently replaces a subtree).
 * Takes ownership of leaf.
 */
int	tree_set_path(struct tree *root, const char *path, struct tree *leaf,
	    struct error *err);

#endif
