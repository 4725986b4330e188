/*
 * cmd_peer.c - peer add | list | del: the nodes this one pushes to and
 * whose keys it trusts.  Peers are this node's own business: they are
 * kept in the store's local tables and never replicated.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "replicator.h"

/* HOST:PORT or [IPV6]:PORT, with a port of 1 to 65535. */
static int
addr_check(const char *addr, struct error *err)
{
	if (strlen(addr) >= sizeof(((struct peer_info *)0)->addr) ||
	    repl_addr_check(addr, err) == -1)
		return error_set(err, ERR_INPUT, "invalid peer address '%.128s'"
		    " (want ADDR:PORT)", addr);
	return 0;
}

static int
peer_add(struct store *s, char **argv, struct error *err)
{
	struct peer_info p;

	memset(&p, 0, sizeof(p));
	if (node_name_check(argv[0], err) == -1 ||
	    addr_check(argv[1], err) == -1 ||
	    pubkey_from_text(argv[2], p.pubkey, err) == -1)
		return -1;
	snprintf(p.name, sizeof(p.name), "%s", argv[0]);
	snprintf(p.addr, sizeof(p.addr), "%s", argv[1]);
	return store_peer_add(s, &p, err);
}

static int
peer_list(struct store *s, int json, struct error *err)
{
	struct peer_info *peers;
	char key[STORE_KEYTEXT_LEN];
	json_t *j = json ? json_array() : NULL;
	size_t n;

	if (store_peers(s, &peers, &n, err) == -1) {
		json_decref(j);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		pubkey_to_text(peers[i].pubkey, key);
		if (!json)
			printf("%s %s %s\n", peers[i].name, peers[i].addr, key);
		else if (format_json_append(j, json_pack("{s:s, s:s, s:s}",
		    "name", peers[i].name, "address", peers[i].addr,
		    "key", key)) == -1) {
			json_decref(j);
			j = NULL;
			break;
		}
	}
	free(peers);
	if (json && format_json_print(j) != 0)
		return -2;	/* reported */
	return 0;
}

int
cmd_peer(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct error err = { 0 };
	struct store *s;
	const char *sub = argc > 1 ? argv[1] : "";
	int json = argc == 3 && strcmp(argv[2], "--json") == 0, rc;

	if (!((strcmp(sub, "add") == 0 && argc == 5) ||
	    (strcmp(sub, "list") == 0 && (argc == 2 || json)) ||
	    (strcmp(sub, "del") == 0 && argc == 3)))
		return cli_usage(cmd);
	if ((rc = cli_open(cli, 0, &s)) != 0)
		return rc;
	if (strcmp(sub, "add") == 0)
		rc = peer_add(s, argv + 2, &err);
	else if (strcmp(sub, "del") == 0)
		rc = store_peer_del(s, argv[2], &err);
	else
		rc = peer_list(s, json, &err);
	store_close(s);
	if (rc == -2)
		return ERR_FAIL;
	if (rc == -1)
		return cli_fail(&err);
	/* A running daemon starts or stops talking to the peer now. */
	if (strcmp(sub, "list") != 0 && repl_reload(cli->dir, &err) == -1 &&
	    err.code != ERR_NODAEMON)
		fprintf(stderr, "cfgstore: warning: %s\n", err.msg);
	return 0;
}
