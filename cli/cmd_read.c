/*
 * cmd_read.c - the commands that only read: get, list, export, log, show,
 * diff, verify.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "replicator.h"

enum { OPT_REV = 256, OPT_HOST, OPT_JSON, OPT_RAW, OPT_PATCH, OPT_DIVERGED };

static const struct option read_opts[] = {
	{ "rev", required_argument, NULL, OPT_REV },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "patch", no_argument, NULL, OPT_PATCH },
	{ "diverged", no_argument, NULL, OPT_DIVERGED },
	{ NULL, 0, NULL, 0 }
};

struct read_args {
	uint64_t	 rev;
	const char	*host;
	int		 json;
	int		 raw;
	int		 patch;
	int		 diverged;
	long		 limit;
};

/* The options a read command takes: `allowed` lists their letters. */
static int
parse_read_opts(const struct command *cmd, int argc, char **argv,
    const char *allowed, struct read_args *r)
{
	struct error err = { 0 };
	char *end;
	int ch, rc;

	memset(r, 0, sizeof(*r));
	r->limit = -1;
	while ((ch = getopt_long(argc, argv, "+n:p", read_opts, NULL)) != -1) {
		int letter = ch == OPT_REV ? 'r' : ch == OPT_HOST ? 'h' :
		    ch == OPT_JSON ? 'j' : ch == OPT_RAW ? 'R' :
		    ch == OPT_PATCH ? 'p' : ch == OPT_DIVERGED ? 'D' : ch;

		if (ch == '?' || strchr(allowed, letter) == NULL)
			return cli_usage(cmd);
		switch (letter) {
		case 'r':
			if ((rc = cli_parse_rev(optarg, &r->rev)) != 0)
				return rc;
			break;
		case 'h':
			if (node_name_check(optarg, &err) == -1)
				return cli_fail(&err);
			r->host = optarg;
			break;
		case 'j':
			r->json = 1;
			break;
		case 'R':
			r->raw = 1;
			break;
		case 'p':
			r->patch = 1;
			break;
		case 'D':
			r->diverged = 1;
			break;
		case 'n':
			r->limit = strtol(optarg, &end, 10);
			if (*end != '\0' || r->limit < 1)
				return cli_error(ERR_INPUT,
				    "invalid count '%s'", optarg);
			break;
		}
	}
	return 0;
}

static void
print_value(const struct value *v)
{
	const void *p;
	size_t len;

	switch (value_type(v)) {
	case VALUE_STRING:
		p = value_bytes(v, &len);
		printf("%.*s\n", (int)len, (const char *)p);
		break;
	case VALUE_LIST:
		for (size_t i = 0; i < value_count(v); i++) {
			p = value_item(v, i, &len);
			printf("%.*s\n", (int)len, (const char *)p);
		}
		break;
	case VALUE_BLOB:
		/* Verbatim, so `get dhcpd.key > file` gives the file back. */
		p = value_bytes(v, &len);
		fwrite(p, 1, len, stdout);
		break;
	}
}

int
cmd_get(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct read_args r;
	struct error err = { 0 };
	struct value *v = NULL;
	struct store *s;
	int rc;

	if ((rc = parse_read_opts(cmd, argc, argv, "rhj", &r)) != 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cmd);
	if (key_check(argv[optind], &err) == -1)
		return cli_fail(&err);
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	/* An unknown host would silently read as the base key. */
	if ((r.host != NULL && store_host_check(s, r.host, r.rev, &err) == -1) ||
	    store_get_for_host(s, argv[optind], r.host, r.rev, &v, &err) == -1)
		rc = cli_fail(&err);
	else if (r.json)
		rc = format_json_print(format_json(v));
	else
		print_value(v);
	value_free(v);
	store_close(s);
	return rc;
}

struct list_arg {
	json_t	*json;
	int	 export;
	int	 json_failed;
};

static int
list_one(void *arg, const char *key, const struct value *v)
{
	struct list_arg *la = arg;

	if (la->json != NULL) {
		if (format_json_set(la->json, key, format_json(v)) == -1)
			return la->json_failed = 1, -1;
	} else if (la->export)
		format_set_line(stdout, key, v);
	else {
		printf("%s = ", key);
		format_value(stdout, v);
		putchar('\n');
	}
	return 0;
}

static int
list_or_export(struct cli *cli, const struct read_args *r, const char *prefix,
    int export)
{
	struct list_arg la = { NULL, export, 0 };
	struct error err = { 0 };
	struct store *s;
	int rc;

	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	if (r->host != NULL && store_host_check(s, r->host, r->rev, &err) == -1)
		rc = cli_fail(&err);
	else if (r->json && (la.json = json_object()) == NULL)
		la.json_failed = 1;
	else if ((r->host != NULL ?
	    store_list_prefix_for_host(s, r->host, prefix, r->rev, list_one,
	    &la, &err) :
	    store_list(s, prefix, r->rev, list_one, &la, &err)) == -1 &&
	    !la.json_failed)
		rc = cli_fail(&err);
	if (la.json_failed)
		rc = format_json_print(NULL);
	else if (rc == 0 && la.json != NULL) {
		rc = format_json_print(la.json);
		la.json = NULL;
	}
	json_decref(la.json);
	store_close(s);
	return rc;
}

int
cmd_list(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct read_args r;
	int rc;

	if ((rc = parse_read_opts(cmd, argc, argv, "rhj", &r)) != 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage(cmd);
	return list_or_export(cli, &r, argc > optind ? argv[optind] : NULL, 0);
}

struct export_arg {
	struct error	*err;
	size_t		 n;		/* commits written */
};

/* One diverged commit's changes as batch lines, after a comment naming it. */
static int
export_one(void *arg, uint64_t epoch, uint64_t rev, const void *raw,
    size_t len)
{
	struct export_arg *ea = arg;
	struct commit *c;

	ea->n++;
	if (commit_parse(raw, len, &c, ea->err) == -1)
		return -1;
	printf("# diverged:%llu:%llu ", (unsigned long long)epoch,
	    (unsigned long long)rev);
	format_text(stdout, commit_node(c));
	fputs(": ", stdout);
	format_text(stdout, commit_message(c));
	putchar('\n');
	for (size_t i = 0; i < commit_op_count(c); i++) {
		const struct value *new;
		const char *key;

		commit_op(c, i, NULL, &key, NULL, &new);
		if (new != NULL)
			format_set_line(stdout, key, new);
		else
			printf("del %s\n", key);
	}
	commit_free(c);
	return 0;
}

static int
export_diverged(struct cli *cli)
{
	struct error err = { 0 };
	struct export_arg ea = { &err, 0 };
	struct store *s;
	int rc;

	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if (store_diverged_each(s, export_one, &ea, &err) != 0)
		rc = cli_fail(&err);
	/* Written out whole: the branch is in the admin's hands (status). */
	else if (fflush(stdout) == EOF || ferror(stdout))
		rc = cli_error(ERR_FAIL, "export: standard output: %s",
		    strerror(errno));
	else if (ea.n > 0 && repl_diverged_exported(s, ea.n, &err) == -1)
		rc = cli_fail(&err);
	store_close(s);
	return rc;
}

int
cmd_export(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct read_args r;
	int rc;

	if ((rc = parse_read_opts(cmd, argc, argv, "rD", &r)) != 0)
		return rc;
	if (argc != optind || (r.diverged && r.rev != 0))
		return cli_usage(cmd);
	if (r.diverged)
		return export_diverged(cli);
	return list_or_export(cli, &r, NULL, 1);
}

/* ---- log and show ------------------------------------------------------- */

/* The commit as JSON, or NULL when some of it cannot be. */
static json_t *
commit_json(const struct commit *c, int full)
{
	char hash[2 * STORE_HASH_LEN + 1], parent[sizeof(hash)], when[32];
	char signer[STORE_KEYTEXT_LEN];
	json_t *j, *ops;

	format_hash(hash, sizeof(hash), commit_hash(c), 1);
	format_hash(parent, sizeof(parent), commit_parent(c), 1);
	format_time(when, sizeof(when), commit_time_ms(c));
	pubkey_to_text(commit_signer(c), signer);
	j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "rev", (json_int_t)commit_rev(c), "hash", hash, "parent", parent,
	    "time", when, "author", commit_author(c), "node", commit_node(c),
	    "message", commit_message(c), "signer", signer,
	    "forced", (commit_flags(c) & COMMIT_FORCED) != 0);
	if (j != NULL && (commit_flags(c) & COMMIT_PROMOTE) &&
	    format_json_set(j, "promote_epoch",
	    json_integer((json_int_t)commit_epoch(c))) == -1) {
		json_decref(j);
		return NULL;
	}
	if (format_json_set(j, "confirm_window", commit_flags(c) &
	    COMMIT_CONFIRM ? json_integer(commit_confirm_window(c)) :
	    json_null()) == -1 || format_json_set(j, "confirms",
	    json_boolean(commit_flags(c) & COMMIT_CONFIRMS)) == -1 ||
	    format_json_set(j, "ops", ops = json_array()) == -1) {
		json_decref(j);
		return NULL;
	}
	for (size_t i = 0; i < commit_op_count(c); i++) {
		const struct value *old, *new;
		enum commit_op op;
		const char *key;
		json_t *o;

		commit_op(c, i, &op, &key, &old, &new);
		o = json_pack("{s:s, s:s}", "op", op == COMMIT_SET ? "set" :
		    "del", "key", key);
		if ((full && (format_json_set(o, "old", old ? format_json(old) :
		    json_null()) == -1 || format_json_set(o, "new",
		    new ? format_json(new) : json_null()) == -1)) ||
		    format_json_append(ops, json_incref(o)) == -1) {
			json_decref(o);
			json_decref(j);
			return NULL;
		}
		json_decref(o);
	}
	return j;
}

/* label: how the commit is named, NULL for its revision ("r42"). */
/* commit_json, with the name of a diverged commit (label) when not NULL. */
static json_t *
commit_json_named(const struct commit *c, int full, const char *label)
{
	json_t *j = commit_json(c, full);

	if (j != NULL && label != NULL &&
	    format_json_set(j, "diverged", json_string(label)) == -1) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static void
commit_header(const struct commit *c, const char *label)
{
	char hash[2 * STORE_HASH_LEN + 1], when[32];

	format_hash(hash, sizeof(hash), commit_hash(c), 0);
	format_time(when, sizeof(when), commit_time_ms(c));
	if (label != NULL)
		printf("%s  %s  %s  ", label, hash, when);
	else
		printf("r%llu  %s  %s  ", (unsigned long long)commit_rev(c),
		    hash, when);
	/* Older or foreign records may hold any bytes: one line regardless. */
	format_text(stdout, commit_author(c));
	putchar('@');
	format_text(stdout, commit_node(c));
	fputs("  ", stdout);
	format_text(stdout, commit_message(c)[0] ? commit_message(c) :
	    "(no message)");
	if (commit_flags(c) & COMMIT_FORCED)
		fputs("  [checks overridden: --force]", stdout);
	if (commit_flags(c) & COMMIT_CONFIRM)
		printf("  [--confirm %us]", commit_confirm_window(c));
	if (commit_flags(c) & COMMIT_CONFIRMS)
		fputs("  [confirms]", stdout);
	putchar('\n');
}

struct log_arg {
	struct store	*s;
	const char	*prefix;	/* only commits touching keys under it */
	int		 patch;		/* each change in full */
	long		 left;
	json_t		*json;
	struct error	*err;
	int		 failed;
	int		 json_failed;
};

/* 1 when c changed a key starting with prefix, as list PREFIX matches. */
static int
touches(const struct commit *c, const char *prefix)
{
	size_t len = strlen(prefix);

	for (size_t i = 0; i < commit_op_count(c); i++) {
		const char *key;

		commit_op(c, i, NULL, &key, NULL, NULL);
		if (strncmp(key, prefix, len) == 0)
			return 1;
	}
	return 0;
}

static int
log_commit(struct log_arg *la, struct commit *c, const char *label);

static int
log_one(void *arg, uint64_t rev)
{
	struct log_arg *la = arg;
	struct commit *c;

	if (la->left == 0)
		return 1;
	if (store_commit_load(la->s, rev, &c, la->err) == -1) {
		la->failed = 1;
		return -1;
	}
	return log_commit(la, c, NULL);
}

/* Prints c (and frees it); label names it, NULL: by its revision. */
static int
log_commit(struct log_arg *la, struct commit *c, const char *label)
{
	size_t n;

	if (la->prefix != NULL && !touches(c, la->prefix)) {
		commit_free(c);
		return 0;
	}
	if (la->json != NULL) {
		if (format_json_append(la->json,
		    commit_json_named(c, 0, label)) == -1) {
			commit_free(c);
			la->json_failed = 1;
			return -1;
		}
	} else {
		commit_header(c, label);
		n = commit_op_count(c);
		for (size_t i = 0; la->patch && i < n; i++) {
			const struct value *old, *new;
			const char *key;

			commit_op(c, i, NULL, &key, &old, &new);
			if (format_change(stdout, key, old, new) == -1) {
				commit_free(c);
				la->failed = 1;
				return error_set(la->err, ERR_FAIL, "out of "
				    "memory");
			}
		}
		for (size_t i = 0; !la->patch && i < n && i < 8; i++) {
			enum commit_op op;
			const char *key;

			commit_op(c, i, &op, &key, NULL, NULL);
			printf("    %s %s\n", op == COMMIT_SET ? "set" : "del",
			    key);
		}
		if (!la->patch && n > 8)
			printf("    ... and %zu more\n", n - 8);
	}
	commit_free(c);
	if (la->left > 0)
		la->left--;
	return 0;
}

/* The diverged branch's names, to print them newest first. */
struct branch {
	uint64_t	(*at)[2];	/* epoch, rev */
	size_t		 n;
};

static int
branch_add(void *arg, uint64_t epoch, uint64_t rev, const void *raw,
    size_t len)
{
	struct branch *b = arg;
	void *p;

	(void)raw;
	(void)len;
	if ((p = reallocarray(b->at, b->n + 1, sizeof(*b->at))) == NULL)
		return -1;
	b->at = p;
	b->at[b->n][0] = epoch;
	b->at[b->n][1] = rev;
	b->n++;
	return 0;
}

/* "diverged:EPOCH:REV", as show takes it. */
static void
diverged_label(char *out, size_t len, uint64_t epoch, uint64_t rev)
{
	snprintf(out, len, "diverged:%llu:%llu", (unsigned long long)epoch,
	    (unsigned long long)rev);
}

static void
log_diverged(struct log_arg *la)
{
	struct branch b = { NULL, 0 };
	struct buf raw = { 0 };
	struct commit *c;
	char label[64];
	int rc;

	if ((rc = store_diverged_each(la->s, branch_add, &b, la->err)) != 0) {
		if (rc != -1 || la->err->msg[0] == '\0')
			error_set(la->err, ERR_FAIL, "out of memory");
		la->failed = 1;
	}
	for (size_t i = b.n; i > 0 && !la->failed && la->left != 0; i--) {
		buf_reset(&raw);
		if (store_diverged_raw(la->s, b.at[i - 1][0], b.at[i - 1][1],
		    &raw, la->err) == -1 ||
		    commit_parse(raw.data, raw.len, &c, la->err) == -1) {
			la->failed = 1;
			break;
		}
		diverged_label(label, sizeof(label), b.at[i - 1][0],
		    b.at[i - 1][1]);
		if (log_commit(la, c, label) != 0)
			break;
	}
	buf_free(&raw);
	free(b.at);
}

int
cmd_log(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct read_args r;
	struct error err = { 0 };
	struct log_arg la = { 0 };
	struct store *s;
	uint64_t head;
	int rc;

	if ((rc = parse_read_opts(cmd, argc, argv, "njpD", &r)) != 0)
		return rc;
	if (argc - optind > 1 || (r.patch && r.json))
		return cli_usage(cmd);
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	la.s = s;
	la.prefix = optind < argc ? argv[optind] : NULL;
	la.patch = r.patch;
	la.left = r.limit;
	la.err = &err;
	if (r.json && (la.json = json_array()) == NULL)
		la.json_failed = 1;
	else if (r.diverged)
		log_diverged(&la);
	else if (store_head(s, &head, NULL, &err) == -1)
		la.failed = 1;
	else
		for (uint64_t rev = head; rev > 0 && !la.failed; rev--)
			if (log_one(&la, rev) != 0)
				break;
	if (la.json_failed)
		rc = format_json_print(NULL);
	else if (la.failed)
		rc = cli_fail(&err);
	else if (la.json != NULL) {
		rc = format_json_print(la.json);
		la.json = NULL;
	}
	json_decref(la.json);
	store_close(s);
	return rc;
}

/* "EPOCH:REV" of "diverged:EPOCH:REV"; 0 or exit status 2. */
static int
parse_diverged(const char *arg, uint64_t *epoch, uint64_t *rev)
{
	char *end;

	if (arg[0] < '1' || arg[0] > '9')
		goto bad;
	*epoch = strtoull(arg, &end, 10);
	if (*end != ':' || end[1] < '1' || end[1] > '9')
		goto bad;
	*rev = strtoull(end + 1, &end, 10);
	if (*end == '\0' && *epoch != ULLONG_MAX && *rev != ULLONG_MAX)
		return 0;
bad:
	return cli_error(ERR_INPUT, "invalid diverged commit 'diverged:%s' "
	    "(diverged:EPOCH:REV, as log --diverged names them)", arg);
}

int
cmd_show(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct read_args r;
	struct error err = { 0 };
	struct commit *c = NULL;
	struct buf raw = { 0 };
	struct store *s;
	char hash[2 * STORE_HASH_LEN + 1], key[STORE_KEYTEXT_LEN], name[64];
	const char *label = NULL;
	uint64_t rev, epoch = 0;
	int rc;

	if ((rc = parse_read_opts(cmd, argc, argv, "jR", &r)) != 0)
		return rc;
	if (argc - optind != 1 || (r.raw && r.json))
		return cli_usage(cmd);
	if (strncmp(argv[optind], "diverged:", 9) == 0) {
		if ((rc = parse_diverged(argv[optind] + 9, &epoch, &rev)) != 0)
			return rc;
		diverged_label(name, sizeof(name), epoch, rev);
		label = name;
	} else if ((rc = cli_parse_rev(argv[optind], &rev)) != 0)
		return rc;
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	if ((label != NULL ? store_diverged_raw(s, epoch, rev, &raw, &err) :
	    store_commit_raw(s, rev, &raw, &err)) == -1 ||
	    commit_parse(raw.data, raw.len, &c, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (r.raw) {
		fwrite(raw.data, 1, raw.len, stdout);
		goto done;
	}
	if (r.json) {
		rc = format_json_print(commit_json_named(c, 1, label));
		goto done;
	}
	commit_header(c, label);
	format_hash(hash, sizeof(hash), commit_hash(c), 1);
	printf("hash    %s\n", hash);
	format_hash(hash, sizeof(hash), commit_parent(c), 1);
	printf("parent  %s\n", hash);
	pubkey_to_text(commit_signer(c), key);
	printf("signer  %s\n", key);
	for (size_t i = 0; i < commit_op_count(c); i++) {
		const struct value *old, *new;
		const char *k;

		commit_op(c, i, NULL, &k, &old, &new);
		if (format_change(stdout, k, old, new) == -1) {
			rc = cli_error(ERR_FAIL, "out of memory");
			goto done;
		}
	}
done:
	commit_free(c);
	buf_free(&raw);
	store_close(s);
	return rc;
}

/* ---- diff and verify ---------------------------------------------------- */

#define DIFF_JSON_FAILED	42	/* diff_one's stop: JSON not built */
#define DIFF_NO_MEMORY		43	/* diff_one's stop: no text diff */

static int
diff_one(void *arg, const char *key, const struct value *old,
    const struct value *new)
{
	json_t *json = arg, *o, *n;

	if (json == NULL)
		return format_change(stdout, key, old, new) == -1 ?
		    DIFF_NO_MEMORY : 0;
	o = old ? format_json(old) : json_null();
	n = new ? format_json(new) : json_null();
	if (o == NULL || n == NULL) {
		json_decref(o);
		json_decref(n);
		return DIFF_JSON_FAILED;
	}
	/* "o" takes the references, even when json_pack fails. */
	if (format_json_append(json, json_pack("{s:s, s:o, s:o}", "key", key,
	    "old", o, "new", n)) == -1)
		return DIFF_JSON_FAILED;
	return 0;
}

int
cmd_diff(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct read_args r;
	struct error err = { 0 };
	struct store *s;
	json_t *json = NULL;
	uint64_t a = 0, b = 0, head;
	int rc, n;

	if ((rc = parse_read_opts(cmd, argc, argv, "j", &r)) != 0)
		return rc;
	if ((n = argc - optind) > 2)
		return cli_usage(cmd);
	/* 0 is the empty store: diff 0 N is all of N. */
	if (n >= 1 && (rc = cli_parse_rev_or_empty(argv[optind], &a)) != 0)
		return rc;
	if (n == 2 && (rc = cli_parse_rev_or_empty(argv[optind + 1], &b)) != 0)
		return rc;
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	if (store_head(s, &head, NULL, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (n < 2)
		b = head;
	if (n == 0)
		a = head > 0 ? head - 1 : 0;
	if (r.json)
		json = json_array();
	if ((a > head || b > head) ? (rc = cli_error(ERR_FAIL,
	    "no revision %llu (head is r%llu)",
	    (unsigned long long)(a > head ? a : b),
	    (unsigned long long)head)) : 0)
		goto done;
	if (r.json && json == NULL)
		rc = format_json_print(NULL);
	else if ((rc = store_diff(s, a, b, diff_one, json, &err)) ==
	    DIFF_JSON_FAILED)
		rc = format_json_print(NULL);
	else if (rc == DIFF_NO_MEMORY)
		rc = cli_error(ERR_FAIL, "out of memory");
	else if (rc != 0)
		rc = cli_fail(&err);
	else if (json != NULL) {
		rc = format_json_print(json);
		json = NULL;
	}
done:
	json_decref(json);
	store_close(s);
	return rc;
}

int
cmd_verify(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct error err = { 0 };
	struct store *s;
	uint64_t bad, head;
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_usage(cmd);
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	if (store_verify(s, &bad, &err) == -1) {
		if (bad != 0)
			rc = cli_error(ERR_FAIL, "verify failed at r%llu: %s",
			    (unsigned long long)bad, err.msg);
		else
			rc = cli_error(ERR_FAIL, "verify failed: %s", err.msg);
	} else if (store_head(s, &head, NULL, &err) == -1)
		rc = cli_fail(&err);
	else
		printf("verified r1..r%llu: hash chain, signatures and state "
		    "good\n", (unsigned long long)head);
	store_close(s);
	return rc;
}
