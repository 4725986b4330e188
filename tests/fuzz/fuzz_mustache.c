/*
 * fuzz_mustache.c - the template engine (render/mustache.c): templates
 * are values in the store, written by whoever may commit, and rendered as
 * root on every node.
 *
 * The first byte sets the options (bit 0 HTML escaping, bit 1 strict,
 * bit 2 rendered in the context "carp.carp1"); the rest up to a NUL byte
 * is the template, and what follows it is the text of every partial whose
 * name starts with "p" (others do not exist).  The data is the guide's
 * site as the renderer builds it for fw1.  See fuzz.h for how harnesses
 * are built and run.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifest.h"
#include "mustache.h"

static struct tree *data;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct error err = { 0 };
	struct store *s;
	char *warning = NULL;

	(void)argc;
	(void)argv;
	s = fuzz_guide_store();
	if (manifest_data(s, "fw1", 0, &data, &warning, &err) == -1)
		abort();
	free(warning);
	store_close(s);
	return 0;
}

struct partial {
	const char	*p;
	size_t		 len;
};

static int
partial(void *arg, const char *name, struct buf *text, struct error *err)
{
	const struct partial *pa = arg;

	(void)err;
	if (name[0] != 'p' || pa->p == NULL)
		return 1;
	return buf_append(text, pa->p, pa->len) == -1 ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t size)
{
	struct mustache_opts o = { 0 };
	struct error err = { 0 };
	struct buf out = { 0 };
	struct partial pa = { NULL, 0 };
	const char *tmpl = (const char *)d + 1, *nul;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	if ((nul = memchr(tmpl, '\0', len)) != NULL) {
		pa.p = nul + 1;
		pa.len = len - (size_t)(nul + 1 - tmpl);
		len = (size_t)(nul - tmpl);
	}
	o.name = "fuzz";
	o.html_escape = d[0] & 1;
	o.strict = (d[0] & 2) != 0;
	o.partial = partial;
	o.partial_arg = &pa;
	o.context = d[0] & 4 ? "carp.carp1" : NULL;
	if (mustache_render(tmpl, len, data, &o, &out, &err) == -1) {
		if (out.len != 0 || err.msg[0] == '\0' ||
		    strchr(err.msg, '\n') != NULL)
			abort();	/* one line, and nothing half-made */
	}
	buf_free(&out);
	return 0;
}
