/*
 * cmd_check.c - check: what a write of a batch would make, checked on
 * every host the store knows by this node's checkers, then by every
 * peer on its own host with its own checkers, committing nothing (JunOS
 * `commit check`).  No batch: the head, every file of every service.
 *
 * stdout: one line per host's refusal ("fw2: ntpd: /etc/ntpd.conf:
 * ..."; a peer that checked its own files decides for them), one per
 * peer that passed or could not check, then a summary.  Exit 0 when
 * every check passed, 2 when some refused (or the batch does not parse),
 * 3 when ours passed but some peer could not check, 1 when the checks
 * could not be made.  Nothing is written: not the store, not a file, no
 * restart.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "peercheck.h"
#include "render.h"
#include "root.h"

int
cmd_check(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct change *batch = NULL;
	struct store *s = NULL;
	struct error err = { 0 };
	struct peer_checks pc = { 0 };
	struct buf standing = { 0 };
	char *refusals = NULL, root[PATH_MAX];
	size_t nrefused = 0, nchecked = 0, asked;
	uint64_t head;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0'))
		return cli_usage(cmd);
	if (argc == 2 && (rc = cli_load_batch(argv[1], &batch)) != 0)
		return rc;
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		goto done;
	cli_node_root_get(s, root, sizeof(root));
	if (store_head(s, &head, NULL, &err) == -1 ||
	    render_check_candidate(s, head, batch, root, &refusals, &nrefused,
	    &nchecked, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	/* A batch that changes nothing checked here changes none there. */
	if (batch == NULL || nchecked > 0)
		cli_check_peers(s, head, batch, &pc);
	/* A peer that checked its own files decides for them. */
	nrefused = peer_checks_filter(&pc, refusals, &standing);
	if (standing.len > 0)
		fputs(standing.data, stdout);
	if (pc.refusals.len > 0)
		fputs(pc.refusals.data, stdout);
	if (pc.unchecked.len > 0)
		fputs(pc.unchecked.data, stdout);
	if (pc.passed.len > 0)
		fputs(pc.passed.data, stdout);
	asked = pc.npassed + pc.nunchecked;
	if (nrefused + pc.nrefused > 0) {
		printf("refused: %zu of %zu checks", nrefused, nchecked);
		if (pc.nrefused > 0)
			printf(", and %zu on peers", pc.nrefused);
		printf("\n");
		rc = ERR_INPUT;
	} else {
		printf("passed: %zu checks", nchecked);
		if (asked > 0)
			printf(", and on %zu of %zu peers", pc.npassed, asked);
		printf("\n");
		rc = pc.nunchecked > 0 ? ERR_PENDING : 0;
	}
done:
	fflush(stdout);
	peer_checks_free(&pc);
	buf_free(&standing);
	free(refusals);
	change_free(batch);
	store_close(s);
	return rc;
}
