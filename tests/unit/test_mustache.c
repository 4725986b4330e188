/*
 * test_mustache.c - the template engine against spec-style cases of its
 * own: every core module, every extension, every error.
 *
 * Data is written as JSON-ish text (either quote works) and turned into
 * a tree by the small reader below, so each case reads as one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "check.h"
#include "error.h"
#include "mustache.h"
#include "tree.h"

/* ---- a tiny reader for test data ------------------------------------- */

static struct tree *read_value(const char **p);

static void
skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\n' || **p == '\t')
		(*p)++;
}

/* 'text' or "text", with \n, \r, \t and \<char>; numbers stay text. */
static struct tree *
read_string(const char **p, struct buf *b)
{
	char q = *(*p)++;

	buf_reset(b);
	while (**p != '\0' && **p != q) {
		char c = *(*p)++;

		if (c == '\\') {
			c = *(*p)++;
			c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ?
			    '\t' : c;
		}
		buf_append(b, &c, 1);
	}
	if (**p == q)
		(*p)++;
	return tree_new_string(b->data ? b->data : "", b->len);
}

static struct tree *
read_value(const char **p)
{
	struct buf b = { 0 }, key = { 0 };
	struct tree *t = NULL, *c;
	const char *s;

	skip_ws(p);
	if (**p == '{') {
		t = tree_new_map();
		for ((*p)++; skip_ws(p), **p != '}' && **p != '\0';) {
			tree_free(read_string(p, &key));
			skip_ws(p);
			(*p)++;		/* ':' */
			c = read_value(p);
			tree_map_set(t, key.data ? key.data : "", c, NULL);
			skip_ws(p);
			if (**p == ',')
				(*p)++;
		}
		(*p)++;
	} else if (**p == '[') {
		t = tree_new_list();
		for ((*p)++; skip_ws(p), **p != ']' && **p != '\0';) {
			tree_list_append(t, read_value(p), NULL);
			skip_ws(p);
			if (**p == ',')
				(*p)++;
		}
		(*p)++;
	} else if (**p == '"' || **p == '\'') {
		t = read_string(p, &b);
	} else if (strncmp(*p, "true", 4) == 0) {
		*p += 4;
		t = tree_new_bool(1);
	} else if (strncmp(*p, "false", 5) == 0) {
		*p += 5;
		t = tree_new_bool(0);
	} else if (strncmp(*p, "null", 4) == 0) {
		*p += 4;
		t = tree_new_null();
	} else {
		for (s = *p; strchr("-+.0123456789eE", **p) && **p; (*p)++)
			;
		t = tree_new_string(s, (size_t)(*p - s));
	}
	buf_free(&b);
	buf_free(&key);
	return t;
}

static struct tree *
data(const char *json)
{
	return read_value(&json);
}

/* ---- running a case -------------------------------------------------- */

#define STRICT	1
#define HTML	2

/* Partials of the current case: "name", "text", ..., NULL. */
static const char *const *partials;

static int
load(void *arg, const char *name, struct buf *text, struct error *err)
{
	const char *const *p;

	(void)arg;
	if (strcmp(name, "broken") == 0)
		return error_set(err, ERR_FAIL, "cannot read it");
	for (p = partials; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return buf_puts(text, p[1]) == -1 ? error_set(err,
			    ERR_FAIL, "out of memory") : 0;
	return 1;
}

static struct buf out;
static struct error err;
static const char *context;	/* mustache_opts.context for run3 */

/* The output, or "ERROR: message". */
static const char *
run3(const char *tmpl, size_t len, const char *json, int flags,
    const char *const *parts)
{
	struct mustache_opts o = { 0 };
	struct tree *t = data(json);
	int rc;

	o.name = "t";
	o.strict = (flags & STRICT) != 0;
	o.html_escape = (flags & HTML) != 0;
	o.partial = load;
	o.context = context;
	partials = parts;
	buf_reset(&out);
	error_clear(&err);
	rc = mustache_render(tmpl, len, t, &o, &out, &err);
	tree_free(t);
	if (rc == -1) {
		if (out.len != 0)
			return "ERROR: output left behind";
		buf_printf(&out, "ERROR: %s", err.msg);
	}
	return out.data ? out.data : "";
}

static const char *
run(const char *tmpl, const char *json, int flags)
{
	return run3(tmpl, strlen(tmpl), json, flags, NULL);
}

static const char *
runp(const char *tmpl, const char *json, int flags, const char *const *p)
{
	return run3(tmpl, strlen(tmpl), json, flags, p);
}

/* ---- the cases ------------------------------------------------------- */

static void
test_interpolation(void)
{
	CHECK_STR(run("Hello from {Mustache}!\n", "{}", 0),
	    "Hello from {Mustache}!\n");
	CHECK_STR(run("Hello, {{subject}}!", "{'subject':'world'}", 0),
	    "Hello, world!");
	CHECK_STR(run("{{t}}: {{p}}", "{'t':'{{p}}','p':'Earth'}", 0),
	    "{{p}}: Earth");
	CHECK_STR(run("{{x}}|{{{x}}}|{{&x}}", "{'x':'& \" < >'}", HTML),
	    "&amp; &quot; &lt; &gt;|& \" < >|& \" < >");
	CHECK_STR(run("{{x}}", "{'x':'& \" < >'}", 0), "& \" < >");
	CHECK_STR(run("({{a}}{{{a}}}{{&a}})", "{'a':null}", STRICT), "()");
	CHECK_STR(run("({{a}}{{{a}}}{{&a}})", "{}", 0), "()");
	CHECK_STR(run("{{a}} {{b}}", "{'a':true,'b':false}", STRICT),
	    "true false");
	CHECK_STR(run("{{mph}} mph", "{'mph':85}", 0), "85 mph");
	CHECK_STR(run("{{p.name}}={{#p}}{{name}}{{/p}}",
	    "{'p':{'name':'Joe'}}", 0), "Joe=Joe");
	CHECK_STR(run("{{a.b.c.d.e.name}}",
	    "{'a':{'b':{'c':{'d':{'e':{'name':'Phil'}}}}}}", 0), "Phil");
	CHECK_STR(run("[{{a.b.c}}]", "{'a':{}}", 0), "[]");
	CHECK_STR(run("[{{a.b.c.name}}]",
	    "{'a':{'b':{}},'c':{'name':'Jim'}}", 0), "[]");
	CHECK_STR(run("{{#a}}{{b.c}}{{/a}}", "{'a':{'b':{}},'b':{'c':'X'}}",
	    0), "");
	CHECK_STR(run("{{a.b}}", "{'a.b':'c'}", 0), "");
	CHECK_STR(run("{{a.b}}", "{'a.b':'c','a':{'b':'d'}}", 0), "d");
	CHECK_STR(run("Hello, {{.}}!", "'world'", 0), "Hello, world!");
	CHECK_STR(run("| {{s}} |{{ s }}|{{{ s }}}|{{& s }}|", "{'s':'-'}", 0),
	    "| - |-|-|-|");
	CHECK_STR(run("  {{s}}\n", "{'s':'-'}", 0), "  -\n");
	/* Values may hold any byte, NUL included. */
	CHECK(run3("{{a}}", 5, "{'a':'x'}", 0, NULL) != NULL);
	{
		struct tree *t = tree_new_map();
		struct mustache_opts o = { 0 };

		tree_map_set(t, "a", tree_new_string("x\0y", 3), NULL);
		buf_reset(&out);
		CHECK(mustache_render("<{{a}}>", 7, t, &o, &out, &err) == 0);
		CHECK(out.len == 5 && memcmp(out.data, "<x\0y>", 5) == 0);
		tree_free(t);
	}
	/* And so may the template. */
	CHECK(strcmp(run3("a\0{{x}}b", 8, "{'x':'1'}", 0, NULL), "a") == 0 &&
	    out.len == 4 && memcmp(out.data, "a\0" "1b", 4) == 0);
	/* No data at all is an empty context. */
	buf_reset(&out);
	CHECK(mustache_render("[{{a}}]", 7, NULL, NULL, &out, &err) == 0);
	CHECK_STR(out.data, "[]");
}

static void
test_sections(void)
{
	CHECK_STR(run("\"{{#b}}yes{{/b}}\"", "{'b':true}", 0), "\"yes\"");
	CHECK_STR(run("\"{{#b}}yes{{/b}}\"", "{'b':false}", 0), "\"\"");
	CHECK_STR(run("\"{{#b}}yes{{/b}}\"", "{'b':null}", 0), "\"\"");
	CHECK_STR(run("\"{{#b}}yes{{/b}}\"", "{}", STRICT), "\"\"");
	CHECK_STR(run("{{#c}}Hi {{name}}.{{/c}}", "{'c':{'name':'Joe'}}", 0),
	    "Hi Joe.");
	CHECK_STR(run("{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}",
	    "{'a':'foo','b':'wrong','sec':{'b':'bar'},'c':{'d':'baz'}}", 0),
	    "foo, bar, baz");
	CHECK_STR(run("{{#foo}}{{.}} is {{foo}}{{/foo}}", "{'foo':'bar'}", 0),
	    "bar is bar");
	CHECK_STR(run("{{#l}}{{i}}{{/l}}", "{'l':[{'i':1},{'i':2},{'i':3}]}",
	    0), "123");
	CHECK_STR(run("[{{#l}}x{{/l}}]", "{'l':[]}", 0), "[]");
	CHECK_STR(run("{{#l}}({{.}}){{/l}}", "{'l':['a','b','c']}", 0),
	    "(a)(b)(c)");
	CHECK_STR(run("{{#l}}({{#.}}{{.}}{{/.}}){{/l}}",
	    "{'l':[[1,2,3],['a','b']]}", 0), "(123)(ab)");
	CHECK_STR(run("{{#.}}({{v}}){{/.}}", "[{'v':'a'},{'v':'b'}]", 0),
	    "(a)(b)");
	CHECK_STR(run("| A {{#b}}B {{#b}}C{{/b}} D{{/b}} E |", "{'b':true}",
	    0), "| A B C D E |");
	CHECK_STR(run("| A {{#b}}B {{#b}}C{{/b}} D{{/b}} E |", "{'b':false}",
	    0), "| A  E |");
	CHECK_STR(run("{{#a.b.c}}Here{{/a.b.c}}", "{'a':{'b':{'c':true}}}",
	    0), "Here");
	CHECK_STR(run("[{{#a.b.c}}Here{{/a.b.c}}]", "{'a':{}}", 0), "[]");
	CHECK_STR(run("{{#tops}}{{#mids}}{{t.lo}}{{m}}.{{#bots}}{{t.up}}{{m}}"
	    "{{b}}.{{/bots}}{{/mids}}{{/tops}}",
	    "{'tops':[{'t':{'up':'A','lo':'a'},'mids':[{'m':'1','bots':"
	    "[{'b':'x'},{'b':'y'}]}]}]}", 0), "a1.A1x.A1y.");
	/* An empty string is false (a store value set to nothing). */
	CHECK_STR(run("[{{#s}}on{{/s}}{{^s}}off{{/s}}]", "{'s':''}", 0),
	    "[off]");
	/* An empty map is true, like any map. */
	CHECK_STR(run("[{{#m}}on{{/m}}]", "{'m':{}}", 0), "[on]");
	/* A bool section keeps the context: . is still the item. */
	CHECK_STR(run("{{#l}}{{#b}}{{.}}{{/b}}{{/l}}", "{'b':true,'l':['x']}",
	    0), "x");
}

static void
test_inverted(void)
{
	CHECK_STR(run("\"{{^b}}yes{{/b}}\"", "{'b':false}", 0), "\"yes\"");
	CHECK_STR(run("\"{{^b}}yes{{/b}}\"", "{'b':true}", 0), "\"\"");
	CHECK_STR(run("\"{{^b}}yes{{/b}}\"", "{'b':null}", 0), "\"yes\"");
	CHECK_STR(run("\"{{^c}}Hi{{/c}}\"", "{'c':{'n':'J'}}", 0), "\"\"");
	CHECK_STR(run("\"{{^l}}x{{/l}}\"", "{'l':[{'n':1}]}", 0), "\"\"");
	CHECK_STR(run("\"{{^l}}x{{/l}}\"", "{'l':[]}", 0), "\"x\"");
	CHECK_STR(run("[{{^missing}}none{{/missing}}]", "{}", STRICT),
	    "[none]");
	CHECK_STR(run("| A {{^b}}B {{^b}}C{{/b}} D{{/b}} E |", "{'b':false}",
	    0), "| A B C D E |");
	CHECK_STR(run("{{^a.b.c}}Not{{/a.b.c}}", "{'a':{}}", 0), "Not");
	CHECK_STR(run("{{^b}}\n* first\n{{/b}}\n* {{two}}\n{{^b}}\n* third\n"
	    "{{/b}}\n", "{'b':false,'two':'second'}", 0),
	    "* first\n* second\n* third\n");
	CHECK_STR(run("|{{^ b }}={{/ b }}|", "{'b':false}", 0), "|=|");
}

static void
test_comments(void)
{
	CHECK_STR(run("12345{{! Comment Block! }}67890", "{}", 0),
	    "1234567890");
	CHECK_STR(run("12345{{!\n  multi\n  line\n}}67890\n", "{}", 0),
	    "1234567890\n");
	CHECK_STR(run("Begin.\n{{! Comment }}\nEnd.\n", "{}", 0),
	    "Begin.\nEnd.\n");
	CHECK_STR(run("Begin.\n  {{! Indented }}\nEnd.\n", "{}", 0),
	    "Begin.\nEnd.\n");
	CHECK_STR(run("|\r\n{{! Standalone }}\r\n|", "{}", 0), "|\r\n|");
	CHECK_STR(run("  {{! still standalone }}\n!", "{}", 0), "!");
	CHECK_STR(run("!\n  {{! still standalone }}", "{}", 0), "!\n");
	CHECK_STR(run("Begin.\n  {{!\n    x\n  }}\nEnd.\n", "{}", 0),
	    "Begin.\nEnd.\n");
	CHECK_STR(run("  12 {{! 34 }}\n", "{}", 0), "  12 \n");
	CHECK_STR(run("12345 {{! C }} 67890", "{}", 0), "12345  67890");
	CHECK_STR(run(">{{! comment }}<", "{'! comment':1,'comment':2}", 0),
	    "><");
	/* A comment may hold braces, not the close delimiter. */
	CHECK_STR(run("a{{! {x} }}b", "{}", 0), "ab");
}

static void
test_delimiters(void)
{
	CHECK_STR(run("{{=<% %>=}}(<%text%>)", "{'text':'Hey!'}", 0),
	    "(Hey!)");
	CHECK_STR(run("({{=[ ]=}}[text])", "{'text':'It worked!'}", 0),
	    "(It worked!)");
	CHECK_STR(run("[\n{{#s}}\n  {{d}}\n  |d|\n{{/s}}\n\n{{= | | =}}\n"
	    "|#s|\n  {{d}}\n  |d|\n|/s|\n", "{'s':true,'d':'I'}", 0),
	    "[\n  I\n  |d|\n\n  {{d}}\n  I\n");
	CHECK_STR(run("| {{=@ @=}} |", "{}", 0), "|  |");
	CHECK_STR(run(" | {{=@ @=}}\n", "{}", 0), " | \n");
	CHECK_STR(run("Begin.\n  {{=@ @=}}\nEnd.\n", "{}", 0),
	    "Begin.\nEnd.\n");
	CHECK_STR(run("|\r\n{{= @ @ =}}\r\n|", "{}", 0), "|\r\n|");
	CHECK_STR(run("  {{=@ @=}}\n=", "{}", 0), "=");
	CHECK_STR(run("=\n  {{=@ @=}}", "{}", 0), "=\n");
	CHECK_STR(run("|{{= @   @ =}}|", "{}", 0), "||");
	/* Triple mustache with other delimiters. */
	CHECK_STR(run("{{=<% %>=}}<%{x}%>", "{'x':'<'}", HTML), "<");
	/* Partials start with the default delimiters. */
	{
		static const char *const p[] = { "inc", ".{{v}}.", NULL };

		CHECK_STR(runp("[ {{>inc}} ]\n{{= | | =}}\n[ |>inc| ]\n",
		    "{'v':'yes'}", 0, p), "[ .yes. ]\n[ .yes. ]\n");
		CHECK_STR(runp("[ {{>inc}} ]\n[ .{{v}}.  .|v|. ]\n",
		    "{'v':'yes'}", 0, (const char *const[]){ "inc",
		    ".{{v}}. {{=| |=}} .|v|.", NULL }),
		    "[ .yes.  .yes. ]\n[ .yes.  .|v|. ]\n");
	}
}

static void
test_standalone(void)
{
	CHECK_STR(run("| This Is\n{{#b}}\n|\n{{/b}}\n| A Line\n",
	    "{'b':true}", 0), "| This Is\n|\n| A Line\n");
	CHECK_STR(run("| This Is\n  {{#b}}\n|\n  {{/b}}\n| A Line\n",
	    "{'b':true}", 0), "| This Is\n|\n| A Line\n");
	CHECK_STR(run("|\r\n{{#b}}\r\n{{/b}}\r\n|", "{'b':true}", 0),
	    "|\r\n|");
	CHECK_STR(run("  {{#b}}\n#{{/b}}\n/", "{'b':true}", 0), "#\n/");
	CHECK_STR(run("#{{#b}}\n/\n  {{/b}}", "{'b':true}", 0), "#\n/\n");
	CHECK_STR(run(" | {{#b}}\t|\t{{/b}} | \n", "{'b':true}", 0),
	    " | \t|\t | \n");
	CHECK_STR(run(" | {{#b}} {{! Important }}\n {{/b}} | \n",
	    "{'b':true}", 0), " |  \n  | \n");
	CHECK_STR(run(" {{#b}}YES{{/b}}\n {{#b}}GOOD{{/b}}\n", "{'b':true}",
	    0), " YES\n GOOD\n");
	/* Two tags on one line: neither is standalone. */
	CHECK_STR(run("{{#b}}{{/b}}\nx", "{'b':true}", 0), "\nx");
	/* Interpolation is never standalone. */
	CHECK_STR(run("  {{a}}\n", "{'a':''}", 0), "  \n");
	/* Tabs count as blanks. */
	CHECK_STR(run("a\n\t{{#b}}\t\nb\n{{/b}}\n", "{'b':true}", 0),
	    "a\nb\n");
}

static void
test_partials(void)
{
	static const char *const basic[] = { "text", "from partial", NULL };
	static const char *const ctx[] = { "p", "*{{text}}*", NULL };
	static const char *const rec[] = { "node",
	    "{{content}}<{{#nodes}}{{>node}}{{/nodes}}>", NULL };
	static const char *const nest[] = { "outer",
	    "*{{a}} {{>inner}}*", "inner", "{{b}}!", NULL };
	static const char *const ws[] = { "p", "\t|\t", NULL };
	static const char *const two[] = { "p", ">\n>", NULL };
	static const char *const twonl[] = { "p", ">\n>\n", NULL };
	static const char *const ind[] = { "p", "|\n{{{content}}}\n|\n",
	    NULL };
	static const char *const pad[] = { "p", "[]", NULL };
	static const char *const blank[] = { "p", "a\n\nb\n", NULL };
	static const char *const sect[] = { "p",
	    "{{#l}}\nserver {{.}}\n{{/l}}\n", NULL };

	CHECK_STR(runp("\"{{>text}}\"", "{}", 0, basic),
	    "\"from partial\"");
	CHECK_STR(runp("\"{{>text}}\"", "{}", 0, NULL), "\"\"");
	CHECK_STR(runp("\"{{>p}}\"", "{'text':'content'}", 0, ctx),
	    "\"*content*\"");
	CHECK_STR(runp("{{>node}}", "{'content':'X','nodes':[{'content':'Y',"
	    "'nodes':[]}]}", 0, rec), "X<Y<>>");
	CHECK_STR(runp("{{>outer}}", "{'a':'hello','b':'world'}", 0, nest),
	    "*hello world!*");
	CHECK_STR(runp("| {{>p}} |", "{}", 0, ws), "| \t|\t |");
	CHECK_STR(runp("  {{data}}  {{> p}}\n", "{'data':'|'}", 0, two),
	    "  |  >\n>\n");
	CHECK_STR(runp("|\r\n{{>p}}\r\n|", "{}", 0, two), "|\r\n>\n>|");
	CHECK_STR(runp("  {{>p}}\n>", "{}", 0, two), "  >\n  >>");
	CHECK_STR(runp(">\n  {{>p}}", "{}", 0, two), ">\n  >\n  >");
	CHECK_STR(runp("\\\n {{>p}}\n/\n", "{'content':'<\n->'}", 0, ind),
	    "\\\n |\n <\n->\n |\n/\n");
	CHECK_STR(runp("|{{> p }}|", "{}", 0, pad), "|[]|");
	/* Indentation skips empty lines: no trailing blanks in configs. */
	CHECK_STR(runp("x:\n    {{>p}}\n", "{}", 0, blank),
	    "x:\n    a\n\n    b\n");
	/* Standalone lines inside an indented partial still vanish. */
	CHECK_STR(runp("ntp:\n  {{>p}}\n", "{'l':['a','b']}", 0, sect),
	    "ntp:\n  server a\n  server b\n");
	/* The same partial at two indentations. */
	CHECK_STR(runp(" {{>p}}\n  {{>p}}\n", "{}", 0, twonl),
	    " >\n >\n  >\n  >\n");
}

static void
test_extensions(void)
{
	static const char *const nsd =
	    "{{#zones.*}}\n"
	    "zone:\n"
	    "\tname: \"{{@key}}\"\n"
	    "\tzonefile: \"{{.file}}\"\n"
	    "{{/zones.*}}\n";
	static const char *const zones =
	    "{'zones':{'example.org':{'file':'example.org.zone'},"
	    "'example.net':{'file':'example.net.zone'}}}";

	CHECK_STR(run(nsd, zones, STRICT),
	    "zone:\n\tname: \"example.org\"\n\tzonefile: "
	    "\"example.org.zone\"\n"
	    "zone:\n\tname: \"example.net\"\n\tzonefile: "
	    "\"example.net.zone\"\n");
	/* Keys come in insertion order, not sorted. */
	CHECK_STR(run("{{#m.*}}{{@key}}={{.}};{{/m.*}}",
	    "{'m':{'z':'1','a':'2','m':'3'}}", STRICT), "z=1;a=2;m=3;");
	/* Separators. */
	CHECK_STR(run("option ntp-servers {{#dhcpd.ntp}}{{.}}{{^@last}}, "
	    "{{/@last}}{{/dhcpd.ntp}};",
	    "{'dhcpd':{'ntp':['10.0.0.2','10.0.0.3']}}", STRICT),
	    "option ntp-servers 10.0.0.2, 10.0.0.3;");
	CHECK_STR(run("{{#l}}{{^@first}},{{/@first}}{{.}}{{/l}}",
	    "{'l':['a','b','c']}", STRICT), "a,b,c");
	CHECK_STR(run("{{#l}}{{#@first}}[{{/@first}}{{.}}{{#@last}}]"
	    "{{/@last}}{{/l}}", "{'l':['a']}", STRICT), "[a]");
	CHECK_STR(run("{{#l}}{{@index}}:{{.}} {{/l}}", "{'l':['a','b']}",
	    STRICT), "0:a 1:b ");
	CHECK_STR(run("{{#m.*}}{{@index}}{{@key}}{{^@last}},{{/@last}}"
	    "{{/m.*}}", "{'m':{'x':1,'y':2}}", STRICT), "0x,1y");
	/* @first inside a section keeps . as the item. */
	CHECK_STR(run("{{#l}}{{#@first}}<{{.}}>{{/@first}}{{/l}}",
	    "{'l':['a','b']}", STRICT), "<a>");
	/* @key reaches the map iteration through a list inside it. */
	CHECK_STR(run("{{#z.*}}{{#.m}}{{@key}}:{{.}}@{{@index}} {{/.m}}"
	    "{{/z.*}}", "{'z':{'a':{'m':['1','2']},'b':{'m':['3']}}}",
	    STRICT), "a:1@0 a:2@1 b:3@0 ");
	/* Over nothing: no iterations; inverted shows. */
	CHECK_STR(run("[{{#m.*}}x{{/m.*}}{{^m.*}}none{{/m.*}}]", "{}",
	    STRICT), "[none]");
	CHECK_STR(run("[{{#m.*}}x{{/m.*}}{{^m.*}}none{{/m.*}}]", "{'m':{}}",
	    STRICT), "[none]");
	CHECK_STR(run("[{{^m.*}}none{{/m.*}}]", "{'m':{'a':1}}", STRICT),
	    "[]");
	/* .* over a list: its items. */
	CHECK_STR(run("{{#l.*}}{{.}}{{/l.*}}", "{'l':['a','b']}", STRICT),
	    "ab");
	/* .* over the current context. */
	CHECK_STR(run("{{#m}}{{#.*}}{{@key}}{{/.*}}{{/m}}",
	    "{'m':{'a':1,'b':2}}", STRICT), "ab");
	/* Nested map iterations: @key is the inner one's. */
	CHECK_STR(run("{{#a.*}}{{#.*}}{{@key}}{{/.*}}/{{@key}} {{/a.*}}",
	    "{'a':{'x':{'p':1,'q':2},'y':{'r':3}}}", STRICT), "pq/x r/y ");
	/* .name looks in the current context only. */
	CHECK_STR(run("{{#l}}[{{.v}}]{{/l}}", "{'v':'outer','l':[{'v':'in'},"
	    "{}]}", 0), "[in][]");
	CHECK_STR(run("{{#l}}[{{v}}]{{/l}}", "{'v':'outer','l':[{'v':'in'},"
	    "{}]}", 0), "[in][outer]");
	CHECK_STR(run("{{#l}}{{.v}}{{/l}}", "{'v':'o','l':[{}]}", STRICT),
	    "ERROR: t:1: missing value for '.v'");
	CHECK_STR(run("{{#z.*}}{{#.a}}{{.b}}{{/.a}}{{/z.*}}",
	    "{'z':{'k':{'a':{'b':'deep'}}}}", STRICT), "deep");
	/* @-names outside an iteration are missing. */
	CHECK_STR(run("{{@index}}", "{}", STRICT),
	    "ERROR: t:1: missing value for '@index'");
	CHECK_STR(run("{{#l}}{{@key}}{{/l}}", "{'l':['a']}", STRICT),
	    "ERROR: t:1: missing value for '@key'");
	CHECK_STR(run("[{{#@first}}x{{/@first}}]", "{}", STRICT), "[]");
}

/*
 * @last inside its own inverted section: an empty path must not reach
 * memcmp with NULL pointers (undefined, and UBSan stops on it).
 */
static void
test_at_last_in_own_inverted(void)
{
	CHECK_STR(run("{{#ntpd.servers}}{{.}}{{^@last}},{{@last}}{{/@last}}"
	    "{{/ntpd.servers}}", "{'ntpd':{'servers':['a','b']}}", STRICT),
	    "ERROR: t:1: empty value for '@last'");
}

/*
 * The step limit names the line it was reached on, not line 0: every
 * node knows its line, text as well as tags.
 */
static void
test_step_limit_line(void)
{
	static const char tmpl[] = "a\n{{#l}}{{#l}}{{#l}}\n{{/l}}{{/l}}{{/l}}";
	struct mustache_opts o = { 0 };
	struct tree *root = tree_new_map(), *list = tree_new_list();
	struct buf b = { 0 };
	int i, rc;

	/* 470^3 visits of the innermost node: past the limit of 10^8. */
	for (i = 0; i < 470; i++)
		tree_list_append(list, tree_new_string("x", 1), NULL);
	tree_set_path(root, "l", list, NULL);
	o.name = "t";
	o.strict = 1;
	rc = mustache_render(tmpl, strlen(tmpl), root, &o, &b, &err);
	CHECK(rc == -1);
	CHECK_STR(err.msg, "t:2: rendering takes more than 100000000 steps");
	buf_free(&b);
	tree_free(root);
}

static void
test_errors(void)
{
	static const char *const self[] = { "loop", "x{{>loop}}", NULL };
	static const char *const bad[] = { "p", "\n\n{{#open}}", NULL };
	static const char *const miss[] = { "p", "a\n{{nope}}", NULL };
	struct mustache_opts o = { 0 };
	struct tree *t;
	struct buf b = { 0 };
	char *deep;
	size_t i;

	CHECK_STR(run("server:\n\n\tinterface: {{unbound.interface}}\n",
	    "{'unbound':{}}", STRICT),
	    "ERROR: t:3: missing value for 'unbound.interface'");
	CHECK(err.code == ERR_INPUT);
	CHECK_STR(run("{{#a}}\n{{b}}{{/a}}", "{'a':{'x':1}}", STRICT),
	    "ERROR: t:2: missing value for 'b'");
	CHECK_STR(run("{{{x}}}", "{}", STRICT),
	    "ERROR: t:1: missing value for 'x'");
	CHECK_STR(run("{{m}}", "{'m':{'a':1}}", STRICT),
	    "ERROR: t:1: 'm' is a map, not a value");
	CHECK_STR(run("{{l}}", "{'l':[]}", STRICT),
	    "ERROR: t:1: 'l' is a list, not a value");
	/* The required-key idiom refuses an empty value as a missing one. */
	CHECK_STR(run("{{^x}}\n{{x}}\n{{/x}}\nok\n", "{'x':''}", STRICT),
	    "ERROR: t:2: empty value for 'x'");
	CHECK_STR(run("{{^a.b}}\n{{ a.b }}\n{{/a.b}}\n", "{'a':{'b':[]}}",
	    STRICT), "ERROR: t:2: empty value for 'a.b'");
	CHECK_STR(run("{{^x}}\n{{x}}\n{{/x}}\n", "{}", STRICT),
	    "ERROR: t:2: missing value for 'x'");
	CHECK_STR(run("{{^x}}\n{{x}}\n{{/x}}\nok\n", "{'x':'v'}", STRICT),
	    "ok\n");
	CHECK_STR(run("{{^x}}[{{x}}]{{/x}}", "{'x':''}", 0), "[]");
	/* Elsewhere an empty string prints as itself. */
	CHECK_STR(run("[{{x}}]{{^y}}[{{x}}]{{/y}}", "{'x':''}", STRICT),
	    "[][]");
	CHECK_STR(run("[{{m}}]", "{'m':{'a':1}}", 0), "[]");
	CHECK_STR(run("a\n\n{{#zones}}\nx\n", "{}", 0),
	    "ERROR: t:3: unclosed section 'zones'");
	CHECK_STR(run("{{#a}}\n{{#b}}\n{{/a}}\n", "{}", 0),
	    "ERROR: t:3: mismatched close tag 'a' for section 'b' (line 2)");
	CHECK_STR(run("x\n{{/a}}", "{}", 0),
	    "ERROR: t:2: unexpected close tag 'a'");
	CHECK_STR(run("a {{b", "{}", 0), "ERROR: t:1: unclosed tag");
	CHECK_STR(run("a {{{b}}", "{}", 0), "ERROR: t:1: unclosed tag");
	CHECK_STR(run("{{}}", "{}", 0), "ERROR: t:1: empty tag");
	CHECK_STR(run("{{ }}", "{}", 0), "ERROR: t:1: empty tag");
	CHECK_STR(run("{{a b}}", "{}", 0), "ERROR: t:1: bad name 'a b'");
	CHECK_STR(run("{{a..b}}", "{}", 0), "ERROR: t:1: bad name 'a..b'");
	CHECK_STR(run("{{a\nb}}\n{{<x\n}}", "{}", 0),
	    "ERROR: t:1: bad name 'a?b'");
	CHECK_STR(run("x\n{{<x\n}}", "{}", 0),
	    "ERROR: t:2: unsupported tag '{{<x?}}'");
	CHECK_STR(run("{{a.}}", "{}", 0), "ERROR: t:1: bad name 'a.'");
	CHECK_STR(run("{{a.*.b}}", "{}", 0), "ERROR: t:1: bad name 'a.*.b'");
	CHECK_STR(run("{{a.*}}", "{}", 0),
	    "ERROR: t:1: 'a.*' can only open a section");
	CHECK_STR(run("{{@nope}}", "{}", 0),
	    "ERROR: t:1: unknown name '@nope'");
	CHECK_STR(run("{{=<% %>=}}\n<%=x=%>", "{}", 0),
	    "ERROR: t:2: bad set-delimiters tag");
	CHECK_STR(run("{{=a=b c=}}", "{}", 0),
	    "ERROR: t:1: bad set-delimiters tag");
	CHECK_STR(run("{{<parent}}{{/parent}}", "{}", 0),
	    "ERROR: t:1: unsupported tag '{{<parent}}'");
	CHECK_STR(run("{{>*dyn}}", "{}", 0),
	    "ERROR: t:1: unsupported tag '{{>*dyn}}'");
	CHECK_STR(run("{{#s.*}}{{/s.*}}", "{'s':'text'}", 0),
	    "ERROR: t:1: 's.*' is a string, not a map");
	/* Partials: depth cap, missing in strict mode, errors inside. */
	CHECK(strncmp(runp("{{>loop}}", "{}", 0, self),
	    "ERROR: loop:1: partial 'loop' nested deeper than 32", 51) == 0);
	CHECK_STR(runp("a\n{{>none}}", "{}", STRICT, NULL),
	    "ERROR: t:2: no partial 'none'");
	CHECK_STR(runp("a\n{{>broken}}", "{}", 0, NULL),
	    "ERROR: t:2: partial 'broken': cannot read it");
	CHECK_STR(runp("{{>p}}", "{}", 0, bad),
	    "ERROR: p:3: unclosed section 'open'");
	CHECK_STR(runp("x\n{{>p}}", "{}", STRICT, miss),
	    "ERROR: p:2: missing value for 'nope'");
	/* Deep section nesting is refused, not recursed into. */
	deep = malloc(200 * 8 + 1);
	for (i = 0, deep[0] = '\0'; i < 200; i++)
		strcat(deep, "{{#a}}");
	CHECK_STR(run(deep, "{}", 0), "ERROR: t:1: sections nested deeper "
	    "than 100");
	free(deep);
	/* A failed render leaves out as it was. */
	t = data("{}");
	o.strict = 1;
	buf_puts(&b, "kept");
	CHECK(mustache_render("new {{x}}", 9, t, &o, &b, &err) == -1);
	CHECK_STR(b.data, "kept");
	CHECK_STR(err.msg, "template:1: missing value for 'x'");
	buf_free(&b);
	tree_free(t);
}

/* Every prefix of a busy template: an error or output, never a crash. */
static void
test_truncations(void)
{
	static const char tmpl[] =
	    "{{! c }}\n{{#zones.*}}\n  {{>p}}\n{{@key}} {{{.file}}}{{^@last}},"
	    "{{/@last}}\n{{/zones.*}}\n{{=<% %>=}}\n<%#l%><%.%><%/l%>\n"
	    "<%={{ }}=%>{{&x}}{{^l}}no{{/l}}\n";
	static const char *const p[] = { "p", "{{#l}}\n{{.}}\n{{/l}}", NULL };
	size_t n, ok = 0;
	const char *r;

	for (n = 0; n <= sizeof(tmpl) - 1; n++) {
		r = run3(tmpl, n, "{'zones':{'a':{'file':'f'}},'l':['1'],"
		    "'x':'y'}", 0, p);
		if (strncmp(r, "ERROR: ", 7) != 0)
			ok++;
	}
	CHECK(ok > 10);
	CHECK_STR(run3(tmpl, sizeof(tmpl) - 1, "{'zones':{'a':{'file':'f'},"
	    "'b':{'file':'g'}},'l':['1'],'x':'y'}", 0, p),
	    "  1\na f,\n  1\nb g\n1\ny\n");
}

/* An unbound.conf with 10,000 local-data lines: linear and fast. */
static void
test_big(void)
{
	static const char tmpl[] =
	    "server:\n"
	    "\tinterface: {{unbound.interface}}\n"
	    "{{#unbound.local_data}}\n"
	    "\tlocal-data: \"{{name}} IN A {{addr}}\"\n"
	    "\tlocal-data-ptr: \"{{addr}} {{name}}\"\n"
	    "{{/unbound.local_data}}\n"
	    "{{#unbound.zones.*}}\n"
	    "\tlocal-zone: \"{{@key}}\" {{.type}}\n"
	    "{{/unbound.zones.*}}\n";
	struct mustache_opts o = { 0 };
	struct tree *root = tree_new_map(), *list = tree_new_list(), *m, *z;
	struct timespec t0, t1;
	struct buf b = { 0 };
	char name[64], addr[32];
	double ms;
	int i, rc;

	tree_set_path(root, "unbound.interface",
	    tree_new_string("10.0.0.1", 8), NULL);
	z = tree_new_map();
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "host%d.example.org.", i);
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		m = tree_new_map();
		tree_map_set(m, "name", tree_new_string(name, strlen(name)),
		    NULL);
		tree_map_set(m, "addr", tree_new_string(addr, strlen(addr)),
		    NULL);
		tree_list_append(list, m, NULL);
		snprintf(name, sizeof(name), "zone%d.example.", i);
		m = tree_new_map();
		tree_map_set(m, "type", tree_new_string("static", 6), NULL);
		tree_map_set(z, name, m, NULL);
	}
	tree_set_path(root, "unbound.local_data", list, NULL);
	tree_set_path(root, "unbound.zones", z, NULL);
	o.name = "unbound.conf";
	o.strict = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = mustache_render(tmpl, sizeof(tmpl) - 1, root, &o, &b, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# 10,000 local-data and 10,000 zones rendered in %.1f ms "
	    "(%zu bytes)\n", ms, b.len);
	CHECK(rc == 0);
	CHECK(strstr(b.data, "\tlocal-data: \"host9999.example.org. IN A "
	    "10.0.39.15\"\n") != NULL);
	CHECK(strstr(b.data, "\tlocal-zone: \"zone9999.example.\" "
	    "static\n") != NULL);
	CHECK(ms < 2000);	/* generous: sanitizers and slow machines */
	buf_free(&b);
	tree_free(root);
}

/* A caller's context, and a single string where a list was expected. */
static void
test_context_and_single_strings(void)
{
	context = "carp.carp1";
	CHECK_STR(run("{{advskew}} {{node}}",
	    "{'carp':{'carp1':{'advskew':'0'}},'node':'fw1'}", STRICT), "0 fw1");
	context = "carp.carp9";
	CHECK_STR(run("{{advskew}}", "{'carp':{'carp1':{}}}", STRICT),
	    "ERROR: t: context 'carp.carp9' is missing, not a set of keys");
	context = "carp.carp1.advskew";
	CHECK_STR(run("x", "{'carp':{'carp1':{'advskew':'0'}}}", STRICT),
	    "ERROR: t: context 'carp.carp1.advskew' is string, not a set of "
	    "keys");
	context = NULL;

	/* One value set where a list is usual: no separator left behind. */
	CHECK_STR(run("option ntp-servers {{#dhcpd.ntp}}{{.}}{{^@last}}, "
	    "{{/@last}}{{/dhcpd.ntp}};", "{'dhcpd':{'ntp':'10.0.0.2'}}",
	    STRICT), "option ntp-servers 10.0.0.2;");
	CHECK_STR(run("{{#s}}{{@index}}{{#@first}}F{{/@first}}{{.}}{{/s}}",
	    "{'s':'x'}", STRICT), "0Fx");
	/* Outside the string's section the list's position counts again. */
	CHECK_STR(run("{{#l}}{{#s}}{{.}}{{/s}}{{^@last}},{{/@last}}{{/l}}",
	    "{'l':[{'s':'a'},{'s':'b'}]}", STRICT), "a,b");
	CHECK_STR(run("{{#l}}{{#s}}{{.}}{{^@last}};{{/@last}}{{/s}}{{/l}}",
	    "{'l':[{'s':'a'},{'s':'b'}]}", STRICT), "ab");
}

int
main(void)
{
	test_context_and_single_strings();
	test_interpolation();
	test_sections();
	test_inverted();
	test_comments();
	test_delimiters();
	test_standalone();
	test_partials();
	test_extensions();
	test_errors();
	test_at_last_in_own_inverted();
	test_step_limit_line();
	test_truncations();
	test_big();
	buf_free(&out);
	return check_done();
}
