/*
 * test_tree.c - the template data tree: types, order, lookups, paths,
 * ownership on failure.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "tree.h"

static struct tree *
str(const char *s)
{
	return tree_new_string(s, strlen(s));
}

static void
test_scalars(void)
{
	struct tree *t;
	size_t len;

	CHECK(tree_type(NULL) == TREE_NULL);
	CHECK(tree_len(NULL) == 0);
	CHECK(tree_at(NULL, 0) == NULL);
	tree_free(NULL);

	t = tree_new_string("a\0b", 3);
	CHECK(tree_type(t) == TREE_STRING);
	CHECK(tree_string(t, &len) != NULL && len == 3 &&
	    memcmp(tree_string(t, NULL), "a\0b", 4) == 0);
	CHECK(tree_len(t) == 3);
	CHECK(!tree_bool(t));
	tree_free(t);

	t = tree_new_bool(7);
	CHECK(tree_type(t) == TREE_BOOL && tree_bool(t));
	CHECK(tree_string(t, &len) == NULL && len == 0);
	tree_free(t);
	t = tree_new_null();
	CHECK(tree_type(t) == TREE_NULL);
	CHECK_STR(tree_type_name(tree_type(t)), "null");
	tree_free(t);
	CHECK_STR(tree_type_name(TREE_MAP), "map");
}

static void
test_map(void)
{
	struct tree *m = tree_new_map();
	struct error err;
	char key[32];
	size_t len, i;
	int ok;

	CHECK(tree_map_set(m, "z", str("1"), &err) == 0);
	CHECK(tree_map_set(m, "a", str("2"), &err) == 0);
	CHECK(tree_map_set(m, "m", str("3"), &err) == 0);
	/* Replacing keeps the place. */
	CHECK(tree_map_set(m, "z", str("4"), &err) == 0);
	CHECK(tree_len(m) == 3);
	CHECK_STR(tree_key_at(m, 0, &len), "z");
	CHECK(len == 1);
	CHECK_STR(tree_string(tree_at(m, 0), NULL), "4");
	CHECK_STR(tree_key_at(m, 1, NULL), "a");
	CHECK_STR(tree_key_at(m, 2, NULL), "m");
	CHECK(tree_key_at(m, 3, &len) == NULL && len == 0);
	CHECK_STR(tree_string(tree_map_get(m, "a"), NULL), "2");
	CHECK(tree_map_get(m, "b") == NULL);
	CHECK(tree_map_getn(m, "ab", 1) == tree_map_get(m, "a"));
	/* A NULL child is out of memory; a non-map is refused. */
	CHECK(tree_map_set(m, "x", NULL, &err) == -1 && err.code == ERR_FAIL);
	CHECK(tree_map_get(m, "x") == NULL);
	CHECK(tree_map_set(m, "", str(""), &err) == 0);	/* a key too */
	CHECK(tree_map_get(m, "") != NULL);
	tree_free(m);

	/* Many keys: order kept, each found. */
	m = tree_new_map();
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%zu", (i * 7919) % 10000);
		tree_map_set(m, key, str(key), NULL);
	}
	CHECK(tree_len(m) == 10000);
	for (i = 0, ok = 1; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%zu", (i * 7919) % 10000);
		if (strcmp(tree_key_at(m, i, NULL), key) != 0 ||
		    strcmp(tree_string(tree_map_get(m, key), NULL), key) != 0)
			ok = 0;
	}
	CHECK(ok);
	tree_free(m);
}

static void
test_list(void)
{
	struct tree *l = tree_new_list(), *s = str("x");
	struct error err;
	size_t i;

	for (i = 0; i < 100; i++)
		CHECK(tree_list_append(l, str(i % 2 ? "odd" : "even"),
		    &err) == 0);
	CHECK(tree_len(l) == 100);
	CHECK_STR(tree_string(tree_at(l, 99), NULL), "odd");
	CHECK(tree_at(l, 100) == NULL);
	CHECK(tree_key_at(l, 0, NULL) == NULL);
	CHECK(tree_map_get(l, "0") == NULL);
	/* Wrong container: refused, and the child is freed (ASan checks). */
	CHECK(tree_list_append(s, str("y"), &err) == -1 &&
	    err.code == ERR_INPUT);
	CHECK(tree_map_set(l, "k", str("y"), &err) == -1);
	tree_free(s);
	tree_free(l);
}

static void
test_paths(void)
{
	struct tree *r = tree_new_map();
	struct error err;

	CHECK(tree_set_path(r, "unbound.interface", str("10.0.0.1"),
	    &err) == 0);
	CHECK(tree_set_path(r, "unbound.port", str("53"), &err) == 0);
	CHECK(tree_set_path(r, "ntpd.servers", tree_new_list(), &err) == 0);
	CHECK(tree_set_path(r, "a.b.c.d", str("deep"), &err) == 0);
	CHECK_STR(tree_string(tree_get_path(r, "unbound.interface"), NULL),
	    "10.0.0.1");
	CHECK_STR(tree_string(tree_get_path(r, "a.b.c.d"), NULL), "deep");
	CHECK(tree_type(tree_get_path(r, "ntpd.servers")) == TREE_LIST);
	CHECK(tree_get_path(r, "unbound.nope") == NULL);
	CHECK(tree_get_path(r, "unbound.port.x") == NULL);
	CHECK(tree_len(tree_map_get(r, "unbound")) == 2);
	CHECK_STR(tree_key_at(r, 0, NULL), "unbound");
	CHECK_STR(tree_key_at(r, 2, NULL), "a");

	/* A leaf replaces a leaf. */
	CHECK(tree_set_path(r, "unbound.port", str("5353"), &err) == 0);
	CHECK_STR(tree_string(tree_get_path(r, "unbound.port"), NULL),
	    "5353");
	/* A leaf under a leaf, or over a map: refused, nothing changed. */
	CHECK(tree_set_path(r, "unbound.port.x", str("1"), &err) == -1);
	CHECK(err.code == ERR_INPUT);
	CHECK_STR(err.msg, "'unbound.port' is a string, not a map");
	CHECK(tree_set_path(r, "a.b.c.d.e.f", str("1"), &err) == -1);
	CHECK_STR(err.msg, "'a.b.c.d' is a string, not a map");
	CHECK(tree_set_path(r, "unbound", str("x"), &err) == -1);
	CHECK_STR(err.msg, "'unbound' already holds a map");
	CHECK(tree_set_path(r, "a.b", str("x"), &err) == -1);
	CHECK(tree_type(tree_get_path(r, "a.b")) == TREE_MAP);
	CHECK(tree_set_path(r, "ntpd.servers.x", str("1"), &err) == -1);
	CHECK_STR(err.msg, "'ntpd.servers' is a list, not a map");
	/* Bad paths. */
	CHECK(tree_set_path(r, "", str("1"), &err) == -1);
	CHECK(tree_set_path(r, "a..b", str("1"), &err) == -1);
	CHECK_STR(err.msg, "bad path 'a..b'");
	CHECK(tree_set_path(r, ".a", str("1"), &err) == -1);
	CHECK(tree_set_path(r, "a.", str("1"), &err) == -1);
	CHECK(tree_set_path(r, "x", NULL, &err) == -1 &&
	    err.code == ERR_FAIL);
	CHECK(tree_len(r) == 3);
	/* Only maps have paths. */
	{
		struct tree *l = tree_new_list();

		CHECK(tree_set_path(l, "a", str("1"), &err) == -1);
		tree_free(l);
	}
	tree_free(r);
}

/* Freeing never recurses: a million levels are fine. */
static void
test_deep(void)
{
	struct tree *root = tree_new_list(), *cur = root, *n;
	size_t i;

	for (i = 0; i < 1000000; i++) {
		n = i % 2 ? tree_new_list() : tree_new_map();
		if (tree_type(cur) == TREE_LIST)
			tree_list_append(cur, n, NULL);
		else
			tree_map_set(cur, "k", n, NULL);
		cur = n;
	}
	tree_free(root);
	CHECK(1);
}

int
main(void)
{
	test_scalars();
	test_map();
	test_list();
	test_paths();
	test_deep();
	return check_done();
}
