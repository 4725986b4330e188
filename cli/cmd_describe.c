/*
 * cmd_describe.c - describe KEY: what a key is before it is changed: its
 * type and description from the schema, the files of which services read
 * it, and its value on every host, overrides resolved.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "keyuse.h"

enum { OPT_REV = 256, OPT_JSON };

static const struct option describe_opts[] = {
	{ "rev", required_argument, NULL, OPT_REV },
	{ "json", no_argument, NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 }
};

struct hosts {
	char	(*name)[STORE_NODE_MAX + 1];
	size_t	  n;
};

static int
add_host(struct hosts *h, const char *name)
{
	void *p;

	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->name[i], name) == 0)
			return 0;
	if ((p = reallocarray(h->name, h->n + 1, sizeof(*h->name))) == NULL)
		return -1;
	h->name = p;
	snprintf(h->name[h->n++], sizeof(*h->name), "%s", name);
	return 0;
}

/* Every KEY@HOST adds HOST. */
static int
override_host(void *arg, const char *key, const struct value *v)
{
	const char *at = strchr(key, '@');

	(void)v;
	return at != NULL && add_host(arg, at + 1) == -1 ? -1 : 0;
}

/* This node, its peers and the hosts of key's overrides, in that order. */
static int
hosts_of(struct store *s, const char *base, uint64_t rev, struct hosts *h,
    struct error *err)
{
	struct peer_info *peers = NULL;
	char prefix[STORE_KEY_MAX + 2];
	size_t n = 0;
	int rc = 0;

	if (add_host(h, store_node(s)) == -1 ||
	    store_peers(s, &peers, &n, err) == -1)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_host(h, peers[i].name);
	free(peers);
	snprintf(prefix, sizeof(prefix), "%s@", base);
	if (rc == 0)
		rc = store_list(s, prefix, rev, override_host, h, err);
	if (rc != 0 && err->msg[0] == '\0')
		error_set(err, ERR_FAIL, "out of memory");
	return rc == 0 ? 0 : -1;
}

struct users {
	json_t	*json;		/* array, or NULL for text */
	size_t	 n;
	int	 failed;
};

static int
user_one(void *arg, const char *service, const char *path)
{
	struct users *u = arg;

	if (u->json != NULL) {
		if (format_json_append(u->json, json_pack("{s:s, s:s}",
		    "service", service, "path", path)) == -1)
			return u->failed = 1, -1;
	} else
		printf("%s %s: %s\n", u->n == 0 ? "read by:    " :
		    "            ", service, path);
	u->n++;
	return 0;
}

/* The key that gives host its value: KEY@HOST, else KEY, else none. */
static int
value_for(struct store *s, const char *base, const char *host, uint64_t rev,
    struct value **v, char *from, size_t len, struct error *err)
{
	snprintf(from, len, "%s@%s", base, host);
	if (strlen(from) <= STORE_KEY_MAX && store_get(s, from, rev, v,
	    NULL) == 0)
		return 0;
	snprintf(from, len, "%s", base);
	if (store_get(s, base, rev, v, err) == 0)
		return 0;
	from[0] = '\0';
	return err->code == ERR_NOTFOUND ? 0 : -1;
}

static int
describe(struct store *s, const char *key, uint64_t rev, int json,
    struct error *err)
{
	struct hosts h = { NULL, 0 };
	struct users u = { NULL, 0, 0 };
	struct value *spec = NULL;
	char *spec_text = NULL;
	char pattern[STORE_KEY_MAX + 1], base[STORE_KEY_MAX + 1];
	char rule[400], from[STORE_KEY_MAX + STORE_NODE_MAX + 2];
	const char *host, *text = "", *what = "";
	json_t *j = NULL, *values = NULL;
	size_t len, tlen = 0;
	int rc = -1;

	snprintf(base, sizeof(base), "%.*s", (int)key_base(key, &host), key);
	rule[0] = '\0';
	if (store_schema_find(s, base, rev, pattern, sizeof(pattern), &spec,
	    err) == 0) {
		/* A string value's bytes end where len says: copy them. */
		text = value_bytes(spec, &len);
		if ((spec_text = strndup(text, len)) == NULL) {
			error_errno(err, ERR_FAIL, "describe");
			goto done;
		}
		text = spec_text;
		schema_spec_rule(text, rule, sizeof(rule));
		what = schema_spec_description(text);
		/* The type: the spec up to "|", without the blanks before. */
		tlen = strcspn(text, "|");
		while (tlen > 0 && (text[tlen - 1] == ' ' ||
		    text[tlen - 1] == '\t'))
			tlen--;
	} else if (err->code != ERR_NOTFOUND)
		goto done;
	if (hosts_of(s, base, rev, &h, err) == -1)
		goto done;
	if (json) {
		j = json_pack("{s:s}", "key", base);
		u.json = json_array();
		values = json_object();
		if (spec != NULL && j != NULL && json_object_set_new(j, "schema",
		    json_pack("{s:s, s:s#, s:s, s:s}", "pattern", pattern,
		    "type", text, (int)tlen, "rule", rule, "description",
		    what)) == -1) {
			json_decref(j);
			j = NULL;
		}
	} else {
		printf("key:         %s\n", base);
		if (spec != NULL)
			printf("type:        %.*s (%s)\nschema:      %s%s\n"
			    "description: %s\n", (int)tlen, text, rule,
			    SCHEMA_PREFIX, pattern, what);
		else
			printf("type:        none (no schema record types it)\n");
	}
	if (render_key_users(s, store_node(s), rev, base, user_one, &u,
	    err) == -1)
		goto done;
	if (!json && u.n == 0)
		printf("read by:     nothing the manifest installs\n");
	for (size_t i = 0; i < h.n; i++) {
		struct value *v = NULL;

		if (value_for(s, base, h.name[i], rev, &v, from, sizeof(from),
		    err) == -1)
			goto done;
		if (json) {
			if (format_json_set(values, h.name[i], v == NULL ?
			    json_null() : json_pack("{s:o, s:s}", "value",
			    format_json(v), "from", from)) == -1)
				u.failed = 1;
		} else {
			printf("%-12s ", h.name[i]);
			if (v == NULL)
				printf("(not set)\n");
			else {
				format_value(stdout, v);
				printf(strcmp(from, base) != 0 ? " (%s)\n" :
				    "\n", from);
			}
		}
		value_free(v);
	}
	if (json) {
		if (u.failed || j == NULL || json_object_set(j, "read_by",
		    u.json) == -1 || json_object_set(j, "values", values) == -1) {
			json_decref(j);
			j = NULL;
		}
		rc = format_json_print(j) != 0 ? -2 : 0;
	} else
		rc = 0;
done:
	json_decref(u.json);
	json_decref(values);
	value_free(spec);
	free(spec_text);
	free(h.name);
	return rc;
}

int
cmd_describe(struct cli *cli, const struct command *cmd, int argc,
    char **argv)
{
	struct error err = { 0 };
	struct store *s;
	uint64_t rev = 0;
	int ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, "", describe_opts, NULL)) != -1) {
		if (ch == OPT_REV) {
			if ((rc = cli_parse_rev(optarg, &rev)) != 0)
				return rc;
		} else if (ch == OPT_JSON)
			json = 1;
		else
			return cli_usage(cmd);
	}
	if (argc - optind != 1)
		return cli_usage(cmd);
	if (key_check(argv[optind], &err) == -1)
		return cli_fail(&err);
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	rc = describe(s, argv[optind], rev, json, &err);
	store_close(s);
	if (rc == -2)
		return 1;
	return rc == -1 ? cli_fail(&err) : 0;
}
