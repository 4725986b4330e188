/*
 * cmd_write.c - the commands that make a commit: set, del, apply, rollback.
 *
 * Each builds one change, checks all of it before anything is written
 * (bad input: exit 2, nothing changed), commits it, and hands over to
 * cli_after_commit, which tells the daemon and reports per node.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "format.h"

enum { OPT_NOWAIT = 256, OPT_LIST, OPT_FILE, OPT_REPLACE };

static const struct option write_opts[] = {
	{ "no-wait", no_argument, NULL, OPT_NOWAIT },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "file", no_argument, NULL, OPT_FILE },
	{ "replace", required_argument, NULL, OPT_REPLACE },
	{ NULL, 0, NULL, 0 }
};

/*
 * Parses the options of a write command; `allowed` lists the letters of
 * those it takes besides -m and --no-wait (l --list, f --file, y -y,
 * N -N, R --replace).  Options end at the first operand, and main has
 * dropped a "--" after it.  0, or the exit status for bad usage.
 */
int
cli_write_opts(const struct command *cmd, int argc, char **argv,
    const char *allowed, struct write_args *w)
{
	char *end;
	int ch;

	memset(w, 0, sizeof(*w));
	while ((ch = getopt_long(argc, argv, "+m:yN:", write_opts, NULL)) !=
	    -1) {
		int letter = ch == OPT_LIST ? 'l' : ch == OPT_FILE ? 'f' :
		    ch == OPT_REPLACE ? 'R' : ch;

		if (letter != 'm' && letter != OPT_NOWAIT &&
		    (letter == '?' || letter == ':' ||
		    strchr(allowed, letter) == NULL))
			return cli_usage(cmd);
		switch (letter) {
		case 'm':
			w->message = optarg;
			break;
		case OPT_NOWAIT:
			w->nowait = 1;
			break;
		case 'l':
			w->list = 1;
			break;
		case 'f':
			w->file = 1;
			break;
		case 'y':
			w->yes = 1;
			break;
		case 'N':
			w->back = strtol(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || w->back < 1)
				return cli_error(ERR_INPUT, "invalid count '%s' "
				    "(-N N: N commits back, from 1)", optarg);
			break;
		case 'R':
			w->replace = optarg;
			break;
		}
	}
	return 0;
}

int
cli_commit_report(struct cli *cli, struct store *s, const struct change *c,
    const struct write_args *w)
{
	struct error err = { 0 };
	uint64_t rev, head;

	if (store_commit(s, c, w->message, &rev, &err) == -1)
		return cli_fail(&err);
	if (rev == 0) {
		if (store_head(s, &head, NULL, &err) == -1)
			return cli_fail(&err);
		printf("%s: unchanged, head r%llu\n", store_node(s),
		    (unsigned long long)head);
		return 0;
	}
	return cli_after_commit(cli, s, rev, w->nowait);
}

int
cmd_set(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct value *v = NULL;
	struct change *c = NULL;
	struct store *s = NULL;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "lf", &w)) != 0)
		return rc;
	argc -= optind;
	argv += optind;
	if (argc < (w.list ? 1 : 2) || (w.file && (argc != 2 || w.list)))
		return cli_usage(cmd);
	if (key_check(argv[0], &err) == -1 ||
	    (w.file ? value_from_file(argv[1], &v, &err) :
	    value_from_args(argv + 1, argc - 1, w.list, &v, &err)) == -1)
		return cli_fail(&err);
	if ((c = change_new()) == NULL || change_set(c, argv[0], v, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if ((rc = cli_open(cli, 0, &s)) != 0)
		goto done;
	rc = cli_commit_report(cli, s, c, &w);
done:
	value_free(v);
	change_free(c);
	store_close(s);
	return rc;
}

int
cmd_del(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct change *c;
	struct store *s = NULL;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "", &w)) != 0)
		return rc;
	if (optind == argc)
		return cli_usage(cmd);
	if ((c = change_new()) == NULL)
		return cli_error(ERR_FAIL, "out of memory");
	for (int i = optind; i < argc; i++)
		if (change_del(c, argv[i], &err) == -1) {
			rc = cli_fail(&err);
			goto done;
		}
	if ((rc = cli_open(cli, 0, &s)) != 0)
		goto done;
	rc = cli_commit_report(cli, s, c, &w);
done:
	change_free(c);
	store_close(s);
	return rc;
}

/*
 * The whole batch is read and checked before the store is touched, so a
 * bad line anywhere writes nothing.
 */
int
cmd_apply(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct batch b = { 0 };
	struct change *c = NULL;
	struct store *s = NULL;
	const char *path = "-";
	FILE *f = stdin;
	size_t n;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "R", &w)) != 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage(cmd);
	if (optind < argc)
		path = argv[optind];
	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL)
		return error_errno(&err, ERR_INPUT, "%s", path), cli_fail(&err);
	if ((c = change_new()) == NULL)
		rc = cli_error(ERR_FAIL, "out of memory");
	else if (batch_read(f, strcmp(path, "-") ? path : "stdin", &b,
	    &err) == -1)
		rc = cli_fail(&err);
	else if (w.replace == NULL && b.n == 0)
		rc = cli_error(ERR_INPUT, "%s: no set or del lines", path);
	else if ((rc = cli_open(cli, 0, &s)) == 0) {
		if ((w.replace != NULL ? batch_replace(s, w.replace, &b, 0, c,
		    &n, &err) : batch_change(&b, c, &err)) == -1)
			rc = cli_fail(&err);
		else
			rc = cli_commit_report(cli, s, c, &w);
	}
	if (f != stdin)
		fclose(f);
	batch_free(&b);
	change_free(c);
	store_close(s);
	return rc;
}

static int
show_one(void *arg, const char *key, const struct value *old,
    const struct value *new)
{
	(void)arg;
	return format_change(stdout, key, old, new) == -1 ? -1 : 0;
}

int
cmd_rollback(struct cli *cli, const struct command *cmd, int argc,
    char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct change *c = NULL;
	struct store *s = NULL;
	char msg[64];
	uint64_t to = 0, rev, head;
	int rc;

	if ((rc = cli_write_opts(cmd, argc, argv, "yN", &w)) != 0)
		return rc;
	if (argc - optind > 1 || (w.back > 0 && optind < argc))
		return cli_usage(cmd);
	if (optind < argc && (rc = cli_parse_rev(argv[optind], &to)) != 0)
		return rc;
	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if (store_head(s, &head, NULL, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (to == 0) {
		uint64_t back = w.back > 0 ? (uint64_t)w.back : 1;

		if (head <= back) {
			rc = cli_error(ERR_FAIL, "nothing to roll back to: "
			    "%llu commit%s back from r%llu", (unsigned long long)
			    back, back == 1 ? "" : "s",
			    (unsigned long long)head);
			goto done;
		}
		to = head - back;
	}
	/*
	 * An admin at a terminal sees what it undoes; scripts are not asked.
	 * What store_rollback refuses (a replica, no such revision) is not
	 * asked about either.  What was shown is what commits: the change is
	 * made for this head, and refused should another commit come first.
	 */
	if (!w.yes && isatty(STDIN_FILENO) && store_is_primary(s) &&
	    to <= head) {
		char q[64];

		if (store_rollback_change(s, to, &c, &err) == -1) {
			rc = cli_fail(&err);
			goto done;
		}
		printf("rollback to r%llu changes:\n", (unsigned long long)to);
		if (store_diff(s, head, to, show_one, NULL, &err) != 0) {
			rc = cli_fail(&err);
			goto done;
		}
		snprintf(q, sizeof(q), "make r%llu with the state of r%llu?",
		    (unsigned long long)head + 1, (unsigned long long)to);
		if (!cli_confirm(q)) {
			printf("nothing committed\n");
			rc = ERR_FAIL;
			goto done;
		}
		snprintf(msg, sizeof(msg), "rollback to r%llu",
		    (unsigned long long)to);
	}
	if ((c != NULL ? store_commit(s, c, w.message ? w.message : msg, &rev,
	    &err) : store_rollback(s, to, w.message, &rev, &err)) == -1)
		rc = cli_fail(&err);
	else if (rev == 0)
		printf("%s: state already equals r%llu\n", store_node(s),
		    (unsigned long long)to);
	else
		rc = cli_after_commit(cli, s, rev, w.nowait);
done:
	change_free(c);
	store_close(s);
	return rc;
}
