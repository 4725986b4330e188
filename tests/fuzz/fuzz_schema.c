/*
 * fuzz_schema.c - schema records (store/schema.c): the type specs that
 * arrive in commits, the values checked against them, and the shipped
 * schema file's lines.
 *
 * The first byte picks the way in: 0 schema_spec_check and what the spec
 * says in words, 1 schema_value_check of "SPEC NUL VALUE" (a string, or
 * a list when the value holds more NUL-separated items), 2 the lines of a
 * schema file.  A refusal is always ERR_SCHEMA with a message; a spec
 * refused is never used to type a value.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "store.h"

static void
spec_in(const char *spec)
{
	struct error err = { 0 };
	char rule[400];
	const char *what;

	schema_spec_rule(spec, rule, sizeof(rule));
	what = schema_spec_description(spec);
	if (what[0] != '\0' && (what < spec || what > spec + strlen(spec)))
		abort();	/* the description lies outside the spec */
	if (schema_spec_check(spec, &err) == 0) {
		if (rule[0] == '\0')
			abort();	/* a type always has its rule in words */
	} else if (err.code != ERR_SCHEMA || err.msg[0] == '\0' ||
	    rule[0] != '\0')
		abort();
}

static void
value_in(const char *spec, const char *items, size_t len)
{
	struct error err = { 0 };
	const char *list[64];
	struct value *v = NULL;
	size_t n = 1;
	int fits;

	list[0] = items;
	for (size_t i = 0; i < len && n < 64; i++)
		if (items[i] == '\0')
			list[n++] = items + i + 1;
	if ((n == 1 ? value_string(items, strlen(items), &v, &err) :
	    value_list(list, n, &v, &err)) == -1)
		return;
	fits = schema_value_check(spec, "k.x", v, &err) == 0;
	if (!fits && (err.code != ERR_SCHEMA || err.msg[0] == '\0' ||
	    strchr(err.msg, '\n') != NULL))
		abort();	/* a refusal is one line */
	if (fits && schema_spec_check(spec, &err) == -1)
		abort();	/* typed by what is not a type */
	value_free(v);
}

static void
file_in(const char *text, size_t len)
{
	struct error err = { 0 };
	struct change *c = change_new();

	if (c == NULL)
		return;
	if (schema_file_add(c, text, len, &err) == -1 &&
	    (err.code != ERR_SCHEMA || err.msg[0] == '\0'))
		abort();
	change_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	size_t len, slen;

	if (size < 1 || size > 65536)
		return 0;
	len = size - 1;
	/* NUL-terminated, with the bytes as they came. */
	if ((text = malloc(len + 2)) == NULL)
		return 0;
	memcpy(text, data + 1, len);
	text[len] = text[len + 1] = '\0';
	switch (data[0]) {
	case 0:
		spec_in(text);
		break;
	case 1:
		slen = strlen(text);
		value_in(text, text + (slen < len ? slen + 1 : len),
		    slen < len ? len - slen - 1 : 0);
		break;
	case 2:
		file_in(text, len);
		break;
	}
	free(text);
	return 0;
}
