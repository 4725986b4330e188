/*
 * cmd_init.c - init and key: a node's store and identity.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "root.h"

static int
valid_listen(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	return colon != NULL && colon != addr && colon[1] != '\0' &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

int
cmd_init(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "primary", no_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "root", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_init_opts o = { 0 };
	struct error err = { 0 };
	struct change *c = NULL;
	struct store *s = NULL;
	char key[STORE_KEYTEXT_LEN], root[PATH_MAX];
	const char *given_root = NULL;
	unsigned char pk[STORE_PUBKEY_LEN];
	uint64_t rev = 0;
	int ch, rc = ERR_FAIL;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o.node = optarg;
			break;
		case 'p':
			o.primary = 1;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'r':
			if ((rc = cli_root_path(optarg, root, sizeof(root))) != 0)
				return rc;
			given_root = root;
			break;
		default:
			return cli_usage(cmd);
		}
	}
	if (optind != argc || o.node == NULL)
		return cli_usage(cmd);
	if (o.listen != NULL && !valid_listen(o.listen))
		return cli_error(ERR_INPUT, "invalid listen address '%s' "
		    "(want ADDR:PORT)", o.listen);
	/*
	 * The primary's first commit, the shipped manifest and templates,
	 * is part of init: all of it is made or none (a full disk).
	 */
	if (o.primary) {
		if ((c = change_new()) == NULL ||
		    render_shipped_defaults(c, &err) == -1) {
			rc = cli_fail(&err);
			goto done;
		}
	}
	if (store_init_commit(cli->dir, &o, c, "shipped templates and manifest",
	    &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	if ((rc = cli_open(cli, 0, &s)) != 0 ||
	    (rc = store_head(s, &rev, NULL, &err) == -1 ? cli_fail(&err) : 0))
		goto done;
	if (given_root != NULL && (rc = cli_node_root(cli, s, given_root,
	    CLI_ROOT_SET, root, sizeof(root))) != 0)
		goto done;
	store_public_key(s, pk);
	pubkey_to_text(pk, key);
	printf("initialised %s (%s) in %s", o.node,
	    o.primary ? "primary" : "replica", cli->dir);
	if (rev != 0)
		printf(", r%llu", (unsigned long long)rev);
	printf("\npublic key: %s\n", key);
	rc = 0;
done:
	change_free(c);
	store_close(s);
	return rc;
}

int
cmd_key(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
	struct store *s;
	char key[STORE_KEYTEXT_LEN];
	unsigned char pk[STORE_PUBKEY_LEN];
	int rc;

	(void)argv;
	if (argc != 1)
		return cli_usage(cmd);
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		return rc;
	store_public_key(s, pk);
	pubkey_to_text(pk, key);
	printf("%s\n", key);
	store_close(s);
	return 0;
}
