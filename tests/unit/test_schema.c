/*
 * test_schema.c - typed values: every type accepted and refused, the
 * refusal's words, patterns and overrides, and a commit checked against
 * the schema of the state it makes (rollback to an older schema too).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store.h"

static char scratch[] = "/tmp/cfgstore-schema.XXXXXX";

/* 1 when the string s fits spec. */
static int
fits(const char *spec, const char *s)
{
	struct error err = { 0 };
	struct value *v = NULL;
	int rc;

	if (value_string(s, strlen(s), &v, &err) == -1)
		return 0;
	rc = schema_value_check(spec, "k", v, &err);
	if (rc == -1 && err.code != ERR_SCHEMA)
		printf("not ok: %s / %s: code %d\n", spec, s, err.code);
	value_free(v);
	return rc == 0;
}

static int
list_fits(const char *spec, const char *const *items, size_t n)
{
	struct error err = { 0 };
	struct value *v = NULL;
	int rc;

	if (value_list(items, n, &v, &err) == -1)
		return 0;
	rc = schema_value_check(spec, "k", v, &err);
	value_free(v);
	return rc == 0;
}

/* Each type: what it takes and what it refuses. */
static const struct {
	const char	*spec;
	const char	*good[6];
	const char	*bad[8];
} cases[] = {
	{ "int 0..254", { "0", "128", "254" },
	  { "255", "-1", "12x", "", "012", "+5", " 1", "1.0" } },
	{ "int -5..5", { "-5", "0", "5" }, { "-6", "6", "-0x1", "--1" } },
	{ "ipv4", { "10.0.0.1", "0.0.0.0", "255.255.255.255" },
	  { "10.0.0.256", "10.0.0", "::1", "10.0.0.1/24", "a.b.c.d", "" } },
	{ "ipv6", { "::1", "2620:fe::9", "fe80::1:2" },
	  { "10.0.0.1", ":::1", "2620:fe::g", "" } },
	{ "ip", { "10.0.0.1", "::1" }, { "10.0.0.1@53", "host", "" } },
	{ "ip-port", { "127.0.0.1", "127.0.0.1@10053", "::1@53", "::1" },
	  { "127.0.0.1@0", "127.0.0.1@65536", "127.0.0.1:53", "x@53",
	    "127.0.0.1@", "" } },
	{ "cidr", { "10.0.0.0/24", "0.0.0.0/0", "2001:db8::/32" },
	  { "10.0.0.0/33", "10.0.0.0", "2001:db8::/129", "10.0.0.0/-1", "" } },
	{ "netmask", { "255.255.255.0", "255.255.255.255", "0.0.0.0",
	    "255.128.0.0" },
	  { "255.0.255.0", "255.255.255.1", "not-a-mask", "24", "" } },
	{ "hostname", { "fw1", "home.example.com", "0.0.10.in-addr.arpa",
	    "example.com." },
	  { "-fw1", "fw1-", "a..b", "a b", "under_score", "" } },
	{ "host", { "pool.ntp.org", "9.9.9.9", "2620:fe::9" },
	  { "pool.ntp.org extra-word", "", "a/b" } },
	{ "ifname", { "em0", "vr2", "carp1", "vlan100" },
	  { "em", "0em", "Em0", "em0 ", "averyveryverylong0", "" } },
	{ "port", { "1", "53", "65535" }, { "0", "65536", "053", "ssh", "" } },
	{ "filename", { "nsd", "home.example.com.zone", "a_b-c+d" },
	  { "../etc", "a/b", ".hidden", "-rf", "", "a b" } },
	{ "one-of yes no", { "yes", "no" }, { "Yes", "maybe", "", "yes no" } },
	{ "text", { "", "anything at all", "-Y em2 -y em2 em0" }, { NULL } },
	{ "ip-range", { "10.0.0.100 10.0.0.199", "2001:db8::1 2001:db8::9" },
	  { "10.0.0.100", "10.0.0.100 ::1", "10.0.0.100  10.0.0.199", "" } },
};

static void
test_types(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = { 0 };

		CHECK(schema_spec_check(cases[i].spec, &err) == 0);
		for (size_t j = 0; j < 6 && cases[i].good[j]; j++)
			if (!fits(cases[i].spec, cases[i].good[j])) {
				printf("not ok: %s refuses \"%s\"\n",
				    cases[i].spec, cases[i].good[j]);
				CHECK(!"a good value refused");
			}
		for (size_t j = 0; j < 8 && cases[i].bad[j]; j++)
			if (fits(cases[i].spec, cases[i].bad[j])) {
				printf("not ok: %s takes \"%s\"\n",
				    cases[i].spec, cases[i].bad[j]);
				CHECK(!"a bad value accepted");
			}
	}
}

static void
test_lists_and_blobs(void)
{
	static const char *const addrs[] = { "10.0.0.53", "10.0.0.54",
	    "10.0.0.55" };
	static const char *const mixed[] = { "10.0.0.53", "nope" };
	struct error err = { 0 };
	struct value *v = NULL;
	char big[2048];

	CHECK(list_fits("list 1..3 ipv4", addrs, 3));
	CHECK(list_fits("list 1..3 ipv4", addrs, 1));
	CHECK(!list_fits("list 1..2 ipv4", addrs, 3));
	CHECK(!list_fits("list 2..3 ipv4", addrs, 1));
	CHECK(!list_fits("list 0..3 ipv4", mixed, 2));
	CHECK(list_fits("list 0..3 one-of 10.0.0.53 nope", mixed, 2));
	/* A string is a list of one; a list is not a string. */
	CHECK(fits("list 1..3 ipv4", "10.0.0.1"));
	CHECK(!fits("list 2..3 ipv4", "10.0.0.1"));
	CHECK(!list_fits("ipv4", addrs, 1));
	CHECK(!list_fits("text", addrs, 1));
	/* Blobs: only blobs, at most the size. */
	memset(big, 'x', sizeof(big));
	CHECK(value_blob(big, 1024, &v, &err) == 0);
	CHECK(schema_value_check("blob 1K", "b", v, &err) == 0);
	CHECK(schema_value_check("blob 1023", "b", v, &err) == -1 &&
	    err.code == ERR_SCHEMA);
	CHECK_STR(err.msg, "b: a blob of 1024 bytes is not a blob of at most "
	    "1023 bytes");
	CHECK(schema_value_check("text", "b", v, &err) == -1);
	CHECK_STR(err.msg, "b: a blob is not one line of text");
	value_free(v);
	CHECK(value_string("x", 1, &v, &err) == 0);
	CHECK(schema_value_check("blob 1M", "dhcpd.key", v, &err) == -1);
	CHECK_STR(err.msg, "dhcpd.key: a string is not a blob of at most "
	    "1048576 bytes (store it with set --file)");
	value_free(v);
}

/* The refusal: one line naming key, value and rule. */
static void
test_words(void)
{
	struct error err = { 0 };
	struct value *v = NULL;
	static const char *const two[] = { "em0", "em 1" };
	char rule[200];

	CHECK(value_string("12x", 3, &v, &err) == 0);
	CHECK(schema_value_check("int 0..254 | advskew", "carp.carp1.advskew",
	    v, &err) == -1 && err.code == ERR_SCHEMA);
	CHECK_STR(err.msg, "carp.carp1.advskew: \"12x\" is not an integer "
	    "0..254");
	CHECK(schema_value_check("one-of a b", "k@fw2", v, &err) == -1);
	CHECK_STR(err.msg, "k@fw2: \"12x\" is not one of: a, b");
	value_free(v);
	CHECK(value_list(two, 2, &v, &err) == 0);
	CHECK(schema_value_check("list 1..4 ifname", "carp.interfaces", v,
	    &err) == -1);
	CHECK_STR(err.msg, "carp.interfaces: item 2 \"em 1\" is not an "
	    "interface name");
	CHECK(schema_value_check("list 3..4 ifname", "l", v, &err) == -1);
	CHECK_STR(err.msg, "l: 2 items are not a list of 3..4 items, each an "
	    "interface name");
	value_free(v);

	schema_spec_rule("int 1..255 | the vhid", rule, sizeof(rule));
	CHECK_STR(rule, "an integer 1..255");
	CHECK_STR(schema_spec_description("int 1..255 |  the vhid"),
	    "the vhid");
	CHECK_STR(schema_spec_description("int 1..255"), "");
	schema_spec_rule("no such", rule, sizeof(rule));
	CHECK_STR(rule, "");
}

static void
test_malformed_specs(void)
{
	static const char *const bad[] = { "", "| only words", "integer 0..1",
	    "int", "int 5..1", "int 0..x", "int 0..1 2", "list ipv4",
	    "list 1..2", "list 1..2 list 1..2 ipv4", "list 1..2 blob 1K",
	    "blob", "blob 9M", "blob -1", "one-of", "ipv4 extra", NULL };
	struct error err = { 0 };

	for (int i = 0; bad[i]; i++) {
		error_clear(&err);
		if (schema_spec_check(bad[i], &err) != -1 ||
		    err.code != ERR_SCHEMA) {
			printf("not ok: spec \"%s\" accepted\n", bad[i]);
			CHECK(!"a malformed spec accepted");
		}
	}
	CHECK(schema_spec_check("blob 8M", &err) == 0);
	CHECK(schema_spec_check("list 0..65535 text | many", &err) == 0);
}

/* ---- through the store ---------------------------------------------------- */

static struct store *
new_store(const char *name)
{
	struct store_init_opts o = { name, 1, NULL };
	struct error err = { 0 };
	struct store *s = NULL;
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/%s", scratch, name);
	if (store_init(dir, &o, &err) == -1 || store_open(dir, 0, &s, &err) == -1)
		printf("not ok: %s: %s\n", name, err.msg);
	return s;
}

/* One commit of "set K V" pairs (V NULL: del K); 0 or the error's code. */
static int
commit(struct store *s, struct error *err, uint64_t *rev, ...)
{
	struct change *c = change_new();
	const char *k, *val;
	struct value *v;
	uint64_t r = 0;
	va_list ap;
	int rc = 0;

	va_start(ap, rev);
	while (rc == 0 && (k = va_arg(ap, const char *)) != NULL) {
		val = va_arg(ap, const char *);
		v = NULL;
		if (val == NULL)
			rc = change_del(c, k, err);
		else if ((rc = value_string(val, strlen(val), &v, err)) == 0)
			rc = change_set(c, k, v, err);
		value_free(v);
	}
	va_end(ap);
	if (rc == 0)
		rc = store_commit(s, c, "test", &r, err);
	change_free(c);
	if (rev != NULL)
		*rev = r;
	return rc == 0 ? 0 : err->code;
}

static uint64_t
head(struct store *s)
{
	struct error err = { 0 };
	uint64_t rev = 0;

	store_head(s, &rev, NULL, &err);
	return rev;
}

static void
test_commits(void)
{
	struct store *s = new_store("fw1");
	struct peer_info p;
	struct error err = { 0 };
	struct value *v = NULL;
	char pattern[STORE_KEY_MAX + 1];
	uint64_t r1, r2, r3, r4, before;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "fw2");
	snprintf(p.addr, sizeof(p.addr), "127.0.0.1:1");
	p.pubkey[0] = 1;
	CHECK(store_peer_add(s, &p, &err) == 0);

	/* One pattern types every interface, and its overrides. */
	CHECK(commit(s, &err, &r1, "schema.carp.*.advskew",
	    "int 0..254 | advertisement skew", NULL) == 0 && r1 == 1);
	CHECK(commit(s, &err, NULL, "carp.carp1.advskew", "0",
	    "carp.carp2.advskew@fw2", "128", NULL) == 0);
	before = head(s);
	CHECK(commit(s, &err, NULL, "carp.carp1.advskew", "12x", NULL) ==
	    ERR_SCHEMA);
	CHECK_STR(err.msg, "carp.carp1.advskew: \"12x\" is not an integer "
	    "0..254");
	CHECK(commit(s, &err, NULL, "carp.carp9.advskew@fw2", "255", NULL) ==
	    ERR_SCHEMA);
	CHECK(head(s) == before);
	/* Not matched: another depth, another name. */
	CHECK(commit(s, &err, NULL, "carp.advskew", "x", "carp.a.b.advskew",
	    "y", NULL) == 0);

	/* The most specific pattern wins: a name beats "*". */
	CHECK(commit(s, &err, NULL, "schema.carp.carp9.advskew",
	    "int 0..10 | carp9 is special", NULL) == 0);
	CHECK(commit(s, &err, NULL, "carp.carp9.advskew", "11", NULL) ==
	    ERR_SCHEMA);
	CHECK(commit(s, &err, NULL, "carp.carp8.advskew", "11", NULL) == 0);
	CHECK(store_schema_find(s, "carp.carp9.advskew@fw2", 0, pattern,
	    sizeof(pattern), &v, &err) == 0);
	CHECK_STR(pattern, "carp.carp9.advskew");
	value_free(v);
	CHECK(store_schema_find(s, "carp.carp8.advskew", 0, pattern,
	    sizeof(pattern), &v, &err) == 0);
	CHECK_STR(pattern, "carp.*.advskew");
	value_free(v);
	CHECK(store_schema_find(s, "nothing.here", 0, pattern,
	    sizeof(pattern), &v, &err) == -1 && err.code == ERR_NOTFOUND);

	/* "**" types the rest of a name: zone names have dots. */
	CHECK(commit(s, &err, NULL, "schema.zone.**", "hostname", NULL) == 0);
	CHECK(commit(s, &err, NULL, "zone.home.example.com", "a.b", NULL) == 0);
	CHECK(commit(s, &err, NULL, "zone.home.example.com", "a b", NULL) ==
	    ERR_SCHEMA);

	/* A key of the admin's own with a type the admin added. */
	CHECK(commit(s, &err, NULL, "schema.myapp.mode",
	    "one-of fast safe | how myapp runs", "myapp.mode", "fast",
	    NULL) == 0);
	CHECK(commit(s, &err, NULL, "myapp.mode", "slow", NULL) == ERR_SCHEMA);
	CHECK_STR(err.msg, "myapp.mode: \"slow\" is not one of: fast, safe");

	/* A malformed record is refused the same way, nothing written. */
	before = head(s);
	CHECK(commit(s, &err, NULL, "schema.myapp.level", "int 1..", NULL) ==
	    ERR_SCHEMA);
	CHECK(commit(s, &err, NULL, "schema.myapp.level@fw2", "text", NULL) ==
	    ERR_BADKEY);
	CHECK(head(s) == before);

	/* Values and schema together: checked against the new schema. */
	CHECK(commit(s, &err, &r2, "schema.myapp.mode", "one-of fast safe slow",
	    "myapp.mode", "slow", NULL) == 0);
	/* A schema that the values already there break is refused. */
	CHECK(commit(s, &err, NULL, "schema.myapp.mode", "one-of fast safe",
	    NULL) == ERR_SCHEMA);
	CHECK_STR(err.msg, "myapp.mode: \"slow\" is not one of: fast, safe");
	CHECK(commit(s, &err, NULL, "schema.carp.*.advskew", "int 0..100",
	    NULL) == ERR_SCHEMA);
	CHECK_STR(err.msg, "carp.carp2.advskew@fw2: \"128\" is not an integer "
	    "0..100");
	/* Deleting the record untypes the key. */
	CHECK(commit(s, &err, &r3, "schema.myapp.mode", NULL, NULL) == 0);
	CHECK(commit(s, &err, &r4, "myapp.mode", "anything", NULL) == 0);

	/* Rollback to r2: its schema comes back with its values. */
	CHECK(store_rollback(s, r2, NULL, &r4, &err) == 0 && r4 > r3);
	CHECK(commit(s, &err, NULL, "myapp.mode", "anything", NULL) ==
	    ERR_SCHEMA);
	/* Rollback to r1: a schema older than every value since. */
	CHECK(store_rollback(s, r1, NULL, &r4, &err) == 0);
	CHECK(commit(s, &err, NULL, "carp.carp1.advskew", "255", NULL) ==
	    ERR_SCHEMA);
	CHECK(commit(s, &err, NULL, "myapp.mode", "anything", NULL) == 0);
	store_close(s);
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(scratch) == NULL)
		return 1;
	test_types();
	test_lists_and_blobs();
	test_words();
	test_malformed_specs();
	test_commits();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
