/*
 * peercheck.c - the peers' own checks of a candidate (JunOS `commit
 * check` on every host), asked of the daemon with a prepare request
 * (docs/PROTOCOL.md): what a write does after this node's checks pass,
 * and what `check` does besides them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peercheck.h"
#include "replicator.h"

/* CFGSTORE_PREPARE_WAIT: seconds to wait for verdicts (decimals allowed). */
static int
prepare_wait_ms(void)
{
	const char *s = getenv("CFGSTORE_PREPARE_WAIT");
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return REPL_PREPARE_WAIT_MS;
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno != 0 || !(v >= 0) || v * 1000 > REPL_WAIT_MAX)
		return REPL_PREPARE_WAIT_MS;
	return (int)(v * 1000);
}

/* Whether the set ("\nA\nB\n") holds the len bytes of node. */
static int
in_set(const struct buf *set, const char *node, size_t len)
{
	const char *p = set->data;

	if (p == NULL)
		return 0;
	for (; (p = strchr(p, '\n')) != NULL && p[1] != '\0'; p++)
		if (strncmp(p + 1, node, len) == 0 && p[1 + len] == '\n')
			return 1;
	return 0;
}

static void
note(struct buf *set, const char *node)
{
	if (in_set(set, node, strlen(node)))
		return;
	if (set->len == 0)
		buf_puts(set, "\n");
	buf_printf(set, "%s\n", node);
}

static void
verdict(void *arg, const char *node, enum repl_check_state st, uint64_t ms,
    const char *text)
{
	struct peer_checks *pc = arg;

	(void)ms;
	note(&pc->seen, node);
	switch (st) {
	case REPL_CHECK_YES:
		buf_printf(&pc->passed, "%s: %s\n", node, text);
		pc->npassed++;
		note(&pc->answered, node);
		break;
	case REPL_CHECK_NO:
		/* The peer's line names it: "fw2: dhcpd: ...". */
		buf_printf(&pc->refusals, "%s\n", text);
		pc->nrefused++;
		note(&pc->answered, node);
		break;
	case REPL_CHECK_CANNOT:
	case REPL_CHECK_UNCHECKED:
	default:
		buf_printf(&pc->unchecked, "%s: not checked (%s)\n", node,
		    text);
		pc->nunchecked++;
		break;
	}
}

void
cli_check_peers(struct store *s, uint64_t rev, const struct change *c,
    struct peer_checks *pc)
{
	struct error err = { 0 };
	struct peer_info *peers = NULL;
	unsigned char hash[STORE_HASH_LEN];
	uint64_t head;
	size_t i, n = 0;
	const char *why;

	memset(pc, 0, sizeof(*pc));
	/* Only a primary's daemon asks: a replica's peers do not take it. */
	if (!store_is_primary(s))
		return;
	if (store_peers(s, &peers, &n, &err) == -1 || n == 0) {
		free(peers);
		return;		/* nobody to ask (a broken list: commit says) */
	}
	if (store_head(s, &head, hash, &err) == 0 && head != rev)
		error_set(&err, ERR_STALE, "the head moved to r%llu",
		    (unsigned long long)head);
	else if (err.code == 0 && repl_prepare(store_dir(s), rev, hash, c,
	    prepare_wait_ms(), verdict, pc, &err) == 0) {
		free(peers);
		return;
	}
	why = err.code == ERR_NODAEMON ? "cfgstore serve is not running here" :
	    err.msg;
	/* Those the daemon told of before it failed keep what it said. */
	for (i = 0; i < n; i++) {
		if (in_set(&pc->seen, peers[i].name, strlen(peers[i].name)))
			continue;
		buf_printf(&pc->unchecked, "%s: not checked (%s)\n",
		    peers[i].name, why);
		pc->nunchecked++;
	}
	free(peers);
}

size_t
peer_checks_filter(const struct peer_checks *pc, const char *refusals,
    struct buf *out)
{
	const char *line, *next;
	size_t n = 0, len;

	for (line = refusals; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			next++;
		else
			next = line + strlen(line);
		len = strcspn(line, ":\n");
		if (in_set(&pc->answered, line, len))
			continue;
		buf_append(out, line, (size_t)(next - line));
		n++;
	}
	return n;
}

void
peer_checks_free(struct peer_checks *pc)
{
	buf_free(&pc->refusals);
	buf_free(&pc->unchecked);
	buf_free(&pc->passed);
	buf_free(&pc->answered);
	buf_free(&pc->seen);
	memset(pc, 0, sizeof(*pc));
}
