/*
 * cmd_promote.c - `cfgstore promote`: this replica becomes the primary
 * of a new epoch; the old primary follows it when it comes back.
 *
 * The promote is a signed commit on top of this node's head.  It is
 * refused where it would throw away more than it saves: on the primary,
 * and while the primary is reachable and holds commits this node lacks
 * (they would end up on the old primary's diverged branch).  --force
 * overrides both.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "replicator.h"

/* 0 when promoting is sensible now, else an error saying why not. */
static int
promote_check(struct store *s, struct error *err)
{
	struct repl_status *st = NULL;
	int rc = 0;

	if (repl_status_get(s, &st, err) == -1)
		return -1;
	if (st->primary)
		rc = error_set(err, ERR_FAIL, "%s is the primary already, of "
		    "epoch %" PRIu64 " (--force starts a new epoch anyway)",
		    st->node, st->epoch);
	else if (st->primary_connected == 1 && st->primary_head > st->head)
		rc = error_set(err, ERR_FAIL, "%s, the primary, is reachable "
		    "and ahead of this node (r%" PRIu64 ", here r%" PRIu64
		    "): let this node catch up first, or --force",
		    st->primary_name, st->primary_head, st->head);
	else if (!st->daemon)
		printf("%s: cfgstore serve is not running here, so the "
		    "primary counts as not reachable\n", st->node);
	else if (st->primary_connected == 0)
		printf("%s: the primary, %s, is not reachable\n", st->node,
		    st->primary_name[0] ? st->primary_name : "(unknown)");
	repl_status_free(st);
	return rc;
}

int
cmd_promote(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct error err = { 0 };
	struct store *s;
	uint64_t rev, epoch;
	int ch, force = 0, rc;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (ch != 'f')
			return cli_usage(cmd);
		force = 1;
	}
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if ((!force && promote_check(s, &err) == -1) ||
	    store_promote(s, &rev, &epoch, &err) == -1) {
		rc = cli_fail(&err);
		store_close(s);
		return rc;
	}
	printf("%s: promoted to primary, epoch %" PRIu64 ", r%" PRIu64 "\n",
	    store_node(s), epoch, rev);
	fflush(stdout);
	/* The daemon takes up the role, then pushes the promote at once. */
	if (repl_reload(cli->dir, &err) == -1 && err.code != ERR_NODAEMON)
		printf("%s: the daemon did not take the role: %s\n",
		    store_node(s), err.msg);
	rc = cli_after_commit(cli, s, rev, 0);
	store_close(s);
	return rc;
}
