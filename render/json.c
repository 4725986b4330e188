/*
 * json.c - JSON data as a template sees it (json.h), for mustache-render.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_DEPTH_MAX	512		/* nesting in the data file */

static struct tree *
from_json(json_t *j, int depth, struct error *err)
{
	struct tree *t = NULL, *c;
	const char *key;
	json_t *v;
	size_t i;
	char num[64];
	double d;
	int prec;

	if (depth > JSON_DEPTH_MAX) {
		error_set(err, ERR_INPUT, "data nested deeper than %d",
		    JSON_DEPTH_MAX);
		return NULL;
	}
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		if ((t = tree_new_map()) == NULL)
			goto nomem;
		json_object_foreach(j, key, v)
			if ((c = from_json(v, depth + 1, err)) == NULL ||
			    tree_map_set(t, key, c, err) == -1)
				goto fail;
		return t;
	case JSON_ARRAY:
		if ((t = tree_new_list()) == NULL)
			goto nomem;
		json_array_foreach(j, i, v)
			if ((c = from_json(v, depth + 1, err)) == NULL ||
			    tree_list_append(t, c, err) == -1)
				goto fail;
		return t;
	case JSON_STRING:
		t = tree_new_string(json_string_value(j),
		    json_string_length(j));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j));
		t = tree_new_string(num, strlen(num));
		break;
	case JSON_REAL:
		/* The shortest text that reads back the same: 1.5, not 1.50. */
		d = json_real_value(j);
		for (prec = 1; prec <= 17; prec++) {
			snprintf(num, sizeof(num), "%.*g", prec, d);
			if (strtod(num, NULL) == d)
				break;
		}
		t = tree_new_string(num, strlen(num));
		break;
	case JSON_TRUE:
		t = tree_new_bool(1);
		break;
	case JSON_FALSE:
		t = tree_new_bool(0);
		break;
	case JSON_NULL:
		t = tree_new_null();
		break;
	}
	if (t != NULL)
		return t;
nomem:
	error_set(err, ERR_FAIL, "out of memory");
fail:
	tree_free(t);
	return NULL;
}

struct tree *
json_tree(json_t *j, struct error *err)
{
	return from_json(j, 0, err);
}
