/*
 * mustache.h - the template engine: Mustache, as the spec's core modules
 * define it (interpolation, sections, inverted sections, comments,
 * partials, set delimiters), plus a few extensions for config files:
 *
 *	{{#zones.*}} ... {{/zones.*}}	once per child of the map zones
 *	{{@key}}			that child's key
 *	{{@index}} {{@first}} {{@last}}	position in the innermost list or
 *					map iteration ({{^@last}}, {{/@last}})
 *	{{.name}}			name looked up in the current
 *					context only, never in outer ones
 *
 * docs/TEMPLATES.md is the user's description of the language.
 */
#ifndef CFGSTORE_MUSTACHE_H
#define CFGSTORE_MUSTACHE_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "tree.h"

#define MUSTACHE_PARTIAL_DEPTH	32		/* partials within partials */
#define MUSTACHE_NEST_MAX	100		/* sections within sections */
#define MUSTACHE_OUTPUT_MAX	(256u << 20)	/* bytes one render may add */

/*
 * Finds partial NAME: appends its text to *text and returns 0, returns 1
 * when there is no such partial, or -1 with *err filled.
 */
typedef int mustache_partial_fn(void *arg, const char *name, struct buf *text,
    struct error *err);

struct mustache_opts {
	const char	*name;		/* the template's, for messages */
	int		 html_escape;	/* {{x}} escapes & " < > */
	/*
	 * Strict: an interpolation tag whose name resolves to nothing (or
	 * to a list or map) is an error, and so is a partial that cannot
	 * be found.  Otherwise both render as empty, as the spec has it.
	 * Sections over missing names are false either way.
	 */
	int		 strict;
	mustache_partial_fn *partial;	/* NULL: no partials exist */
	void		*partial_arg;
	/*
	 * A dotted name in data (NULL: none): the template renders as if it
	 * stood inside {{#context}}...{{/context}}, with that map as the
	 * innermost context.  A context that is not a map is an error.
	 */
	const char	*context;
};

/*
 * Renders template tmpl (len bytes, any content) with data and appends
 * the result to out.  o may be NULL: no name, no escaping, not strict,
 * no partials.  Returns 0, or -1 with *err filled and out left as it
 * was; template and data errors are ERR_INPUT, with a one-line message
 * "NAME:LINE: what", e.g. "unbound.conf:12: missing value for 'x'".
 * data is only read; a NULL data is an empty context.
 */
int	mustache_render(const char *tmpl, size_t len, const struct tree *data,
	    const struct mustache_opts *o, struct buf *out, struct error *err);

#endif
