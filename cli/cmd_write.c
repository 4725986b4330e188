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

#include "batch.h"
#include "cli.h"
#include "format.h"

enum { OPT_NOWAIT = 256, OPT_LIST, OPT_FILE };

static const struct option write_opts[] = {
	{ "no-wait", no_argument, NULL, OPT_NOWAIT },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "file", no_argument, NULL, OPT_FILE },
	{ NULL, 0, NULL, 0 }
};

struct write_args {
	const char	*message;
	int		 nowait;
	int		 list;
	int		 file;
};

/*
 * Options end at the first operand (a value may be "-h" or "--list"), and
 * "--" ends them too, wherever it stands: set KEY -- -h stores "-h".  So
 * the first "--" is dropped from the operands, unless getopt already
 * took one before them; a second is a value like any other.
 */
static int
drop_dashdash(int argc, char **argv, const char *message)
{
	if (optind > 1 && strcmp(argv[optind - 1], "--") == 0 &&
	    argv[optind - 1] != message)
		return argc;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			/* argv[argc] is NULL and moves down with the rest. */
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(argc - i) * sizeof(*argv));
			return argc - 1;
		}
	}
	return argc;
}

/*
 * Parses -m and the flags; returns 0 or the exit status for bad usage.
 * The operands are argv[optind] to argv[*argc - 1] afterwards.
 */
static int
parse_write_opts(const struct command *cmd, int *argc, char **argv,
    struct write_args *w, int allow_value_flags)
{
	int ch;

	memset(w, 0, sizeof(*w));
	while ((ch = getopt_long(*argc, argv, "+m:", write_opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			w->message = optarg;
			break;
		case OPT_NOWAIT:
			w->nowait = 1;
			break;
		case OPT_LIST:
		case OPT_FILE:
			if (!allow_value_flags)
				return cli_usage(cmd);
			*(ch == OPT_LIST ? &w->list : &w->file) = 1;
			break;
		default:
			return cli_usage(cmd);
		}
	}
	*argc = drop_dashdash(*argc, argv, w->message);
	return 0;
}

/* Commits c and reports; the exit status. */
static int
commit_and_report(struct cli *cli, struct store *s, const struct change *c,
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

	if ((rc = parse_write_opts(cmd, &argc, argv, &w, 1)) != 0)
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
	rc = commit_and_report(cli, s, c, &w);
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

	if ((rc = parse_write_opts(cmd, &argc, argv, &w, 0)) != 0)
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
	rc = commit_and_report(cli, s, c, &w);
done:
	change_free(c);
	store_close(s);
	return rc;
}

int
cmd_apply(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct change *c = NULL;
	struct store *s = NULL;
	const char *path = "-";
	FILE *f = stdin;
	int rc;

	if ((rc = parse_write_opts(cmd, &argc, argv, &w, 0)) != 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage(cmd);
	if (optind < argc)
		path = argv[optind];
	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL)
		return error_errno(&err, ERR_INPUT, "%s", path), cli_fail(&err);
	if ((c = change_new()) == NULL)
		rc = cli_error(ERR_FAIL, "out of memory");
	else if (read_batch(f, strcmp(path, "-") ? path : "stdin", c,
	    &err) == -1)
		rc = cli_fail(&err);
	else if (change_count(c) == 0)
		rc = cli_error(ERR_INPUT, "%s: no set or del lines", path);
	else if ((rc = cli_open(cli, 0, &s)) == 0)
		rc = commit_and_report(cli, s, c, &w);
	if (f != stdin)
		fclose(f);
	change_free(c);
	store_close(s);
	return rc;
}

int
cmd_rollback(struct cli *cli, const struct command *cmd, int argc,
    char **argv)
{
	struct write_args w;
	struct error err = { 0 };
	struct store *s = NULL;
	uint64_t to = 0, rev, head;
	int rc;

	if ((rc = parse_write_opts(cmd, &argc, argv, &w, 0)) != 0)
		return rc;
	if (argc - optind > 1)
		return cli_usage(cmd);
	if (optind < argc && (rc = cli_parse_rev(argv[optind], &to)) != 0)
		return rc;
	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if (to == 0) {
		if (store_head(s, &head, NULL, &err) == -1) {
			rc = cli_fail(&err);
			goto done;
		}
		if (head < 2) {
			rc = cli_error(ERR_FAIL, "nothing to roll back to "
			    "(head is r%llu)", (unsigned long long)head);
			goto done;
		}
		to = head - 1;
	}
	if (store_rollback(s, to, w.message, &rev, &err) == -1)
		rc = cli_fail(&err);
	else if (rev == 0)
		printf("%s: state already equals r%llu\n", store_node(s),
		    (unsigned long long)to);
	else
		rc = cli_after_commit(cli, s, rev, w.nowait);
done:
	store_close(s);
	return rc;
}
