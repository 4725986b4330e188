/*
 * mustache.c - the template engine.
 *
 * A template is parsed once into a flat array of nodes (text runs and
 * tags; a section records where its children end), then rendered by
 * walking that array against a stack of contexts.  Parsing is a loop
 * with an explicit section stack; rendering recurses once per open
 * section or partial, and both are capped, so no template can run the C
 * stack out.  Partials are parsed on first use and kept for the rest of
 * the render, keyed by name and indentation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "mustache.h"
#include "tree.h"

#define RENDER_DEPTH_MAX	256	/* sections and partials, all told */
#define RENDER_STEPS_MAX	100000000	/* nodes visited: no endless work */

enum ntype {
	N_TEXT,
	N_VAR,		/* {{name}}: escaped when html_escape */
	N_RAW,		/* {{{name}}}, {{&name}} */
	N_SECTION,	/* {{#name}} */
	N_INVERTED,	/* {{^name}} */
	N_PARTIAL,	/* {{>name}} */
};

/* How a tag's name resolves. */
enum nkind {
	K_NAME,		/* a.b.c: a searched up the context stack */
	K_LOCAL,	/* .a.b: a in the current context only */
	K_DOT,		/* . : the current context */
	K_AT,		/* @key, @index, @first, @last */
};

enum at { AT_KEY, AT_INDEX, AT_FIRST, AT_LAST };

struct node {
	enum ntype	 type;
	const char	*s;		/* text; or the tag's name as written */
	size_t		 len;
	size_t		 line;		/* the tag's line */
	enum nkind	 kind;
	const char	*path;		/* the name to look up, without . or .* */
	size_t		 pathlen;
	int		 star;		/* name.* : iterate a map's children */
	enum at		 at;
	size_t		 end;		/* sections: index past the last child */
	const char	*indent;	/* standalone partials */
	size_t		 indentlen;
};

struct tmpl {
	char		*name;
	char		*src;		/* owned source (partials), or NULL */
	struct node	*v;
	size_t		 n, cap;
};

struct frame {
	const struct tree *t;		/* the context */
	int		 iter;		/* an element of a list or map */
	size_t		 index, count;
	const char	*key;		/* map children only */
	size_t		 keylen;
};

struct partial {
	char		*name;
	char		*indent;
	size_t		 indentlen;
	struct tmpl	*t;
};

struct render {
	const struct mustache_opts *o;
	struct buf	*out;
	size_t		 start;		/* out->len when we began */
	struct error	*err;
	struct frame	*stack;
	size_t		 n, cap;
	struct partial	*parts;
	size_t		 nparts, capparts;
	int		 partial_depth;
	int		 depth;
	size_t		 steps;
	/* The inverted sections being rendered, innermost last. */
	const struct node *inverted[RENDER_DEPTH_MAX];
	size_t		 ninverted;
};

/* A resolved name: a tree, or a value the engine made up (@-names). */
struct val {
	enum { V_MISSING, V_TREE, V_BOOL, V_STR } kind;
	const struct tree *t;
	int		 b;
	const char	*s;
	size_t		 len;
	char		 num[24];
};

static int	render_nodes(struct render *, const struct tmpl *, size_t,
		    size_t);
struct parser;
static int	perr(struct parser *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	rerr(struct render *, const struct tmpl *, const struct node *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

/* ---- parsing --------------------------------------------------------- */

struct parser {
	const char	*src;
	size_t		 len;
	struct tmpl	*t;
	struct error	*err;
	const char	*otag, *ctag;	/* current delimiters */
	size_t		 olen, clen;
	size_t		 scan;		/* line and linestart are as of here */
	size_t		 line;
	size_t		 linestart;
	size_t		 open[MUSTACHE_NEST_MAX];	/* open sections */
	size_t		 nopen;
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/* Moves the line count forward to position to. */
static void
advance(struct parser *p, size_t to)
{
	const char *nl;

	while (p->scan < to &&
	    (nl = memchr(p->src + p->scan, '\n', to - p->scan)) != NULL) {
		p->line++;
		p->scan = (size_t)(nl - p->src) + 1;
		p->linestart = p->scan;
	}
	p->scan = to;
}

static struct node *
add_node(struct parser *p, enum ntype type)
{
	struct node *v;
	size_t cap;

	if (p->t->n == p->t->cap) {
		cap = p->t->cap ? p->t->cap * 2 : 32;
		if (cap > SIZE_MAX / 2 / sizeof(*v) ||
		    (v = realloc(p->t->v, cap * sizeof(*v))) == NULL) {
			error_set(p->err, ERR_FAIL, "out of memory");
			return NULL;
		}
		p->t->v = v;
		p->t->cap = cap;
	}
	v = &p->t->v[p->t->n++];
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

/*
 * The line of position pos, counted from where the parser's count stands:
 * a text runs from the end of one tag to the next, so it may start
 * lines before the position the count has reached.
 */
static size_t
line_of(const struct parser *p, size_t pos)
{
	size_t line = p->line, i;

	if (pos <= p->scan) {
		for (i = pos; i < p->scan; i++)
			line -= p->src[i] == '\n';
	} else {
		for (i = p->scan; i < pos; i++)
			line += p->src[i] == '\n';
	}
	return line;
}

static int
add_text(struct parser *p, size_t from, size_t to)
{
	struct node *nd;

	if (to <= from)
		return 0;
	if ((nd = add_node(p, N_TEXT)) == NULL)
		return -1;
	nd->s = p->src + from;
	nd->len = to - from;
	nd->line = line_of(p, from);
	return 0;
}

/*
 * Sets "NAME:LINE: message" as the error.  Names and tags quoted in it
 * come from the template, so control characters become '?': the message
 * stays one line.
 */
static int
verr(struct error *err, const char *name, size_t line, const char *fmt,
    va_list ap)
{
	char msg[ERROR_MSG_MAX];
	size_t i;
	int n;

	n = snprintf(msg, sizeof(msg), "%s:%zu: ", name, line);
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	return error_set(err, ERR_INPUT, "%s", msg);
}

static int
perr(struct parser *p, size_t line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(p->err, p->t->name, line, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Checks a tag's name and records how it resolves: ".", ".*", "@key",
 * "@index", "@first", "@last", or dotted components, optionally with a
 * leading "." (current context only) and, in sections, a trailing ".*".
 */
static int
parse_name(struct parser *p, struct node *nd)
{
	static const char *ats[] = { "@key", "@index", "@first", "@last" };
	const char *s = nd->s, *c;
	size_t len = nd->len, i;

	for (i = 0; i < len; i++)
		if (is_space(s[i]) || s[i] == '\0' || s[i] == '{' ||
		    s[i] == '}')
			return perr(p, nd->line, "bad name '%.*s'", (int)len, s);
	if (len == 0)
		return perr(p, nd->line, "empty tag");
	if (nd->type == N_PARTIAL && s[0] == '*')	/* dynamic names */
		return perr(p, nd->line, "unsupported tag '{{>%.*s}}'",
		    (int)len, s);
	if (nd->type == N_PARTIAL)
		return 0;
	if (s[0] == '@') {
		for (i = 0; i < sizeof(ats) / sizeof(ats[0]); i++)
			if (strlen(ats[i]) == len &&
			    memcmp(ats[i], s, len) == 0) {
				nd->kind = K_AT;
				nd->at = (enum at)i;
				return 0;
			}
		return perr(p, nd->line, "unknown name '%.*s'", (int)len, s);
	}
	if (len >= 2 && s[len - 2] == '.' && s[len - 1] == '*') {
		if (nd->type != N_SECTION && nd->type != N_INVERTED)
			return perr(p, nd->line, "'%.*s' can only open a "
			    "section", (int)len, s);
		nd->star = 1;
		len -= 2;
		if (len == 0) {		/* ".*": the current context's */
			nd->kind = K_DOT;
			return 0;
		}
	}
	if (len == 1 && s[0] == '.') {
		if (nd->star)
			return perr(p, nd->line, "bad name '%.*s'",
			    (int)nd->len, nd->s);
		nd->kind = K_DOT;
		return 0;
	}
	nd->kind = K_NAME;
	if (s[0] == '.') {
		nd->kind = K_LOCAL;
		s++;
		len--;
	}
	nd->path = s;
	nd->pathlen = len;
	/* Components: non-empty, no '*' or '@' tricks inside. */
	for (c = s, i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (s + i == c)
				return perr(p, nd->line, "bad name '%.*s'",
				    (int)nd->len, nd->s);
			c = s + i + 1;
		} else if (s[i] == '*' || (s[i] == '@' && s + i == c))
			return perr(p, nd->line, "bad name '%.*s'",
			    (int)nd->len, nd->s);
	}
	return 0;
}

/* {{=<% %>=}}: the new delimiters are in [a, b). */
static int
set_delimiters(struct parser *p, size_t a, size_t b, size_t line)
{
	size_t o, ol, c, cl;

	while (a < b && is_space(p->src[a]))
		a++;
	while (b > a && is_space(p->src[b - 1]))
		b--;
	for (o = a, ol = 0; a < b && !is_space(p->src[a]); a++)
		ol++;
	while (a < b && is_space(p->src[a]))
		a++;
	for (c = a, cl = 0; a < b && !is_space(p->src[a]); a++)
		cl++;
	if (ol == 0 || cl == 0 || a != b ||
	    memchr(p->src + o, '=', ol) != NULL ||
	    memchr(p->src + c, '=', cl) != NULL)
		return perr(p, line, "bad set-delimiters tag");
	p->otag = p->src + o;
	p->olen = ol;
	p->ctag = p->src + c;
	p->clen = cl;
	return 0;
}

/* memmem(3), which not every libc declares by default. */
static const char *
find(const char *h, size_t hlen, const char *n, size_t nlen)
{
	const char *end = h + hlen, *c;

	while ((size_t)(end - h) >= nlen &&
	    (c = memchr(h, n[0], (size_t)(end - h) - nlen + 1)) != NULL) {
		if (memcmp(c, n, nlen) == 0)
			return c;
		h = c + 1;
	}
	return NULL;
}

/* Finds "pre" followed by the close delimiter, from position from. */
static const char *
find_close(const struct parser *p, size_t from, char pre)
{
	const char *q = p->src + from, *end = p->src + p->len;

	while ((q = find(q, (size_t)(end - q), p->ctag, p->clen)) != NULL) {
		if (pre == '\0')
			return q;
		if (q > p->src + from && q[-1] == pre)
			return q - 1;
		q++;
	}
	return NULL;
}

static int
open_section(struct parser *p, struct node *nd)
{
	if (p->nopen == MUSTACHE_NEST_MAX)
		return perr(p, nd->line, "sections nested deeper than %d",
		    MUSTACHE_NEST_MAX);
	p->open[p->nopen++] = p->t->n - 1;
	return 0;
}

static int
close_section(struct parser *p, const char *s, size_t len, size_t line)
{
	struct node *o;

	if (p->nopen == 0)
		return perr(p, line, "unexpected close tag '%.*s'",
		    (int)len, s);
	o = &p->t->v[p->open[--p->nopen]];
	if (o->len != len || memcmp(o->s, s, len) != 0)
		return perr(p, line, "mismatched close tag '%.*s' for section "
		    "'%.*s' (line %zu)", (int)len, s, (int)o->len, o->s,
		    o->line);
	o->end = p->t->n;
	return 0;
}

/*
 * One tag at position at (its open delimiter).  *tstart is where the
 * pending text began; on return it is where the next text begins.
 */
static int
parse_tag(struct parser *p, size_t at, size_t *tstart)
{
	const char *s, *close;
	size_t a, b, q, line, e, ls;
	struct node *nd;
	char sigil;
	int standalone_kind, standalone = 0;

	advance(p, at);
	line = p->line;
	a = at + p->olen;
	sigil = a < p->len ? p->src[a] : '\0';
	if (sigil == '{')
		close = find_close(p, a + 1, '}');
	else if (sigil == '=')
		close = find_close(p, a + 1, '=');
	else
		close = find_close(p, a, '\0');
	if (close == NULL)
		return perr(p, line, "unclosed tag");
	b = (size_t)(close - p->src);
	q = b + p->clen + (sigil == '{' || sigil == '=');

	/* The sigil may be padded: {{ # name }}. */
	if (sigil != '{' && sigil != '=') {
		while (a < b && is_blank(p->src[a]))
			a++;
		sigil = a < b ? p->src[a] : '\0';
	}
	switch (sigil) {
	case '{': case '&': case '#': case '^': case '/': case '!':
	case '>': case '=':
		a++;
		standalone_kind = sigil != '{' && sigil != '&';
		break;
	case '<': case '$':
		return perr(p, line, "unsupported tag '%.*s'",
		    (int)(q - at), p->src + at);
	default:
		standalone_kind = 0;
		break;
	}
	/* Standalone: only blanks around it on its line(s). */
	if (standalone_kind) {
		for (ls = p->linestart; ls < at && is_blank(p->src[ls]); ls++)
			;
		for (e = q; e < p->len && is_blank(p->src[e]); e++)
			;
		if (ls == at && p->linestart >= *tstart) {
			if (e == p->len)
				standalone = 1;
			else if (p->src[e] == '\n')
				standalone = 1, e++;
			else if (p->src[e] == '\r' && e + 1 < p->len &&
			    p->src[e + 1] == '\n')
				standalone = 1, e += 2;
		}
	}
	if (add_text(p, *tstart, standalone ? p->linestart : at) == -1)
		return -1;
	ls = p->linestart;
	advance(p, q);
	*tstart = standalone ? e : q;

	s = p->src + a;
	while (b > a && is_space(p->src[b - 1]))
		b--;
	while (a < b && is_space(*s))
		s++, a++;

	switch (sigil) {
	case '!':
		return 0;
	case '=':
		if (b > a && p->src[b - 1] == '=')	/* {{ = a b = }} */
			b--;
		return set_delimiters(p, a, b, line);
	case '/':
		return close_section(p, s, b - a, line);
	default:
		break;
	}
	if ((nd = add_node(p, sigil == '#' ? N_SECTION : sigil == '^' ?
	    N_INVERTED : sigil == '>' ? N_PARTIAL : sigil == '{' ||
	    sigil == '&' ? N_RAW : N_VAR)) == NULL)
		return -1;
	nd->s = s;
	nd->len = b - a;
	nd->line = line;
	if (nd->type == N_PARTIAL) {
		nd->indent = p->src + ls;	/* never NULL, for memcmp */
		nd->indentlen = standalone ? at - ls : 0;
	}
	if (parse_name(p, nd) == -1)
		return -1;
	if (nd->type == N_SECTION || nd->type == N_INVERTED)
		return open_section(p, nd);
	return 0;
}

static void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->src);
	free(t->v);
	free(t);
}

/* Parses src (which must outlive the result unless it is t->src). */
static struct tmpl *
tmpl_parse(const char *name, char *owned, const char *src, size_t len,
    struct error *err)
{
	struct parser p;
	struct tmpl *t;
	const char *o;
	size_t tstart = 0, pos = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->name = strdup(name)) == NULL) {
		free(t);
		free(owned);
		error_set(err, ERR_FAIL, "out of memory");
		return NULL;
	}
	t->src = owned;
	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = len;
	p.t = t;
	p.err = err;
	p.otag = "{{";
	p.ctag = "}}";
	p.olen = p.clen = 2;
	p.line = 1;

	while ((o = find(src + pos, len - pos, p.otag, p.olen)) != NULL) {
		if (parse_tag(&p, (size_t)(o - src), &tstart) == -1)
			goto fail;
		pos = tstart > p.scan ? tstart : p.scan;
	}
	if (add_text(&p, tstart, len) == -1)
		goto fail;
	if (p.nopen > 0) {
		struct node *nd = &t->v[p.open[p.nopen - 1]];

		perr(&p, nd->line, "unclosed section '%.*s'",
		    (int)nd->len, nd->s);
		goto fail;
	}
	return t;
fail:
	tmpl_free(t);
	return NULL;
}

/* ---- name resolution ------------------------------------------------- */

/* Follows the components of path[0..len) from t. */
static const struct tree *
walk(const struct tree *t, const char *path, size_t len)
{
	const char *dot;
	size_t n;

	for (;;) {
		dot = memchr(path, '.', len);
		n = dot ? (size_t)(dot - path) : len;
		if ((t = tree_map_getn(t, path, n)) == NULL || dot == NULL)
			return t;
		path += n + 1;
		len -= n + 1;
	}
}

static void
resolve(struct render *r, const struct node *nd, struct val *v)
{
	const struct frame *f;
	const char *dot;
	size_t i, n;

	memset(v, 0, sizeof(*v));
	v->kind = V_MISSING;
	switch (nd->kind) {
	case K_DOT:
		v->kind = V_TREE;
		v->t = r->stack[r->n - 1].t;
		return;
	case K_LOCAL:
		if ((v->t = walk(r->stack[r->n - 1].t, nd->path,
		    nd->pathlen)) != NULL)
			v->kind = V_TREE;
		return;
	case K_AT:
		for (i = r->n; i-- > 0;) {
			f = &r->stack[i];
			if (!f->iter || (nd->at == AT_KEY && f->key == NULL))
				continue;
			switch (nd->at) {
			case AT_KEY:
				v->kind = V_STR;
				v->s = f->key;
				v->len = f->keylen;
				break;
			case AT_INDEX:
				v->kind = V_STR;
				v->len = (size_t)snprintf(v->num,
				    sizeof(v->num), "%zu", f->index);
				v->s = v->num;
				break;
			case AT_FIRST:
				v->kind = V_BOOL;
				v->b = f->index == 0;
				break;
			case AT_LAST:
				v->kind = V_BOOL;
				v->b = f->index + 1 == f->count;
				break;
			}
			return;
		}
		return;
	case K_NAME:
		break;
	}
	/* The first component decides the context; the rest must follow. */
	dot = memchr(nd->path, '.', nd->pathlen);
	n = dot ? (size_t)(dot - nd->path) : nd->pathlen;
	for (i = r->n; i-- > 0;) {
		r->steps++;	/* deep stacks make lookups cost */
		if ((v->t = tree_map_getn(r->stack[i].t, nd->path, n)) == NULL)
			continue;
		if (dot != NULL)
			v->t = walk(v->t, dot + 1, nd->pathlen - n - 1);
		if (v->t != NULL)
			v->kind = V_TREE;
		return;
	}
}

static int
truthy(const struct val *v)
{
	switch (v->kind) {
	case V_MISSING:
		return 0;
	case V_BOOL:
		return v->b;
	case V_STR:
		return v->len > 0;
	case V_TREE:
		break;
	}
	switch (tree_type(v->t)) {
	case TREE_BOOL:
		return tree_bool(v->t);
	case TREE_STRING:
	case TREE_LIST:
		return tree_len(v->t) > 0;
	case TREE_MAP:
		return 1;
	default:
		return 0;
	}
}

/* ---- rendering ------------------------------------------------------- */

static int
rerr(struct render *r, const struct tmpl *t, const struct node *nd,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(r->err, t->name, nd->line, fmt, ap);
	va_end(ap);
	return -1;
}

static int
emit(struct render *r, const char *s, size_t n)
{
	if (r->out->len - r->start + n > MUSTACHE_OUTPUT_MAX)
		return error_set(r->err, ERR_INPUT, "%s: output larger than "
		    "%u MiB", r->o->name ? r->o->name : "template",
		    MUSTACHE_OUTPUT_MAX >> 20);
	if (buf_append(r->out, s, n) == -1)
		return error_set(r->err, ERR_FAIL, "out of memory");
	return 0;
}

static int
emit_escaped(struct render *r, const char *s, size_t n)
{
	const char *rep;
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		default:
			continue;
		}
		if (emit(r, s + from, i - from) == -1 ||
		    emit(r, rep, strlen(rep)) == -1)
			return -1;
		from = i + 1;
	}
	return emit(r, s + from, n - from);
}

/*
 * 1 when nd stands inside an inverted section over the same name: the
 * required-key idiom, {{^x}}{{x}}{{/x}}.
 */
static int
in_own_inverted(const struct render *r, const struct node *nd)
{
	const struct node *in;
	size_t i;

	for (i = r->ninverted; i-- > 0;) {
		in = r->inverted[i];
		if (!in->star && in->kind == nd->kind &&
		    in->pathlen == nd->pathlen && (nd->pathlen == 0 ||
		    memcmp(in->path, nd->path, nd->pathlen) == 0) &&
		    (nd->kind != K_AT || in->at == nd->at))
			return 1;
	}
	return 0;
}

static int
interpolate(struct render *r, const struct tmpl *t, const struct node *nd)
{
	struct val v;
	const char *s = NULL;
	size_t len = 0;

	resolve(r, nd, &v);
	/*
	 * The idiom that makes a key required must not let an empty one
	 * through: an empty string is no more a listen address than none.
	 */
	if (r->o->strict && v.kind != V_MISSING && !truthy(&v) &&
	    in_own_inverted(r, nd))
		return rerr(r, t, nd, "empty value for '%.*s'",
		    (int)nd->len, nd->s);
	switch (v.kind) {
	case V_MISSING:
		if (r->o->strict)
			return rerr(r, t, nd, "missing value for '%.*s'",
			    (int)nd->len, nd->s);
		return 0;
	case V_BOOL:
		s = v.b ? "true" : "false";
		len = strlen(s);
		break;
	case V_STR:
		s = v.s;
		len = v.len;
		break;
	case V_TREE:
		switch (tree_type(v.t)) {
		case TREE_NULL:
			return 0;
		case TREE_BOOL:
			s = tree_bool(v.t) ? "true" : "false";
			len = strlen(s);
			break;
		case TREE_STRING:
			s = tree_string(v.t, &len);
			break;
		default:
			if (r->o->strict)
				return rerr(r, t, nd, "'%.*s' is a %s, not "
				    "a value", (int)nd->len, nd->s,
				    tree_type_name(tree_type(v.t)));
			return 0;
		}
		break;
	}
	if (nd->type == N_VAR && r->o->html_escape)
		return emit_escaped(r, s, len);
	return emit(r, s, len);
}

static int
push(struct render *r, const struct tree *t, int iter, size_t index,
    size_t count)
{
	struct frame *f;
	size_t cap;

	if (r->n == r->cap) {
		cap = r->cap ? r->cap * 2 : 16;
		if ((f = realloc(r->stack, cap * sizeof(*f))) == NULL)
			return error_set(r->err, ERR_FAIL, "out of memory");
		r->stack = f;
		r->cap = cap;
	}
	f = &r->stack[r->n++];
	f->t = t;
	f->iter = iter;
	f->index = index;
	f->count = count;
	f->key = NULL;
	f->keylen = 0;
	return 0;
}

/* The children of section nd, once per element of list or map t. */
static int
iterate(struct render *r, const struct tmpl *t, size_t i,
    const struct tree *it)
{
	const struct node *nd = &t->v[i];
	size_t k, n = tree_len(it);
	int rc = 0;

	for (k = 0; k < n && rc == 0; k++) {
		if (push(r, tree_at(it, k), 1, k, n) == -1)
			return -1;
		if (tree_type(it) == TREE_MAP)
			r->stack[r->n - 1].key = tree_key_at(it, k,
			    &r->stack[r->n - 1].keylen);
		rc = render_nodes(r, t, i + 1, nd->end);
		r->n--;
	}
	return rc;
}

static int
section(struct render *r, const struct tmpl *t, size_t i)
{
	const struct node *nd = &t->v[i];
	struct val v;
	enum tree_type type;
	int on, rc;

	if (r->depth >= RENDER_DEPTH_MAX)
		return rerr(r, t, nd, "section '%.*s' nested deeper than %d",
		    (int)nd->len, nd->s, RENDER_DEPTH_MAX);
	resolve(r, nd, &v);
	type = v.kind == V_TREE ? tree_type(v.t) : TREE_NULL;
	if (nd->star) {
		/* Only maps and lists have children to iterate. */
		if (truthy(&v) && type != TREE_MAP && type != TREE_LIST)
			return rerr(r, t, nd, "'%.*s' is a %s, not a map",
			    (int)nd->len, nd->s, v.kind == V_TREE ?
			    tree_type_name(type) : "value");
		on = (type == TREE_MAP || type == TREE_LIST) &&
		    tree_len(v.t) > 0;
	} else
		on = truthy(&v);
	if (nd->type == N_INVERTED) {
		if (on)
			return 0;
		/* depth < RENDER_DEPTH_MAX: there is room. */
		r->inverted[r->ninverted++] = nd;
		rc = render_nodes(r, t, i + 1, nd->end);
		r->ninverted--;
		return rc;
	}
	if (!on)
		return 0;
	if (type == TREE_LIST || (nd->star && type == TREE_MAP))
		return iterate(r, t, i, v.t);
	/* Maps and strings become the context; bools and @-names do not. */
	if (type != TREE_MAP && type != TREE_STRING)
		return render_nodes(r, t, i + 1, nd->end);
	/*
	 * A string is a list of one, so separators written for a list
	 * ({{^@last}}, {{/@last}}) work when an admin set a single value.
	 */
	if (push(r, v.t, type == TREE_STRING, 0, 1) == -1)
		return -1;
	rc = render_nodes(r, t, i + 1, nd->end);
	r->n--;
	return rc;
}

/* Each non-empty line of src[0..len) gets indent in front. */
static char *
indent_text(const char *src, size_t len, const char *indent, size_t ilen,
    size_t *outlen)
{
	struct buf b = { 0 };
	size_t i = 0, e;
	const char *nl;

	while (i < len) {
		nl = memchr(src + i, '\n', len - i);
		e = nl ? (size_t)(nl - src) + 1 : len;
		if (src[i] != '\n' && !(src[i] == '\r' && i + 1 < len &&
		    src[i + 1] == '\n'))
			if (buf_append(&b, indent, ilen) == -1)
				goto fail;
		if (buf_append(&b, src + i, e - i) == -1)
			goto fail;
		i = e;
	}
	return buf_detach(&b, outlen);
fail:
	buf_free(&b);
	return NULL;
}

/* The parsed partial for nd, loading it on first use. */
static int
get_partial(struct render *r, const struct tmpl *t, const struct node *nd,
    struct tmpl **out)
{
	struct partial *pt;
	struct buf text = { 0 };
	char *name = NULL, *indent = NULL, *src;
	size_t i, len;
	int rc;

	for (i = 0; i < r->nparts; i++) {
		pt = &r->parts[i];
		if (strlen(pt->name) == nd->len &&
		    memcmp(pt->name, nd->s, nd->len) == 0 &&
		    pt->indentlen == nd->indentlen &&
		    memcmp(pt->indent, nd->indent, nd->indentlen) == 0) {
			*out = pt->t;
			return 0;
		}
	}
	if (r->nparts == r->capparts) {
		size_t cap = r->capparts ? r->capparts * 2 : 8;

		if ((pt = realloc(r->parts, cap * sizeof(*pt))) == NULL)
			return error_set(r->err, ERR_FAIL, "out of memory");
		r->parts = pt;
		r->capparts = cap;
	}
	if ((name = strndup(nd->s, nd->len)) == NULL ||
	    (indent = malloc(nd->indentlen + 1)) == NULL)
		goto nomem;
	memcpy(indent, nd->indent, nd->indentlen);

	rc = r->o->partial ? r->o->partial(r->o->partial_arg, name, &text,
	    r->err) : 1;
	if (rc == -1) {
		error_wrap(r->err, "%s:%zu: partial '%s'", t->name, nd->line,
		    name);
		goto fail;
	}
	if (rc == 1 && r->o->strict) {
		rerr(r, t, nd, "no partial '%.*s'", (int)nd->len, nd->s);
		goto fail;
	}
	if (rc == 1)
		buf_reset(&text);
	if (nd->indentlen > 0 && text.len > 0) {
		if ((src = indent_text(text.data, text.len, nd->indent,
		    nd->indentlen, &len)) == NULL)
			goto nomem;
		buf_free(&text);
	} else
		src = buf_detach(&text, &len);
	if (src == NULL)
		goto nomem;
	if ((*out = tmpl_parse(name, src, src, len, r->err)) == NULL)
		goto fail;
	pt = &r->parts[r->nparts++];
	pt->name = name;
	pt->indent = indent;
	pt->indentlen = nd->indentlen;
	pt->t = *out;
	return 0;
nomem:
	error_set(r->err, ERR_FAIL, "out of memory");
fail:
	buf_free(&text);
	free(name);
	free(indent);
	return -1;
}

static int
partial(struct render *r, const struct tmpl *t, const struct node *nd)
{
	struct tmpl *p = NULL;
	int rc;

	if (r->partial_depth >= MUSTACHE_PARTIAL_DEPTH)
		return rerr(r, t, nd, "partial '%.*s' nested deeper than %d "
		    "(recursive partial?)", (int)nd->len, nd->s,
		    MUSTACHE_PARTIAL_DEPTH);
	if (r->depth >= RENDER_DEPTH_MAX)
		return rerr(r, t, nd, "partial '%.*s' nested deeper than %d",
		    (int)nd->len, nd->s, RENDER_DEPTH_MAX);
	if (get_partial(r, t, nd, &p) == -1)
		return -1;
	r->partial_depth++;
	rc = render_nodes(r, p, 0, p->n);
	r->partial_depth--;
	return rc;
}

static int
render_nodes(struct render *r, const struct tmpl *t, size_t from, size_t to)
{
	const struct node *nd;
	size_t i;
	int rc = 0;

	r->depth++;
	for (i = from; i < to && rc == 0; i++) {
		nd = &t->v[i];
		/* Nested loops over big lists can multiply without end. */
		if (++r->steps > RENDER_STEPS_MAX) {
			rc = rerr(r, t, nd, "rendering takes more than %d "
			    "steps", RENDER_STEPS_MAX);
			break;
		}
		switch (nd->type) {
		case N_TEXT:
			rc = emit(r, nd->s, nd->len);
			break;
		case N_VAR:
		case N_RAW:
			rc = interpolate(r, t, nd);
			break;
		case N_SECTION:
		case N_INVERTED:
			rc = section(r, t, i);
			i = nd->end - 1;
			break;
		case N_PARTIAL:
			rc = partial(r, t, nd);
			break;
		}
	}
	r->depth--;
	return rc;
}

/* The caller's innermost context, o->context, on top of the data. */
static int
push_context(struct render *r, const struct tree *data)
{
	const struct tree *ctx;

	if (r->o->context == NULL)
		return 0;
	ctx = tree_get_path(data, r->o->context);
	if (tree_type(ctx) != TREE_MAP)
		return error_set(r->err, ERR_INPUT, "%s: context '%s' is %s, "
		    "not a set of keys", r->o->name ? r->o->name : "template",
		    r->o->context, ctx == NULL ? "missing" :
		    tree_type_name(tree_type(ctx)));
	return push(r, ctx, 0, 0, 0);
}

int
mustache_render(const char *tmpl, size_t len, const struct tree *data,
    const struct mustache_opts *o, struct buf *out, struct error *err)
{
	static const struct mustache_opts defaults;
	struct render r;
	struct tmpl *t;
	size_t i;
	int rc = -1;

	if (o == NULL)
		o = &defaults;
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.out = out;
	r.start = out->len;
	r.err = err;
	if ((t = tmpl_parse(o->name ? o->name : "template", NULL, tmpl, len,
	    err)) == NULL)
		return -1;
	if (push(&r, data, 0, 0, 0) == 0 && push_context(&r, data) == 0)
		rc = render_nodes(&r, t, 0, t->n);
	if (rc == -1 && out->data != NULL) {
		out->len = r.start;
		out->data[out->len] = '\0';
	}
	for (i = 0; i < r.nparts; i++) {
		free(r.parts[i].name);
		free(r.parts[i].indent);
		tmpl_free(r.parts[i].t);
	}
	free(r.parts);
	free(r.stack);
	tmpl_free(t);
	return rc;
}
