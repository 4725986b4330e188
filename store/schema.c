/*
 * schema.c - typed values: the schema records and the check of a commit
 * against them (docs/SCHEMA.md).
 *
 * A schema record is "schema.PATTERN" = "TYPE [| DESCRIPTION]".  A spec is
 * parsed each time it is used: there are a few dozen, they are short, and
 * a parsed form kept anywhere would be a second copy of the truth.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "db.h"

#define SPEC_MAX	1024	/* bytes of a spec's type part */
#define WORDS_MAX	64	/* words of a one-of, tokens of a spec */

enum kind {
	T_INT, T_IPV4, T_IPV6, T_IP, T_IPPORT, T_CIDR, T_NETMASK, T_HOST,
	T_HOSTADDR, T_IFNAME, T_PORT, T_FILENAME, T_ONEOF, T_TEXT, T_IPRANGE,
	T_LIST, T_BLOB
};

/* The types by name, with the rule each states when a value breaks it. */
static const struct {
	const char	*name;
	enum kind	 kind;
	const char	*rule;
} types[] = {
	{ "int",	T_INT,		"an integer" },
	{ "ipv4",	T_IPV4,		"an IPv4 address" },
	{ "ipv6",	T_IPV6,		"an IPv6 address" },
	{ "ip",		T_IP,		"an IPv4 or IPv6 address" },
	{ "ip-port",	T_IPPORT,	"an address with an optional @port" },
	{ "cidr",	T_CIDR,		"a CIDR prefix (ADDRESS/LENGTH)" },
	{ "netmask",	T_NETMASK,	"a netmask" },
	{ "hostname",	T_HOST,		"a host or domain name" },
	{ "host",	T_HOSTADDR,	"a host name or an address" },
	{ "ifname",	T_IFNAME,	"an interface name" },
	{ "port",	T_PORT,		"a port 1..65535" },
	{ "filename",	T_FILENAME,	"a plain file name" },
	{ "one-of",	T_ONEOF,	"one of" },
	{ "text",	T_TEXT,		"one line of text" },
	{ "ip-range",	T_IPRANGE,	"an address range (FIRST LAST)" },
	{ "list",	T_LIST,		"a list" },
	{ "blob",	T_BLOB,		"a blob" },
};

struct stype {
	enum kind	 kind;
	long long	 min, max;	/* int range, list length, blob size */
	const char	*words[WORDS_MAX];	/* one-of */
	size_t		 nwords;
	enum kind	 item;		/* a list's items */
	long long	 imin, imax;	/* an int item's range */
	const char	*iwords[WORDS_MAX];
	size_t		 niwords;
	char		 buf[SPEC_MAX];	/* the tokens point in here */
};

/* ---- parsing a spec ----------------------------------------------------- */

/* A decimal integer, optionally negative, without leading zeros. */
static int
parse_int(const char *s, size_t len, long long *out)
{
	char tmp[24];
	char *end;
	size_t d = len > 0 && s[0] == '-';

	if (len == d || len >= sizeof(tmp) || (s[d] == '0' && len > d + 1))
		return -1;
	for (size_t i = d; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	*out = strtoll(tmp, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

/* "MIN..MAX" */
static int
parse_range(const char *s, long long *min, long long *max)
{
	const char *dots = strstr(s, "..");

	if (dots == NULL || parse_int(s, (size_t)(dots - s), min) == -1 ||
	    parse_int(dots + 2, strlen(dots + 2), max) == -1 || *min > *max)
		return -1;
	return 0;
}

/* A byte count with an optional K or M suffix. */
static int
parse_size(const char *s, long long *out)
{
	size_t len = strlen(s);
	long long mul = 1;

	if (len > 1 && (s[len - 1] == 'K' || s[len - 1] == 'M')) {
		mul = s[len - 1] == 'K' ? 1024 : 1024 * 1024;
		len--;
	}
	if (parse_int(s, len, out) == -1 || *out < 0 ||
	    *out > (long long)STORE_VALUE_MAX / mul)
		return -1;
	*out *= mul;
	return 0;
}

static int
kind_of(const char *name, enum kind *k)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, name) == 0) {
			*k = types[i].kind;
			return 0;
		}
	return -1;
}

static const char *
kind_rule(enum kind k)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].kind == k)
			return types[i].rule;
	return "?";
}

/*
 * A scalar type from tok[0..n): its kind, range and words.  Says in why
 * what is wrong.
 */
static int
parse_scalar(char **tok, size_t n, enum kind *k, long long *min,
    long long *max, const char **words, size_t *nwords, const char **why)
{
	if (n == 0 || kind_of(tok[0], k) == -1) {
		*why = "unknown type";
		return -1;
	}
	switch (*k) {
	case T_INT:
		if (n != 2 || parse_range(tok[1], min, max) == -1) {
			*why = "int wants MIN..MAX";
			return -1;
		}
		return 0;
	case T_ONEOF:
		if (n < 2) {
			*why = "one-of wants at least one word";
			return -1;
		}
		for (size_t i = 1; i < n; i++)
			words[(*nwords)++] = tok[i];
		return 0;
	case T_LIST:
	case T_BLOB:
		*why = "a list's items are not lists or blobs";
		return -1;
	default:
		if (n != 1) {
			*why = "this type takes no arguments";
			return -1;
		}
		return 0;
	}
}

static int
spec_parse(const char *spec, struct stype *t, const char **why)
{
	const char *bar = strchr(spec, '|');
	size_t len = bar ? (size_t)(bar - spec) : strlen(spec), n = 0;
	char *tok[WORDS_MAX + 2], *p;

	memset(t, 0, sizeof(*t));
	if (len >= sizeof(t->buf)) {
		*why = "too long";
		return -1;
	}
	memcpy(t->buf, spec, len);
	t->buf[len] = '\0';
	for (p = strtok(t->buf, " \t"); p != NULL; p = strtok(NULL, " \t")) {
		if (n == WORDS_MAX + 2) {
			*why = "too many words";
			return -1;
		}
		tok[n++] = p;
	}
	if (n == 0) {
		*why = "no type";
		return -1;
	}
	if (kind_of(tok[0], &t->kind) == -1) {
		*why = "unknown type";
		return -1;
	}
	if (t->kind == T_LIST) {
		if (n < 3 || parse_range(tok[1], &t->min, &t->max) == -1 ||
		    t->min < 0) {
			*why = "list wants MIN..MAX and an item type";
			return -1;
		}
		return parse_scalar(tok + 2, n - 2, &t->item, &t->imin,
		    &t->imax, t->iwords, &t->niwords, why);
	}
	if (t->kind == T_BLOB) {
		if (n != 2 || parse_size(tok[1], &t->max) == -1) {
			*why = "blob wants a maximum size (bytes, or with K or M)";
			return -1;
		}
		return 0;
	}
	return parse_scalar(tok, n, &t->kind, &t->min, &t->max, t->words,
	    &t->nwords, why);
}

int
schema_spec_check(const char *spec, struct error *err)
{
	struct stype t;
	const char *why;

	if (spec_parse(spec, &t, &why) == -1)
		return error_set(err, ERR_SCHEMA, "\"%.200s\" is not a type: %s "
		    "(see docs/SCHEMA.md)", spec, why);
	return 0;
}

const char *
schema_spec_description(const char *spec)
{
	const char *bar = strchr(spec, '|');

	if (bar == NULL)
		return "";
	for (bar++; *bar == ' ' || *bar == '\t'; bar++)
		;
	return bar;
}

/* The rule of a scalar in words: "an integer 0..254", "one of: a, b". */
static void
scalar_rule(enum kind k, long long min, long long max,
    const char *const *words, size_t nwords, char *out, size_t len)
{
	snprintf(out, len, "%s", kind_rule(k));
	if (k == T_INT)
		snprintf(out + strlen(out), len - strlen(out), " %lld..%lld",
		    min, max);
	for (size_t i = 0; k == T_ONEOF && i < nwords; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
		    i == 0 ? ": " : ", ", words[i]);
}

static void
type_rule(const struct stype *t, char *out, size_t len)
{
	char item[300];

	switch (t->kind) {
	case T_LIST:
		scalar_rule(t->item, t->imin, t->imax, t->iwords, t->niwords,
		    item, sizeof(item));
		snprintf(out, len, "a list of %lld..%lld items, each %s",
		    t->min, t->max, item);
		break;
	case T_BLOB:
		snprintf(out, len, "a blob of at most %lld bytes", t->max);
		break;
	default:
		scalar_rule(t->kind, t->min, t->max, t->words, t->nwords, out,
		    len);
	}
}

void
schema_spec_rule(const char *spec, char *out, size_t len)
{
	struct stype t;
	const char *why;

	if (len == 0)
		return;
	out[0] = '\0';
	if (spec_parse(spec, &t, &why) == 0)
		type_rule(&t, out, len);
}

/* ---- checking values ---------------------------------------------------- */

static int
is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static int
is_ipv6(const char *s)
{
	struct in6_addr a;

	return strchr(s, ':') != NULL && inet_pton(AF_INET6, s, &a) == 1;
}

static int
is_port(const char *s)
{
	long long v;

	return parse_int(s, strlen(s), &v) == 0 && v >= 1 && v <= 65535;
}

/* ADDRESS/LENGTH, the length within the family's bits. */
static int
is_cidr(const char *s)
{
	char a[64];
	const char *slash = strchr(s, '/');
	long long bits;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(a) ||
	    parse_int(slash + 1, strlen(slash + 1), &bits) == -1 || bits < 0)
		return 0;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	return (is_ipv4(a) && bits <= 32) || (is_ipv6(a) && bits <= 128);
}

/* A dotted IPv4 mask: ones, then zeros. */
static int
is_netmask(const char *s)
{
	struct in_addr a;
	uint32_t m;

	if (inet_pton(AF_INET, s, &a) != 1)
		return 0;
	/* The host part, ~m, is 0...01...1: adding one carries it away. */
	m = ~ntohl(a.s_addr);
	return (m & (uint32_t)(m + 1)) == 0;
}

/* RFC 1123 labels, at most 253 bytes; one trailing dot allowed. */
static int
is_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) ||
		    (s[i] == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return s[len - 1] != '-';
}

/* As ifconfig(8) names them: letters, then a unit number; IFNAMSIZ - 1. */
static int
is_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len < 2 || len > 15 || !islower((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* One item of a directory: no '/', not hidden, not an option. */
static int
is_filename(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255 || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-+", s[i]) ==
		    NULL)
			return 0;
	return 1;
}

/* ADDRESS or ADDRESS@PORT, as nsd and unbound write it. */
static int
is_ipport(const char *s)
{
	char a[64];
	const char *at = strchr(s, '@');

	if (at == NULL)
		return is_ipv4(s) || is_ipv6(s);
	if ((size_t)(at - s) >= sizeof(a) || !is_port(at + 1))
		return 0;
	memcpy(a, s, (size_t)(at - s));
	a[at - s] = '\0';
	return is_ipv4(a) || is_ipv6(a);
}

/* "FIRST LAST", two addresses of one family. */
static int
is_iprange(const char *s)
{
	char a[64];
	const char *sp = strchr(s, ' ');

	if (sp == NULL || (size_t)(sp - s) >= sizeof(a))
		return 0;
	memcpy(a, s, (size_t)(sp - s));
	a[sp - s] = '\0';
	return (is_ipv4(a) && is_ipv4(sp + 1)) ||
	    (is_ipv6(a) && is_ipv6(sp + 1));
}

static int
scalar_fits(enum kind k, long long min, long long max,
    const char *const *words, size_t nwords, const char *s)
{
	long long v;

	switch (k) {
	case T_INT:
		return parse_int(s, strlen(s), &v) == 0 && v >= min &&
		    v <= max;
	case T_IPV4:
		return is_ipv4(s);
	case T_IPV6:
		return is_ipv6(s);
	case T_IP:
		return is_ipv4(s) || is_ipv6(s);
	case T_IPPORT:
		return is_ipport(s);
	case T_CIDR:
		return is_cidr(s);
	case T_NETMASK:
		return is_netmask(s);
	case T_HOST:
		return is_hostname(s);
	case T_HOSTADDR:
		return is_hostname(s) || is_ipv6(s);
	case T_IFNAME:
		return is_ifname(s);
	case T_PORT:
		return is_port(s);
	case T_FILENAME:
		return is_filename(s);
	case T_ONEOF:
		for (size_t i = 0; i < nwords; i++)
			if (strcmp(words[i], s) == 0)
				return 1;
		return 0;
	case T_TEXT:
		return 1;	/* the store holds strings to one line */
	case T_IPRANGE:
		return is_iprange(s);
	default:
		return 0;
	}
}

/* The text of a string or list item, NUL-terminated, in out (cut short). */
static const char *
text_of(const char *p, size_t len, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.*s", (int)len, p);
	return out;
}

static int
value_fits(const struct stype *t, const char *key, const struct value *v,
    struct error *err)
{
	char rule[400], text[STORE_KEY_MAX + 1 + 600];
	const char *p;
	size_t len, n;

	type_rule(t, rule, sizeof(rule));
	if (t->kind == T_BLOB) {
		if (value_type(v) != VALUE_BLOB)
			return error_set(err, ERR_SCHEMA, "%s: a %s is not %s "
			    "(store it with set --file)", key,
			    value_type_name(value_type(v)), rule);
		value_bytes(v, &len);
		if ((long long)len > t->max)
			return error_set(err, ERR_SCHEMA, "%s: a blob of %zu "
			    "bytes is not %s", key, len, rule);
		return 0;
	}
	if (value_type(v) == VALUE_BLOB)
		return error_set(err, ERR_SCHEMA, "%s: a blob is not %s", key,
		    rule);
	if (t->kind != T_LIST) {
		if (value_type(v) == VALUE_LIST)
			return error_set(err, ERR_SCHEMA, "%s: a list is not %s",
			    key, rule);
		p = value_bytes(v, &len);
		text_of(p, len, text, sizeof(text));
		if (strlen(text) != len || !scalar_fits(t->kind, t->min,
		    t->max, t->words, t->nwords, text))
			return error_set(err, ERR_SCHEMA, "%s: \"%.200s\" is "
			    "not %s", key, text, rule);
		return 0;
	}
	/* A string is a list of one, as the templates read it. */
	n = value_type(v) == VALUE_LIST ? value_count(v) : 1;
	if ((long long)n < t->min || (long long)n > t->max)
		return error_set(err, ERR_SCHEMA, "%s: %zu item%s %s not %s",
		    key, n, n == 1 ? "" : "s", n == 1 ? "is" : "are", rule);
	for (size_t i = 0; i < n; i++) {
		char item[300];

		p = value_type(v) == VALUE_LIST ? value_item(v, i, &len) :
		    value_bytes(v, &len);
		text_of(p, len, text, sizeof(text));
		if (strlen(text) == len && scalar_fits(t->item, t->imin,
		    t->imax, t->iwords, t->niwords, text))
			continue;
		scalar_rule(t->item, t->imin, t->imax, t->iwords, t->niwords,
		    item, sizeof(item));
		return error_set(err, ERR_SCHEMA, "%s: item %zu \"%.200s\" is "
		    "not %s", key, i + 1, text, item);
	}
	return 0;
}

int
schema_value_check(const char *spec, const char *key, const struct value *v,
    struct error *err)
{
	struct stype t;
	const char *why;

	if (spec_parse(spec, &t, &why) == -1)
		return error_set(err, ERR_SCHEMA, "%s: its schema \"%.200s\" is "
		    "not a type: %s", key, spec, why);
	return value_fits(&t, key, v, err);
}

/* ---- patterns ----------------------------------------------------------- */

/*
 * Whether pattern matches key's base (up to '@'), component by component,
 * "*" matching any one.  *wild gets a mask of the components matched by
 * "*", the first component highest, so a smaller mask is more specific.
 */
static int
pattern_match(const char *pattern, const char *key, size_t base,
    unsigned long long *wild)
{
	const char *p = pattern, *k = key, *kend = key + base;

	*wild = 0;
	for (;;) {
		const char *pe = strchr(p, '.'), *ke = memchr(k, '.',
		    (size_t)(kend - k));
		size_t pl = pe ? (size_t)(pe - p) : strlen(p);
		size_t kl = ke ? (size_t)(ke - k) : (size_t)(kend - k);

		*wild <<= 1;
		/* "**", last: one or more components, all of the rest. */
		if (pe == NULL && pl == 2 && p[0] == '*' && p[1] == '*') {
			*wild = ~0ull;
			return 1;
		}
		if (pl == 1 && p[0] == '*')
			*wild |= 1;
		else if (pl != kl || memcmp(p, k, pl) != 0)
			return 0;
		if ((pe == NULL) != (ke == NULL))
			return 0;
		if (pe == NULL)
			return 1;
		p = pe + 1;
		k = ke + 1;
	}
}

/* One schema record as the commit check holds it. */
struct rule {
	char		*pattern;	/* without "schema." */
	char		*spec;
};

struct rules {
	struct rule	*r;
	size_t		 n, cap;
};

static void
rules_free(struct rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].pattern);
		free(rs->r[i].spec);
	}
	free(rs->r);
}

/* Sets pattern's spec (NULL: removes it). */
static int
rules_put(struct rules *rs, const char *pattern, const char *spec, size_t len)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].pattern, pattern) == 0)
			break;
	if (spec == NULL) {
		if (i < rs->n) {
			free(rs->r[i].pattern);
			free(rs->r[i].spec);
			rs->r[i] = rs->r[--rs->n];
		}
		return 0;
	}
	if (i == rs->n) {
		if (rs->n == rs->cap) {
			size_t cap = rs->cap ? rs->cap * 2 : 64;
			void *p = reallocarray(rs->r, cap, sizeof(*rs->r));

			if (p == NULL)
				return -1;
			rs->r = p;
			rs->cap = cap;
		}
		if ((rs->r[i].pattern = strdup(pattern)) == NULL)
			return -1;
		rs->r[i].spec = NULL;
		rs->n++;
	}
	free(rs->r[i].spec);
	if ((rs->r[i].spec = strndup(spec, len)) == NULL)
		return -1;
	return 0;
}

/* The rule for key: the most specific match, or NULL. */
static const struct rule *
rules_find(const struct rules *rs, const char *key)
{
	const struct rule *best = NULL;
	unsigned long long bw = 0, w;
	const char *host;
	size_t base = key_base(key, &host);

	for (size_t i = 0; i < rs->n; i++)
		if (pattern_match(rs->r[i].pattern, key, base, &w) &&
		    (best == NULL || w < bw)) {
			best = &rs->r[i];
			bw = w;
		}
	return best;
}

static int
is_schema_key(const char *key)
{
	return strncmp(key, SCHEMA_PREFIX, strlen(SCHEMA_PREFIX)) == 0;
}

/* A schema record's value must be a string holding a type. */
static int
record_check(const char *key, const struct value *v, struct error *err)
{
	char spec[SPEC_MAX + 512];
	const char *p;
	size_t len;

	if (value_type(v) != VALUE_STRING)
		return error_set(err, ERR_SCHEMA, "%s: a schema record is one "
		    "line \"TYPE | DESCRIPTION\", not a %s", key,
		    value_type_name(value_type(v)));
	p = value_bytes(v, &len);
	if (len >= sizeof(spec))
		return error_set(err, ERR_SCHEMA, "%s: a schema record is at "
		    "most %zu bytes", key, sizeof(spec) - 1);
	/* A string value's bytes are not NUL-terminated. */
	memcpy(spec, p, len);
	spec[len] = '\0';
	if (schema_spec_check(spec, err) == -1)
		return error_wrap(err, "%s", key);
	return 0;
}

struct load_arg {
	struct rules	*rs;
	struct error	*err;
	int		 failed;
};

static int
load_rule(void *arg, const char *key, const MDB_val *mv)
{
	struct load_arg *la = arg;
	struct value *v;
	const char *p;
	size_t len;

	if (db_value(mv, &v, la->err) == -1) {
		la->failed = 1;
		return -1;
	}
	/* A malformed record in the state types nothing until it is fixed. */
	if (value_type(v) == VALUE_STRING) {
		p = value_bytes(v, &len);
		if (rules_put(la->rs, key + strlen(SCHEMA_PREFIX), p, len) ==
		    -1) {
			value_free(v);
			la->failed = 1;
			error_errno(la->err, ERR_FAIL, "schema");
			return -1;
		}
	}
	value_free(v);
	return 0;
}

static int
rules_load(struct store *s, MDB_txn *t, uint64_t rev, struct rules *rs,
    struct error *err)
{
	struct load_arg la = { rs, err, 0 };
	int rc = db_walk(s, t, SCHEMA_PREFIX, rev, load_rule, &la, err);

	return la.failed || rc == -1 ? -1 : 0;
}

int
store_schema_find(struct store *s, const char *key, uint64_t rev,
    char *pattern, size_t plen, struct value **spec, struct error *err)
{
	struct rules rs = { 0 };
	const struct rule *r;
	struct txn tx;
	int rc;

	*spec = NULL;
	if (key_check(key, err) == -1)
		return -1;
	if (db_txn_begin(s, 0, &tx, err) == -1)
		return -1;
	rc = db_rev_check(s, tx.t, rev, err);
	if (rc == 0)
		rc = rules_load(s, tx.t, rev ? rev : REV_HEAD, &rs, err);
	db_txn_end(s, &tx);
	if (rc == 0) {
		if ((r = is_schema_key(key) ? NULL : rules_find(&rs, key)) ==
		    NULL)
			rc = error_set(err, ERR_NOTFOUND, "%s: no schema "
			    "record types it", key);
		else {
			snprintf(pattern, plen, "%s", r->pattern);
			rc = value_string(r->spec, strlen(r->spec), spec, err);
		}
	}
	rules_free(&rs);
	return rc;
}

/* ---- the commit check --------------------------------------------------- */

static int
op_cmp_key(const void *key, const void *op)
{
	return strcmp(key, ((const struct commit_op_in *)op)->key);
}

struct state_arg {
	const struct rules		*rs;
	const struct commit_op_in	*ops;
	size_t				 n;
	struct error			*err;
};

/* A key of the state that the commit leaves as it is. */
static int
check_state_key(void *arg, const char *key, const MDB_val *mv)
{
	struct state_arg *sa = arg;
	const struct rule *r;
	struct value *v;
	int rc;

	if (is_schema_key(key) || bsearch(key, sa->ops, sa->n,
	    sizeof(*sa->ops), op_cmp_key) != NULL ||
	    (r = rules_find(sa->rs, key)) == NULL)
		return 0;
	if (db_value(mv, &v, sa->err) == -1)
		return -1;
	rc = schema_value_check(r->spec, key, v, sa->err);
	value_free(v);
	return rc == -1 ? -1 : 0;
}

int
schema_check_commit(struct store *s, MDB_txn *t,
    const struct commit_op_in *ops, size_t n, size_t *bad, struct error *err)
{
	struct rules rs = { 0 };
	const struct rule *r;
	struct state_arg sa = { &rs, ops, n, err };
	int changed = 0, rc = -1;
	size_t i;

	*bad = n;
	if (rules_load(s, t, REV_HEAD, &rs, err) == -1)
		goto done;
	/* The schema the commit makes: the state's with its records. */
	for (i = 0; i < n; i++) {
		const char *p = NULL;
		size_t len = 0;

		if (!is_schema_key(ops[i].key))
			continue;
		changed = 1;
		if (ops[i].new != NULL) {
			if (record_check(ops[i].key, ops[i].new, err) == -1) {
				*bad = i;
				goto done;
			}
			p = value_bytes(ops[i].new, &len);
		}
		if (rules_put(&rs, ops[i].key + strlen(SCHEMA_PREFIX), p,
		    len) == -1) {
			error_errno(err, ERR_FAIL, "schema");
			goto done;
		}
	}
	for (i = 0; i < n; i++) {
		if (ops[i].new == NULL || is_schema_key(ops[i].key) ||
		    (r = rules_find(&rs, ops[i].key)) == NULL)
			continue;
		if (schema_value_check(r->spec, ops[i].key, ops[i].new,
		    err) == -1) {
			*bad = i;
			goto done;
		}
	}
	/* A new schema holds for the values already there too. */
	if (changed && db_walk(s, t, NULL, REV_HEAD, check_state_key, &sa,
	    err) != 0)
		goto done;
	rc = 0;
done:
	rules_free(&rs);
	return rc;
}

/* ---- the shipped schema file -------------------------------------------- */

int
schema_file_add(struct change *c, const void *text, size_t len,
    struct error *err)
{
	const char *p = text, *end = p + len;
	char key[STORE_KEY_MAX + 1], spec[SPEC_MAX + 512];
	unsigned long line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *sp;
		struct value *v;
		size_t plen;
		int rc;

		line++;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if (p == le || *p == '#') {
			p = le + 1;
			continue;
		}
		for (sp = p; sp < le && *sp != ' ' && *sp != '\t'; sp++)
			;
		plen = (size_t)(sp - p);
		while (sp < le && (*sp == ' ' || *sp == '\t'))
			sp++;
		if (plen + strlen(SCHEMA_PREFIX) >= sizeof(key) ||
		    (size_t)(le - sp) >= sizeof(spec) || sp == le)
			return error_set(err, ERR_SCHEMA, "schema line %lu: want "
			    "PATTERN TYPE [| DESCRIPTION]", line);
		snprintf(key, sizeof(key), "%s%.*s", SCHEMA_PREFIX, (int)plen, p);
		snprintf(spec, sizeof(spec), "%.*s", (int)(le - sp), sp);
		if (key_check(key, err) == -1 ||
		    schema_spec_check(spec, err) == -1 ||
		    value_string(spec, strlen(spec), &v, err) == -1)
			return error_wrap(err, "schema line %lu", line);
		rc = change_set(c, key, v, err);
		value_free(v);
		if (rc == -1)
			return -1;
		p = le + 1;
	}
	return 0;
}
