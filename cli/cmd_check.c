/*
 * cmd_check.c - check: what a write of a batch would make, checked on
 * every host the store knows by this node's checkers, committing
 * nothing (JunOS `commit check`).  No batch: the head, every file of
 * every service.
 *
 * stdout: one line per host's refusal ("fw2: ntpd: /etc/ntpd.conf:
 * ..."), then a summary.  Exit 0 when every check passed, 2 when some
 * refused (or the batch does not parse), 1 when the checks could not be
 * made.  Nothing is written: not the store, not a file, no restart.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "root.h"

int
cmd_check(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct change *batch = NULL;
	struct store *s = NULL;
	struct error err = { 0 };
	char *refusals = NULL, root[PATH_MAX];
	size_t nrefused = 0, nchecked = 0;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0'))
		return cli_usage(cmd);
	if (argc == 2 && (rc = cli_load_batch(argv[1], &batch)) != 0)
		return rc;
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		goto done;
	cli_node_root_get(s, root, sizeof(root));
	if (render_check_candidate(s, 0, batch, root, &refusals, &nrefused,
	    &nchecked, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if (refusals != NULL)
		fputs(refusals, stdout);
	if (nrefused > 0) {
		printf("refused: %zu of %zu checks\n", nrefused, nchecked);
		rc = ERR_INPUT;
	} else
		printf("passed: %zu checks\n", nchecked);
done:
	fflush(stdout);
	free(refusals);
	change_free(batch);
	store_close(s);
	return rc;
}
