/*
 * cmd_preview.c - preview: the files a host gets at one revision against
 * another, or against what is installed here, or with a batch not yet
 * committed on top: a unified diff per file, nothing written.
 *
 * stdout: the diffs, then one line per host: "fw2: 2 files change" or
 * "fw2: no change".  Exit 0, 1 on failure, 2 on bad usage or input.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "render.h"
#include "root.h"

int
cli_load_batch(const char *path, struct change **out)
{
	struct error err = { 0 };
	struct batch b = { 0 };
	int rc = 0;

	*out = NULL;
	if ((*out = change_new()) == NULL)
		rc = cli_error(ERR_FAIL, "out of memory");
	else if (batch_load(path, &b, &err) == -1 ||
	    batch_change(&b, *out, &err) == -1)
		rc = cli_fail(&err);
	else if (change_count(*out) == 0)
		rc = cli_error(ERR_INPUT, "%s: no set or del lines", path);
	batch_free(&b);
	if (rc != 0) {
		change_free(*out);
		*out = NULL;
	}
	return rc;
}

/* One host's diff and its line; 0 or the exit status. */
static int
preview_host(struct store *s, struct render_preview *p, const char *host)
{
	struct error err = { 0 };
	struct buf out = { 0 };
	size_t n;

	p->host = host;
	if (render_preview_diff(s, p, &out, &n, &err) == -1) {
		buf_free(&out);
		return cli_fail(&err);
	}
	fwrite(out.data != NULL ? out.data : "", 1, out.len, stdout);
	if (n == 0)
		printf("%s: no change\n", host);
	else
		printf("%s: %zu file%s change%s\n", host, n, n == 1 ? "" : "s",
		    n == 1 ? "s" : "");
	buf_free(&out);
	return 0;
}

int
cmd_preview(struct cli *cli, const struct command *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "batch", required_argument, NULL, 'b' },
		{ "host", required_argument, NULL, 'H' },
		{ "installed", no_argument, NULL, 'i' },
		{ "root", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct render_preview p = { 0 };
	unsigned char hash[STORE_HASH_LEN];
	struct change *batch = NULL;
	struct store *s = NULL;
	struct error err = { 0 };
	char root[PATH_MAX], **hosts = NULL;
	const char *host = NULL, *batch_path = NULL;
	uint64_t head;
	size_t i, nhosts = 0;
	int ch, rc, all = 0, nrev;

	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'b':
			batch_path = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'i':
			p.installed = 1;
			break;
		case 'r':
			if ((rc = cli_root_path(optarg, root,
			    sizeof(root))) != 0)
				return rc;
			p.root = root;
			break;
		default:
			return cli_usage(cmd);
		}
	}
	nrev = argc - optind;
	if ((all && host != NULL) || nrev > 2 ||
	    ((batch_path != NULL || p.installed) && nrev > 1) ||
	    (p.installed && all))
		return cli_usage(cmd);
	if (p.root != NULL && !p.installed)
		return cli_error(ERR_INPUT, "--root is for --installed");
	if (batch_path != NULL && (rc = cli_load_batch(batch_path,
	    &batch)) != 0)
		return rc;
	if ((rc = cli_open(cli, STORE_RDONLY, &s)) != 0)
		goto done;
	if (store_head(s, &head, hash, &err) == -1) {
		rc = cli_fail(&err);
		goto done;
	}
	/* Installed files are where the node renders them. */
	if (p.installed && p.root == NULL &&
	    cli_node_root_get(s, root, sizeof(root)) == 1 && root[0] != '\0')
		p.root = root;
	/*
	 * A B; A alone: A against the head; none: the commit before the
	 * head against it.  With a batch or --installed, the one revision
	 * given (default: the head) is the one the batch goes on or the
	 * one compared with what is installed.
	 */
	p.b = head;
	p.a = head > 0 ? head - 1 : 0;
	if (batch_path != NULL || p.installed) {
		p.a = head;
		if (nrev == 1 && (rc = cli_parse_rev(argv[optind], &p.b)) != 0)
			goto done;
	} else if (nrev >= 1) {
		if ((rc = cli_parse_rev_or_empty(argv[optind], &p.a)) != 0 ||
		    (nrev == 2 && (rc = cli_parse_rev(argv[optind + 1],
		    &p.b)) != 0))
			goto done;
	}
	if (p.b > head || p.a > head) {
		rc = cli_error(ERR_INPUT, "no revision r%llu (the head is "
		    "r%llu)", (unsigned long long)(p.b > head ? p.b : p.a),
		    (unsigned long long)head);
		goto done;
	}
	p.batch = batch;
	/* Root could read every file anyway; nobody else sees secrets. */
	p.show_secrets = geteuid() == 0;
	if (all) {
		if (render_hosts_known(s, &hosts, &nhosts, &err) == -1) {
			rc = cli_fail(&err);
			goto done;
		}
		for (i = 0; i < nhosts && rc == 0; i++)
			rc = preview_host(s, &p, hosts[i]);
	} else
		rc = preview_host(s, &p, host != NULL ? host : store_node(s));
done:
	fflush(stdout);
	render_hosts_free(hosts, nhosts);
	change_free(batch);
	store_close(s);
	return rc;
}
