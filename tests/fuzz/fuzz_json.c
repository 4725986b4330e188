/*
 * fuzz_json.c - the JSON data file of mustache-render (render/json.c):
 * parsed with jansson as mustache-render does, turned into a template's
 * tree, and rendered through a template that walks all of it.  See
 * fuzz.h for how harnesses are built and run.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "json.h"
#include "mustache.h"

/* Every top-level name, its children, and theirs, as text. */
static const char walk[] =
    "{{#.}}{{@key}}={{.}};{{#.}}{{@index}}{{.}}{{#.}}[{{.}}]{{/.}}{{/.}}"
    "{{/.}}{{a.b.c}}{{^x}}!{{/x}}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mustache_opts o = { 0 };
	struct error err = { 0 };
	struct buf out = { 0 };
	json_error_t jerr;
	struct tree *t;
	json_t *j;

	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    &jerr)) == NULL)
		return 0;
	t = json_tree(j, &err);
	json_decref(j);
	if (t == NULL) {
		if (err.msg[0] == '\0')
			abort();
		return 0;
	}
	o.name = "walk";
	o.html_escape = 1;
	(void)mustache_render(walk, sizeof(walk) - 1, t, &o, &out, &err);
	buf_free(&out);
	tree_free(t);
	return 0;
}
