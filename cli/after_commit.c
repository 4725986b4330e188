/*
 * after_commit.c - what set, del, apply and rollback do once their commit
 * is durable on the primary: tell the local daemon at once, so it renders
 * and pushes without polling, and (unless --no-wait) wait a few seconds
 * for every node and print one line per node.
 *
 * Exit status 3 means the commit is durable here but not yet in effect
 * everywhere: a peer unreachable or still busy, a render that failed.  It
 * is never undone; peers catch up when they come back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "replicator.h"

/* CFGSTORE_WAIT: seconds to wait for the nodes (decimals allowed). */
static int
wait_ms(void)
{
	const char *s = getenv("CFGSTORE_WAIT");
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return REPL_WAIT_MS;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno != 0 || !(v >= 0) || v * 1000 > REPL_WAIT_MAX)
		return REPL_WAIT_MS;
	return (int)(v * 1000);
}

struct tally {
	int	lines;
	int	pending;
};

static void
report(void *arg, const char *node, enum repl_node_state st, const char *text)
{
	struct tally *t = arg;

	printf("%s: %s\n", node, text);
	t->lines++;
	if (st != REPL_NODE_OK)
		t->pending = 1;
}

int
cli_after_commit(struct cli *cli, struct store *s, uint64_t rev, int nowait)
{
	struct error err = { 0 };
	struct peer_info *peers = NULL;
	struct tally t = { 0, 0 };
	size_t npeers = 0;
	int ms = nowait ? 0 : wait_ms();

	(void)cli;
	if (rev == 0)
		return 0;
	if (store_peers(s, &peers, &npeers, &err) == -1)
		npeers = 0;
	free(peers);
	if (repl_notify(store_dir(s), rev, ms, report, &t, &err) == -1) {
		if (err.code == ERR_NODAEMON)
			printf("%s: committed r%" PRIu64 "; cfgstore serve is "
			    "not running here, so it is not rendered%s\n",
			    store_node(s), rev, npeers > 0 ?
			    " nor sent to peers" : "");
		else
			printf("%s: committed r%" PRIu64 "; the daemon did not "
			    "answer: %s\n", store_node(s), rev, err.msg);
		fflush(stdout);
		return npeers > 0 ? ERR_PENDING : 0;
	}
	if (ms == 0 || t.lines == 0)
		printf("%s: committed r%" PRIu64 "\n", store_node(s), rev);
	fflush(stdout);
	return t.pending ? ERR_PENDING : 0;
}
